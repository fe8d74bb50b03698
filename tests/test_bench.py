"""python -m bench --baseline: both paths measured side by side, their ratio and same-selection check."""

from __future__ import annotations

import json

from bench.throughput import main


def test_baseline_records_both_paths_their_ratio_and_the_same_selection(tmp_path):
    path = tmp_path / "bench.json"
    argv = ["--baseline", "--device", "cpu", "--canvases", "300", "--noise-count", "10", "--threads", "1"]
    assert main([*argv, "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["setting"]["plain_path"]["selection.reuse_blank_patches"] is False
    result = report["results"][0]
    assert result["patches"] == 36 and 0.0 < result["blank_fraction"] < 1.0
    assert result["same_indices"] and result["same_index_sets"]
    assert result["first_step_loss"]["fast"] == result["first_step_loss"]["plain"]  # fp32: to the bit
    plain = result["baseline"]
    for key in ("selection_seconds_per_batch", "train_step_seconds_per_batch", "selection_peak_mb"):
        assert result[key] > 0 and plain[key] > 0
    ratio = plain["train_step_seconds_per_batch"] / result["train_step_seconds_per_batch"]
    assert result["speedup"]["train_step"] == ratio


def test_bad_bench_input_is_refused_before_any_work(tmp_path, capsys):
    assert (
        main(
            ["--json", str(tmp_path / "b.json"), "--device", "cpu", "--canvases", "300", "--digit-size", "90"]
        )
        == 2
    )
    assert "digit_size" in capsys.readouterr().err
