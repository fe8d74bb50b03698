"""``--dry-run --json`` prints the plan as JSON; a paper run says, before and while it runs, that the
shipped digits are reused (shared/paper/README.md item 9)."""

from __future__ import annotations

import json
import shutil

import pytest
import ray
from mlflow import MlflowClient

from estimate.cost import trial_cost
from ips.config import flatten
from ips.data.mnist_digits import SHIPPED_POOL_SIZES, digit_reuse, load_digit_pools
from search_spaces import STUDIES
from study import mlflow_store as store
from study import tracking
from study.plan import plan_study
from study.run import main


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not ray.is_initialized(), "Ray was started"


def dry_run_json(capsys, *argv: str) -> dict:
    assert main([*argv, "--dry-run", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_plan_as_json_holds_every_trials_flat_config_seed_and_cost(capsys):
    out = dry_run_json(capsys, "o2i_data_size", "--profile", "cpu")
    plan = plan_study(STUDIES["o2i_data_size"], "cpu")
    assert out["study"] == "o2i_data_size" and out["profile"] == "cpu"
    assert out["number_of_trials"] == len(out["trials"]) == len(plan.trials) == 24
    for row, trial in zip(out["trials"], plan.trials, strict=True):
        assert row["config"] == json.loads(json.dumps(flatten(trial.config)))
        assert row["seed"] == trial.seed == row["config"]["seed"]
        assert row["cost"]["encoder_macs"] == pytest.approx(trial_cost(trial.config).macs)
        assert row["cost"]["seconds"] > 0
    assert out["cost"]["encoder_macs"] == pytest.approx(sum(t["cost"]["encoder_macs"] for t in out["trials"]))
    assert not (capsys.readouterr().err)


def test_a_searched_plan_gives_its_base_and_space(capsys):
    out = dry_run_json(capsys, "low_data_search", "--profile", "smoke")
    assert out["trials"] == [] and out["number_of_trials"] == 4
    assert out["base_config"]["data.canvas_height"] == 300
    assert set(out["search"]["space"]) == {"patches.size", "selection.memory_size", "optimisation.lr"}


def test_json_needs_dry_run(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["noise_amount", "--profile", "smoke", "--json"])
    assert exit_info.value.code == 2 and "use it with --dry-run" in capsys.readouterr().err


def test_a_paper_run_says_its_digits_are_reused(capsys):
    assert SHIPPED_POOL_SIZES["train"] == len(load_digit_pools()["train"]) == 8000
    assert main(["noise_amount", "--dry-run"]) == 0  # 5,000 canvases: 25,000 draws of 8,000 digits
    assert "note: digits reused: each of the 10,000 shipped MNIST digits is drawn about 3.1 times" in (
        capsys.readouterr().out
    )
    assert dry_run_json(capsys, "noise_amount")["notes"] == [digit_reuse(5000, 1000, None)]
    assert dry_run_json(capsys, "noise_amount", "--profile", "smoke")["notes"] == []  # 12 canvases
    full = dry_run_json(capsys, "noise_amount", "--set", "data.mnist_path=/data/mnist")
    assert full["notes"] == []  # the full MNIST
    assert dry_run_json(capsys, "patch_size_traffic", "--data-root", ".")["notes"] == []


def test_a_paper_trial_run_carries_the_digits_reused_tag(tmp_path):
    uri = tracking.resolve_tracking_uri(None, tmp_path)
    client = MlflowClient(uri)
    experiment_id = store.ensure_experiment(client, "noise_amount", uri)
    parent = store.start_parent(client, experiment_id, str(tmp_path / "runs"), {}, "paper")
    paper = plan_study(STUDIES["noise_amount"], "paper").trials[0].config
    smoke = plan_study(STUDIES["noise_amount"], "smoke").trials[0].config
    reused = store.create_child(client, experiment_id, parent, "t0", paper, "paper")
    not_reused = store.create_child(client, experiment_id, parent, "t1", smoke, "smoke")
    tag = client.get_run(reused).data.tags[tracking.TAG_DIGITS_REUSED]
    assert tag.startswith("digits reused") and "data.mnist_path" in tag
    assert tracking.TAG_DIGITS_REUSED not in client.get_run(not_reused).data.tags
    shutil.rmtree(tmp_path / "mlruns", ignore_errors=True)
