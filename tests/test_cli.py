"""``python -m ips.train``: a real run on tiny Megapixel MNIST, resume, and bad input refused early."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ips.config import from_dict
from ips.data import build_datasets
from ips.train.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--epochs", "1", "--batch-size", "4", "--patch-size", "50", "--memory-size", "4", "--iteration-size", "4",
    "--set", "optimisation.warmup_epochs=0",
    "--set", "data.canvas_height=200", "--set", "data.canvas_width=200",
    "--set", "data.train_canvases=8", "--set", "data.validation_canvases=4", "--set", "data.noise=none",
    "--set", "aggregator.embedding_dim=32",
]  # fmt: skip


def run_module(*args: str) -> subprocess.CompletedProcess:
    environment = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ips.train", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def test_one_epoch_on_tiny_megapixel_mnist_then_resume(tmp_path, capsys):
    checkpoints, picture = tmp_path / "run", tmp_path / "attention.png"
    done = run_module(*TINY, "--checkpoint-dir", str(checkpoints), "--attention-map", str(picture))
    assert done.returncode == 0, done.stderr
    # A short summary before training; the whole config in the run folder.
    summary = done.stdout[: done.stdout.index("\nepoch 1/1")].splitlines()
    assert len(summary) <= 6 and "16 patches" in summary[3]
    assert summary[-1] == f"full config: {checkpoints / 'config.json'}"
    config = from_dict(json.loads((checkpoints / "config.json").read_text()))
    assert config.optimisation.epochs == 1 and config.selection.memory_size == 4
    assert config.data.canvas_height == 200 and config.number_of_patches == 16
    metrics_lines = [line for line in done.stdout.splitlines() if line.startswith("epoch 1/1")]
    assert len(metrics_lines) == 1 and "val/accuracy" in metrics_lines[0] and "img/s" in metrics_lines[0]
    assert "epoch 1/1" in done.stderr and "validation" in done.stderr  # the progress bars
    assert (checkpoints / "checkpoint.pt").is_file()
    assert from_dict(json.loads((checkpoints / "config.json").read_text())) == config
    assert Image.open(picture).height == 768  # enlarged, with a colour bar on the right

    # The same flags resume the finished run (in this process, to save a start-up): nothing left to train.
    capsys.readouterr()
    assert main([*TINY, "--resume", str(checkpoints)]) == 0
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]

    # A different config is refused before any work.
    assert main([*TINY, "--lr", "0.5", "--resume", str(checkpoints)]) == 2
    # ... and writing into its folder keeps the checkpoint's own config, which the refusal points to.
    assert (
        main([*TINY, "--lr", "0.5", "--checkpoint-dir", str(checkpoints), "--resume", str(checkpoints)]) == 2
    )
    assert from_dict(json.loads((checkpoints / "config.json").read_text())) == config

    # A checkpoint torn by a crash while it was copied is refused with the fix, not a traceback.
    torn = tmp_path / "torn"
    shutil.copytree(checkpoints, torn)
    content = (torn / "checkpoint.pt").read_bytes()
    (torn / "checkpoint.pt").write_bytes(content[: len(content) // 2])
    capsys.readouterr()
    assert main([*TINY, "--resume", str(torn)]) == 2
    error = capsys.readouterr().err
    assert "truncated or damaged" in error and "Traceback" not in error


def test_a_bad_set_value_exits_2_naming_the_field():
    done = run_module("--set", "selection.memory_size=0")
    assert done.returncode == 2
    assert "selection.memory_size" in done.stderr and "at least 1" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "selection.memry_size=3"], "selection.memry_size: unknown field"),
        (["--set", "patches.size=big"], "patches.size: got 'big'"),
        (["--set", "memory_size"], "expected KEY=VALUE"),
        (["--patch-size", "5000"], "patches.size"),
        (["--epochs", "2"], "optimisation.warmup_epochs"),  # default warm-up is 10 epochs
        (["--data-root", "/data"], "--data-root sets data.root of the traffic_signs dataset"),
        (["--config", "/no/such/file.json"], "cannot read it"),
        (["--resume", "/no/such/folder"], "no checkpoint.pt there"),
        (["--attention-map", "map.jpg"], "ending in .png"),
    ],
)
def test_invalid_input_is_refused_before_any_work(arguments, message, capsys):
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_config_file_then_overrides_and_print_config(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"selection": {"memory_size": 7}, "optimisation": {"epochs": 20}}))
    assert (
        main(["--config", str(path), "--set", "selection.shuffle=true", "--lr", "3e-4", "--print-config"])
        == 0
    )
    printed = capsys.readouterr().out
    config = from_dict(json.loads(printed[: printed.index("\nderived:")]))
    assert config.selection.memory_size == 7 and config.selection.shuffle is True
    assert config.optimisation.epochs == 20 and config.optimisation.lr == 3e-4
    assert "3600 patches" in printed  # 3000 x 3000 canvas, 50-pixel patches


def test_switching_to_traffic_signs_takes_data_fields_in_the_same_command(capsys):
    arguments = ["--set", "data.name=traffic_signs", "--set", "encoder.input_channels=3", "--data-root", "/d"]
    assert main([*arguments, "--set", "data.fraction=0.25", "--print-config"]) == 0
    config = from_dict(json.loads(capsys.readouterr().out.split("\nderived:")[0]))
    assert config.data.name == "traffic_signs" and config.data.root == "/d" and config.data.fraction == 0.25
    assert [task.name for task in config.tasks] == ["sign"]


def test_missing_traffic_signs_data_exits_2_before_training(tmp_path, capsys):
    arguments = ["--set", "data.name=traffic_signs", "--set", "encoder.input_channels=3"]
    assert main([*arguments, "--data-root", str(tmp_path / "absent")]) == 2
    assert "absent" in capsys.readouterr().err


def test_build_datasets_dispatches_on_the_data_name():
    config = from_dict(
        {"data": {"canvas_height": 150, "canvas_width": 150, "train_canvases": 3, "validation_canvases": 2}}
    )
    train, validation = build_datasets(config)
    assert (len(train), len(validation)) == (3, 2)
    image, labels = train[0]
    assert image.shape == (1, 150, 150) and set(labels) == {"majority", "max", "top", "multi"}
