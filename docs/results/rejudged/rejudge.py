"""Re-judge the five committed cpu results with today's rules, from what the repository holds.

    .venv/bin/python docs/results/rejudged/rejudge.py        # writes docs/results/rejudged/README.md

The MLflow stores behind ``docs/results/<study>-cpu/`` were not committed; each result kept its
``cells.csv`` (per configuration, split and task: the mean, sample SD and number of seeds). Welch
intervals depend on a cell's seeds only through those three numbers, so three stand-in values
``mean - sd, mean, mean + sd`` (whose mean and sample SD are exactly the cell's) give every interval
and verdict that the seeds themselves would give. The chance levels are recomputed from the labels
of the canvases the runs drew (``configs_as_run.json``: each configuration's config as run, checked
against the configuration ids in ``cells.csv``; labels are drawn without rendering).

What the files do not hold is said beside each verdict: most ``cells.csv`` files have validation
accuracies only, so the "learned in training" gate is taken on validation accuracy there (a lower bound:
training accuracy was above validation accuracy in every run of these studies); the convergence check
needs training accuracies and is only re-judged where ``cells.csv`` has them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the project root, when run as a script

from analysis import findings  # noqa: E402
from analysis.runs import TRIAL_COLUMNS, LoggedStudy  # noqa: E402
from analysis.store import Invocation  # noqa: E402
from ips.config import IPSConfig, override  # noqa: E402
from ips.data.megapixel_mnist import MegapixelMNIST  # noqa: E402
from study import tracking  # noqa: E402

STUDIES = {  # study -> its axes as run, and the old verdicts its README reported
    "noise_thickness": (["data.noise_thickness"], {"convergence": "inconclusive"}),
    "patch_size_low_data": (
        ["patches.size"],
        {"object-to-patch": "inconclusive", "patch-size claim": "does not hold"},
    ),
    "o2i_data_size": (["digit", "data.train_canvases"], {"O2I x data size": "holds"}),
    "noise_thickness_continuous": (["data.noise_thickness"], {"convergence": "holds"}),
    "memory_size": (["selection.memory_size"], {"memory size": "does not hold"}),
}
TASKS = ("majority", "max", "top", "multi")
FOLDERS = {
    "noise_thickness": "noise_thickness-cpu-first",
    "patch_size_low_data": "patch_size_low_data-cpu-first",
}  # a first run, since rerun in <study>-cpu/


def label_distribution(config: IPSConfig) -> dict:
    """What the trainable logged: counts per split and task, and the multilabel vectors."""
    out: dict = {"vectors": {}}
    for split, name in (("train", "train"), ("val", "validation")):
        dataset = MegapixelMNIST(config.data, name)
        out[split] = {t: {str(c): n for c, n in per.items()} for t, per in dataset.label_counts().items()}
        out["vectors"][split] = dataset.label_set_counts()
    return out


def stand_in_study(
    name: str, axes: list[str], configs: dict, cells: pd.DataFrame
) -> tuple[LoggedStudy, bool]:
    """A study of three stand-in seeds per cell; whether training accuracies were there."""
    has_train = (cells["split"] == "train").any()
    trials, history, labels = [], [], {}
    for config_id, flat in configs.items():
        config = override(IPSConfig(), flat)
        distribution = label_distribution(config)
        own = cells[cells["config_id"] == config_id].set_index(["split", "task"])
        old_chance = own.loc[("val", "majority"), "chance"]
        counts = distribution["val"]["majority"]
        assert abs(max(counts.values()) / sum(counts.values()) - old_chance) < 1e-9, (name, config_id)
        for seed, offset in enumerate((-1.0, 0.0, 1.0)):
            run_id = f"{config_id}-{seed}"
            labels[run_id] = distribution
            row = dict.fromkeys(TRIAL_COLUMNS)
            row |= {"run_id": run_id, "trial_id": run_id, "config_id": config_id, "seed": seed}
            row |= {"status": tracking.STATUS_COMPLETED, "run_status": "FINISHED", "epochs": 1, **flat}
            trials.append(row)
            for split in ("train", "val"):
                source = split if has_train else "val"  # the gate's stand-in: validation accuracy
                values = [own.loc[(source, t), "mean"] + offset * own.loc[(source, t), "std"] for t in TASKS]
                for task, value in zip(TASKS, values, strict=True):
                    history.append((run_id, tracking.accuracy_metric(split, task), value))
                history.append((run_id, tracking.accuracy_metric(split), sum(values) / len(values)))
    frame = pd.DataFrame(history, columns=["run_id", "metric", "value"])
    frame = frame.assign(step=1, timestamp=0, trial_id=frame["run_id"], config_id=None, seed=None)
    invocation = Invocation(name, "committed", 1, "cpu", tuple(axes), None, None, None, pd.Timestamp(0))
    study = LoggedStudy(name, invocation, "cells.csv", pd.DataFrame(trials), frame, labels)
    return study, has_train


def main() -> None:
    configs = json.loads((HERE / "configs_as_run.json").read_text())
    lines = [
        "# The five cpu results re-judged with today's rules",
        "",
        __doc__.split("\n\n", 2)[2].strip(),
        "",
        "| study | finding | old verdict | new verdict | why (headline task: majority) | the files lack |",
        "|---|---|---|---|---|---|",
    ]
    for name, (axes, old) in STUDIES.items():
        cells = pd.read_csv(HERE.parent / FOLDERS.get(name, f"{name}-cpu") / "cells.csv")
        fields = [c for c in cells.columns if "." in c and c not in ("published_mean",)]
        study, has_train = stand_in_study(name, fields if axes[0] == "digit" else axes, configs[name], cells)
        for finding in findings.check_study(study):
            lack = "" if has_train else "training accuracies (gate taken on validation)"
            if finding.name == "convergence" and not has_train:
                verdict, lack = "to be rerun", "training accuracies: convergence needs them"
            else:
                verdict = finding.verdict
            reason = finding.reason.split("; other tasks, not deciding")[0].replace("|", "/")
            row = [name, finding.name, old.get(finding.name, "-"), f"**{verdict}**", reason, lack]
            lines.append("| " + " | ".join(row) + " |")
    (HERE / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
