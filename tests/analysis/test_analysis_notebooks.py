"""Both notebooks run top to bottom (nbclient) against a synthetic store whose answer is known.

The default run executes them against a real smoke study (``test_analysis_smoke_study.py``); these
runs on a synthetic store (3 seeds, a finding that holds) are the slow extra.
"""

from __future__ import annotations

import pytest
from notebook_runner import EXPECTED_FILES, outputs_text, run_notebook


@pytest.mark.slow
@pytest.mark.parametrize("name", ["explore_study", "rebuild_table4"])
def test_notebook_runs_and_writes_its_files(patch_store, tmp_path, name):
    builder, _ = patch_store
    notebook = run_notebook(name, builder.uri, tmp_path / "out", tmp_path)
    folder = tmp_path / "out" / name
    for file in EXPECTED_FILES[name]:
        assert (folder / file).stat().st_size > 0, file
    text = outputs_text(notebook)
    assert "patch_size_low_data@1" in text
    if name == "rebuild_table4":
        assert "Table 4" in (folder / "table4.md").read_text()
        assert "**holds**" in (folder / "object_to_patch.md").read_text()
    else:
        assert "object-to-patch" in (folder / "findings.md").read_text()
