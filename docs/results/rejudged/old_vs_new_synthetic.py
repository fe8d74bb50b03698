"""Old (9480e36: bootstrap, every-task rule, validation's own chance) against new verdict rules, on
synthetic studies with a known truth, at the cpu runs' seed spread (SD 0.15, 3 seeds).

See old_vs_new_synthetic.md beside it for the commands and the result.
"""

import dataclasses
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np

OUT = Path("/tmp/synth")
SD = 0.15
R = 60
SCENARIOS = {  # name: (study, truth); the builder calls are in build()
    "patch_flat": ("patch_size_low_data", "no effect of the patch size"),
    "patch_falls": ("patch_size_low_data", "accuracy falls 12 points per doubling of the patch"),
    "o2i_data_only": ("o2i_data_size", "a data-size gain alike at both O2I: no interaction"),
    "o2i_paper": ("o2i_data_size", "Figure 4's interaction"),
    "memory_flat": ("memory_size", "no effect of memory"),
    "memory_multi_chance": ("memory_size", "+6 points per doubling on Maj/Max/Top, Multi never learns"),
}


def rule_for(name):
    import synthetic_studies as s

    return {
        "patch_flat": (s.patch_rule(None), ["patches.size"]),
        "patch_falls": (s.patch_rule(True), ["patches.size"]),
        "o2i_data_only": (s.o2i_rule("data only", s.labels()), ["data.digit_size", "data.train_canvases"]),
        "o2i_paper": (s.o2i_rule("paper", s.labels()), ["data.digit_size", "data.train_canvases"]),
        "memory_flat": (s.memory_rule(0.0), ["selection.memory_size"]),
        "memory_multi_chance": (s.memory_rule(0.06, True), ["selection.memory_size"]),
    }[name]


def build():
    import synthetic_studies as s
    from mlflow.tracking import MlflowClient
    from mlflow_store_builder import StoreBuilder

    empty = OUT / "empty.db"
    MlflowClient(tracking_uri=f"sqlite:///{empty}").search_experiments()
    calls = {
        "patch_flat": lambda b: s.patch_study(b, falls=None, sd=SD, losses=False),
        "patch_falls": lambda b: s.patch_study(b, falls=True, sd=SD, losses=False),
        "o2i_data_only": lambda b: s.o2i_study(b, "data only", sd=SD),
        "o2i_paper": lambda b: s.o2i_study(b, "paper", sd=SD),
        "memory_flat": lambda b: s.memory_study(b, rise=0.0, sd=SD),
        "memory_multi_chance": lambda b: s.memory_study(b, rise=0.06, multi_at_chance=True, sd=SD),
    }
    for name, call in calls.items():
        folder = OUT / name
        folder.mkdir(exist_ok=True)
        shutil.copy(empty, folder / "mlflow.db")
        call(StoreBuilder(folder))


def judge():
    from analysis import findings
    from analysis.runs import load_study
    from study import tracking

    checks = {
        "patch_size_low_data": ["object-to-patch", "patch-size claim"],
        "o2i_data_size": ["O2I x data size"],
        "memory_size": ["memory size"],
    }
    out = {}
    for name, (study_name, truth) in SCENARIOS.items():
        study = load_study(study_name, f"sqlite:///{OUT / name / 'mlflow.db'}")
        if hasattr(study, "chance_levels"):
            from analysis.chance import study_chance

            study = dataclasses.replace(study, chance_levels=study_chance(study))
        rule, fields = rule_for(name)
        rng = np.random.default_rng(11)
        counts = {f: Counter() for f in checks[study_name]}
        points = study.trials.set_index("run_id")[fields].to_dict("index")
        history0 = study.history
        last = history0.groupby("run_id")["step"].transform("max") == history0["step"]
        for _ in range(R):
            history = history0.copy()
            for task in study.tasks:
                for split in tracking.SPLITS:
                    rows = last & (history["metric"] == tracking.accuracy_metric(split, task.name))
                    means = [rule(points[run], split, task.name) for run in history.loc[rows, "run_id"]]
                    noise = rng.normal(0, SD, len(means))
                    history.loc[rows, "value"] = np.clip(np.array(means) + noise, 0, 1)
            for f in findings.check_study(dataclasses.replace(study, history=history)):
                if f.name in counts:
                    counts[f.name][f.verdict] += 1
        out[name] = {"truth": truth, **{k: dict(v) for k, v in counts.items()}}
        print(name, out[name], flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    {"build": build, "judge": judge}[sys.argv[1]]()
