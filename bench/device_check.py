"""A first contact with a GPU in one call (``scripts/device_check.sh``): every figure it needs, as JSON.

    python -m bench.device_check facts   --out DIR  # the card, the software, the CUDA context's size
    python -m bench.device_check bench   --out DIR  # bench.throughput at Table 4: fp32 (+ plain path), bf16
    python -m bench.device_check memory  --out DIR  # bench.gpu_memory on CUDA, fp32 and bf16: gpu_memory.json
    python -m bench.device_check table4  --out DIR  # rendering, loading, short Table 4 fits: images/s, peaks
    python -m bench.device_check packing --out DIR  # K trials at once on the card, under the trainable's caps
    python -m bench.device_check study   --out DIR  # a small paper-profile study: Ray, MLflow, auto shares
    python -m bench.device_check summary --out DIR  # the short table printed last

Each step adds its part to ``DIR/results.json`` (read, updated, written back), so what finished survives a
later step's timeout. Every measurement is wrapped: an error (an OOM, say) is recorded, the rest goes on.
``--quick`` shrinks every size so that the script can be checked on a CPU; its figures mean nothing.
``DIR/gpu_memory.json`` holds the shipped CPU figures and the two CUDA reports (fp32 and bf16, merged
by ``bench.gpu_memory``, each with its measured CUDA context): commit it as ``estimate/gpu_memory.json``
(``estimate.gpu_memory`` then prefers the CUDA figures and uses the measured context with headroom).
The helpers and steps live in ``bench.device_probe`` (facts), ``bench.device_table4`` (table4,
packing) and ``bench.device_study`` (study, summary).

Table 4's setting is the ``patch_size_low_data`` paper trial (3000x3000 canvases, 84-pixel digits, 400
curves, the published renderer, memory 100, iteration 100, batch 16), with fewer canvases and epochs.
``tests/test_device_check.py`` (slow) runs the whole script in its ``--quick`` mode on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.device_probe import context_probe, device, facts, guarded, save
from bench.device_study import study, summary
from bench.device_table4 import packing, packing_worker, table4, table4_config


def bench(args: argparse.Namespace) -> None:
    from bench import throughput

    if args.quick:
        common = ["--canvases", "300", "--digit-size", "28", "--noise-count", "10", "--batch-size", "2"]
        common += ["--repeats", "1"]
    else:
        common = ["--canvases", "3000", "--digit-size", "84", "--noise-count", "400", "--batch-size", "16"]
        common += ["--repeats", "3"]
    runs = {
        "fp32_fast_and_plain": ["--baseline", "--bf16", "off"],  # TF32 convolutions: cudnn.allow_tf32
        "bf16_channels_last": ["--bf16", "scan_and_step", "--channels-last"],
    }
    results: dict[str, Any] = {}
    for name, extra in runs.items():
        print(f"--- bench {name}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.json"

            def run(path: Path = path, extra: list[str] = extra) -> dict[str, Any]:
                code = throughput.main(["--device", device().type, *common, *extra, "--json", str(path)])
                return {"exit_code": code, "report": json.loads(path.read_text()) if path.is_file() else None}

            results[name] = guarded(run)
        save(args.out, "bench", results)


def memory(args: argparse.Namespace) -> None:
    """``bench.gpu_memory`` on this device, fp32 then bf16, merged into a copy of the shipped figures
    (``DIR/gpu_memory.json``, to commit as ``estimate/gpu_memory.json``: the CUDA reports with the measured
    context beside the shipped CPU ones); each measured peak against the shipped estimate, and the
    shares Table 4's trials get on this card from the shipped figures and from the merged ones."""
    from bench import gpu_memory
    from estimate import gpu_memory as packing

    figures_file = args.out / "gpu_memory.json"
    shutil.copy(packing.FIGURES_FILE, figures_file)
    if args.quick:  # one setting per encoder: the same code path in a fraction of the time
        gpu_memory.SETTINGS = tuple((base, size, points[:1]) for base, size, points in gpu_memory.SETTINGS)
    for flags in ([], ["--bf16"]):
        print(f"--- bench.gpu_memory {' '.join(flags) or 'fp32'}", flush=True)
        done = guarded(gpu_memory.main, ["--json", str(figures_file), "--device", device().type, *flags])
        if "error" in done:
            save(args.out, f"memory_error_{'bf16' if flags else 'fp32'}", done)
    merged = json.loads(figures_file.read_text())
    reports = [report for report in merged["reports"] if report["device"] == device().type]
    old, new = packing.shipped_calibrations(), packing.calibrate_all(merged)
    checks = []
    for report in reports:
        for figure in report["figures"]:
            config = next(
                gpu_memory.setting_config(base, size, *point, bf16=figure["bf16"])
                for base, size, points in gpu_memory.SETTINGS
                for point in points
                if base.encoder.stages == figure["stages"] and point[0] == figure["patch_size"]
            )
            estimate = packing.estimated_peak_mb(config, packing.calibration_for(config, old))
            checks.append(
                {
                    "stages": figure["stages"],
                    "patch": figure["patch_size"],
                    "bf16": figure["bf16"],
                    "peak_mb": figure["peak_mb"],
                    "estimate_x_margin_mb": estimate * packing.MARGIN,
                    "holds": figure["peak_mb"] <= estimate * packing.MARGIN,
                }
            )
    card_mb = packing.local_card_mb()
    shares = []
    for patch in (25, 50, 100, 150):
        for bf16 in ("off", "auto"):
            config = table4_config(patch, False, **{"optimisation.bf16": bf16})
            row: dict[str, Any] = {"patch": patch, "bf16": bf16}
            for name, calibrations in (("shipped", old), ("measured", new)):
                try:
                    share = packing.trial_share(config, card_mb, calibrations)
                    row[name] = {
                        "peak_mb": share.peak_mb,
                        "share": share.share,
                        "per_card": round(1 / share.share),
                    }
                except Exception as error:  # noqa: BLE001 (a trial that fits no card, or no figures)
                    row[name] = str(error)
            shares.append(row)
    contexts = [report.get("cuda_context_mb") for report in reports]
    save(
        args.out,
        "memory",
        {"card_mb": card_mb, "cuda_context_mb": contexts, "estimate_checks": checks, "table4_shares": shares},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.device_check", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("step", choices=("facts", "bench", "memory", "table4", "packing", "study", "summary",
                                          "context-probe", "packing-worker"))  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "device-out")))
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, for a check of this script on a CPU"
    )
    parser.add_argument("--share", type=float, default=1.0, help="packing-worker: the trial's GPU share")
    parser.add_argument("--cpus", type=int, default=1, help="packing-worker: the trial's CPUs")
    parser.add_argument("--deadline", type=float, default=120, help="study: seconds it may take")
    args = parser.parse_args(argv)
    if args.step == "context-probe":
        print(json.dumps(context_probe()))
        return 0
    if args.step == "packing-worker":
        packing_worker(args)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    {
        "facts": facts,
        "bench": bench,
        "memory": memory,
        "table4": table4,
        "packing": packing,
        "study": study,
        "summary": summary,
    }[args.step](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


if __name__ == "__main__":
    raise SystemExit(main())
