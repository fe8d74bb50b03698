"""``python -m ips.train``: one IPS training run from flags or a config file, without Ray.

    python -m ips.train --epochs 2 --set optimisation.warmup_epochs=0 --set data.canvas_height=1000
    python -m ips.train --config run.json --checkpoint-dir runs/a --attention-map runs/a/attention.png
    python -m ips.train --config run.json --checkpoint-dir runs/a --resume runs/a   # continue run a
    python -m ips.train --set data.name=traffic_signs --set encoder.input_channels=3 \
        --set encoder.stages=4 --set aggregator.positional_encoding=false \
        --data-root /data/traffic_signs --print-config   # as IPS's traffic-sign config: no positions

The config starts from the defaults (or ``--config FILE.json``, a nested dict as ``ips.config.to_dict``
writes it); ``--set dotted.key=value`` (values read as JSON where they parse, else as strings) and the
shortcut flags change it. An invalid config prints the problem and exits with status 2 before any work.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ips.checkpoint import CHECKPOINT_FILE, CONFIG_FILE, CheckpointError, check_resume
from ips.config import (
    ConfigError,
    IPSConfig,
    MegapixelMNISTConfig,
    from_dict,
    override,
    to_dict,
)
from ips.config_coercion import parse_assignment
from ips.train import NonFiniteLossError, fit

SHORTCUTS = {  # flag destination -> dotted config key
    "epochs": "optimisation.epochs",
    "batch_size": "optimisation.batch_size",
    "lr": "optimisation.lr",
    "patch_size": "patches.size",
    "memory_size": "selection.memory_size",
    "iteration_size": "selection.iteration_size",
    "seed": "seed",
    "data_root": "data.root",
}


class UsageError(ValueError):
    """Bad command-line input (the message says which and how to fix it)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ips.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", type=Path, help="a JSON file with a (partial) nested config")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one dotted field, e.g. --set selection.memory_size=50 (repeatable)",
    )
    for flag, kind in (("epochs", int), ("batch_size", int), ("lr", float), ("patch_size", int)):
        p.add_argument(f"--{flag.replace('_', '-')}", type=kind, help=f"sets {SHORTCUTS[flag]}")
    for flag in ("memory_size", "iteration_size", "seed"):
        p.add_argument(f"--{flag.replace('_', '-')}", type=int, help=f"sets {SHORTCUTS[flag]}")
    p.add_argument("--data-root", help="sets data.root: the folder holding Set1/ and Set2/ (traffic signs)")
    p.add_argument("--checkpoint-dir", type=Path, help="save the full training state here after each epoch")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue the run checkpointed in DIR")
    p.add_argument(
        "--attention-map",
        type=Path,
        metavar="OUT.png",
        help="after training, draw the first validation image's attention map here",
    )
    p.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    return p


def read_config_file(path: Path) -> IPSConfig:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"--config {path}: cannot read it ({error.strerror})") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"--config {path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: expected a JSON object of config sections")
    return from_dict(data)


def resolve_config(args: argparse.Namespace) -> IPSConfig:
    """Defaults or ``--config``, then ``--set`` and the shortcut flags; raises ConfigError / UsageError."""
    config = read_config_file(args.config) if args.config else IPSConfig()
    try:
        changes = dict(parse_assignment(text) for text in args.set)
    except ConfigError as error:
        raise UsageError(f"--set {error}") from error
    changes |= {
        key: getattr(args, flag) for flag, key in SHORTCUTS.items() if getattr(args, flag) is not None
    }
    dataset = changes.get("data.name", config.data.name)
    if args.data_root is not None and dataset != "traffic_signs":
        raise UsageError(
            f"--data-root sets data.root of the traffic_signs dataset, but this config uses {dataset!r}; "
            "add --set data.name=traffic_signs --set encoder.input_channels=3"
        )
    return apply(config, changes) if changes else config


def apply(config: IPSConfig, changes: dict[str, Any]) -> IPSConfig:
    """``override`` with errors that are not already ConfigErrors (a bad list index) named by key."""
    try:
        return override(config, changes)
    except ConfigError:
        raise
    except (LookupError, ValueError, TypeError) as error:
        keys = ", ".join(changes)
        raise UsageError(f"cannot apply {keys}: {error}; check the dotted keys (--print-config)") from error


