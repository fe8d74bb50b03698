"""A study on a Ray cluster of two nodes started with ``ray start`` (a head and a worker, one CPU each),
joined with ``--address``; its driver killed with ``kill -9`` and the study resumed on the same cluster."""

from __future__ import annotations

import signal

import pytest
from cluster_fixtures import MARKER, two_node_cluster, wait_for_an_epoch
from mlflow import MlflowClient
from ray_processes import processes_with_env
from study_fixtures import run_cli, start_cli

from study import tracking
from study.mlflow_store import FINISHED, RUNNING, child_runs

STUDY = "tiny_resume"  # two trials of four epochs (tests/study/study_fixtures.py)


@pytest.mark.slow
def test_a_study_runs_on_both_nodes_of_a_cluster_and_resumes_after_kill_9(tmp_path):
    storage = tmp_path / "shared"  # what every node sees (here: one machine's file system)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with two_node_cluster(tmp_path / "ray_start.log") as cluster:
        # One CPU per trial and one per node: the two trials can only run at once on different nodes.
        args = [STUDY, "--profile", "smoke", "--address", cluster.address, "--storage", str(storage)]
        args += ["--tracking-uri", uri, "--cpus-per-trial", "1"]
        log = tmp_path / "first.log"
        process = start_cli(args, tmp_path, cluster.env, log)
        try:
            wait_for_an_epoch(uri, STUDY, process, log)
        finally:
            process.send_signal(signal.SIGKILL)  # the driver only: the cluster stays up
            process.wait()

        result = run_cli([*args, "--resume"], tmp_path, cluster.env, tiny=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

        client = MlflowClient(uri)
        experiment = client.get_experiment_by_name(STUDY)
        parents = client.search_runs([experiment.experiment_id], f"tags.`{tracking.TAG_ROLE}` = 'parent'")
        assert len(parents) == 1 and parents[0].info.status == FINISHED
        children = child_runs(client, experiment.experiment_id, parents[0].info.run_id)
        assert len({run.data.tags[tracking.TAG_TRIAL_ID] for run in children}) == len(children) == 2
        assert not [run for run in children if run.info.status == RUNNING]
        nodes = {run.data.tags[tracking.TAG_NODE_ID] for run in children}
        # Two nodes: the driver joined the cluster (a Ray of its own would have had one node).
        assert len(nodes) == 2, f"both trials ran on one node: {nodes}"
        for run in children:
            assert run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
            history = client.get_metric_history(run.info.run_id, "epoch")
            assert sorted(metric.step for metric in history) == [1, 2, 3, 4]
            # Checkpoints on the shared storage, in the trial's folder.
            trial_folder = storage / f"{STUDY}-smoke" / run.data.tags[tracking.TAG_TRIAL_ID]
            saved = sorted(trial_folder.glob("checkpoint_*/checkpoint.pt"))
            assert saved and (saved[-1].parent / "attention_map.png").is_file(), trial_folder

        # GPU packing on a cluster without GPUs is refused once Ray is joined, before anything is written.
        other = tmp_path / "other"
        gpu_args = [STUDY, "--profile", "smoke", "--address", cluster.address, "--storage", str(other)]
        refused = run_cli([*gpu_args, "--gpus-per-trial", "auto"], tmp_path, cluster.env, tiny=True)
        assert refused.returncode == 2 and "has no GPU" in refused.stderr, refused.stderr[-2000:]
        assert not other.exists()
    assert not processes_with_env(MARKER, cluster.env[MARKER]), "a process of the cluster is left"
