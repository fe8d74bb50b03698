"""Execute the analysis notebooks top to bottom with nbclient against a given store."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "analysis" / "notebooks"
EXPECTED_FILES = {
    "explore_study": [
        "table.md",
        "cells.csv",
        "learning_curves.png",
        "accuracy_vs_factor.png",
        "findings.md",
    ],
    "rebuild_table4": [
        "table4.md",
        "table4_cells.csv",
        "table4_best.md",
        "table4_accuracy_vs_patch.png",
        "object_to_patch.md",
        "patch_size_claim.md",
    ],
}


def run_notebook(name: str, tracking_uri: str, out: Path, workdir: Path, study: str = "patch_size_low_data"):
    """Run ``analysis/notebooks/<name>.ipynb`` in ``workdir``; returns the executed notebook."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    env = {"IPS_TRACKING_URI": tracking_uri, "IPS_NOTEBOOK_OUT": str(out), "IPS_STUDY": study}
    before = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        )
        client.execute()
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def outputs_text(notebook) -> str:
    """All text the executed cells printed or displayed."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts.append(data.get("text/plain", "") + data.get("text/markdown", ""))
    return "\n".join(parts)