def check_paths(args: argparse.Namespace) -> None:
    if args.resume is not None and not (args.resume / CHECKPOINT_FILE).is_file():
        raise UsageError(
            f"--resume {args.resume}: no {CHECKPOINT_FILE} there; give a --checkpoint-dir of an earlier run"
        )
    if args.attention_map is not None and args.attention_map.suffix.lower() != ".png":
        raise UsageError(f"--attention-map {args.attention_map}: give a path ending in .png")
    if args.device is not None and args.device.split(":")[0] not in ("cpu", "cuda"):
        raise UsageError(f"--device {args.device}: use cpu or cuda (or cuda:N)")
    if args.device is not None and args.device.startswith("cuda") and not cuda_available():
        raise UsageError(f"--device {args.device}: no CUDA device is available here; use --device cpu")
    if args.workers < 0:
        raise UsageError(f"--workers {args.workers}: must be 0 or more")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def derived_line(config: IPSConfig) -> str:
    rows, cols = config.patch_grid
    return (
        f"derived: patch grid {rows}x{cols} = {config.number_of_patches} patches"
        f", memory {config.kept_patches} kept per image"
    )


def describe(config: IPSConfig) -> str:
    """The whole config as JSON and the derived values (``--print-config``)."""
    return json.dumps(to_dict(config), indent=2) + "\n" + derived_line(config)


def data_summary(config: IPSConfig) -> str:
    data = config.data
    if isinstance(data, MegapixelMNISTConfig):
        return (
            f"megapixel_mnist {data.canvas_height}x{data.canvas_width}, digits {data.digit_size} px, "
            f"{data.noise_count} {data.noise} noise, {data.train_canvases} train / "
            f"{data.validation_canvases} val canvases"
        )
    return f"{data.name} {data.image_height}x{data.image_width}, fraction {data.fraction}, root {data.root}"


def summary(config: IPSConfig, full_config: str) -> str:
    """A few lines for the terminal before training; the whole config is in ``full_config``."""
    opt, selection = config.optimisation, config.selection
    return "\n".join(
        [
            f"data: {data_summary(config)}",
            f"model: {config.encoder.architecture} ({config.encoder.stages} stages), patches "
            f"{config.patches.size} stride {config.patches.effective_stride}, "
            f"memory {selection.memory_size}, iteration {selection.iteration_size}",
            f"training: {opt.epochs} epochs ({opt.warmup_epochs} warm-up), batch {opt.batch_size}, "
            f"lr {opt.lr:g}, seed {config.seed}",
            derived_line(config),
            f"full config: {full_config}",
        ]
    )


def metrics_line(metrics: dict[str, float], epochs: int) -> str:
    return (
        f"epoch {int(metrics['epoch'])}/{epochs}"
        f"  train/loss {metrics['train/loss']:.4f}  train/accuracy {metrics['train/accuracy']:.4f}"
        f"  val/loss {metrics['val/loss']:.4f}  val/accuracy {metrics['val/accuracy']:.4f}"
        f"  lr {metrics['lr']:.3g}  {metrics['time/seconds_per_batch']:.3f} s/batch"
        f"  {metrics['time/images_per_second']:.1f} img/s  peak {metrics['memory/peak_mb']:.0f} MiB"
    )


def run(args: argparse.Namespace, config: IPSConfig) -> int:
    from ips.data import build_datasets

    if args.resume is not None:
        try:
            check_resume(args.resume, config)
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        train_data, validation_data = build_datasets(config)
    except (OSError, ValueError) as error:  # data missing or malformed: before any training
        print(f"error: {error}", file=sys.stderr)
        return 2

    def on_epoch_end(end) -> None:
        tqdm.write(metrics_line(end.metrics, config.optimisation.epochs))
        if args.checkpoint_dir is not None:
            end.save_checkpoint(args.checkpoint_dir)

    try:
        result = fit(
            config,
            train_data,
            validation_data,
            on_epoch_end=on_epoch_end,
            resume_from=args.resume,
            progress=True,
            device=args.device,
            num_workers=args.workers,
        )
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.attention_map is not None:
        from ips.attention import attention_map, save_attention_png

        image, _ = validation_data[0]
        save_attention_png(image, attention_map(result.model, image, config), config, args.attention_map)
        print(f"attention map: {args.attention_map}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = resolve_config(args)
        check_paths(args)
    except (ValueError, LookupError, TypeError) as error:  # ConfigError, UsageError, bad list index
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        print(describe(config), flush=True)
        return 0
    if args.checkpoint_dir is not None:
        args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        full_config = args.checkpoint_dir / CONFIG_FILE
        if not (args.checkpoint_dir / CHECKPOINT_FILE).exists():  # else it is the checkpoint's own config
            full_config.write_text(json.dumps(to_dict(config), indent=2) + "\n")
        where = str(full_config)
    else:
        where = "--print-config shows it (--checkpoint-dir writes it to the run folder)"
    print(summary(config, where), flush=True)
    return run(args, config)


if __name__ == "__main__":
    raise SystemExit(main())
