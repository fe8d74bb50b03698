"""Shared pieces of the scaled-down profiles (plain dotted overrides, merged into a profile's own).

Why these numbers
-----------------
- ``TINY_MODEL``: a 32-dimensional embedding and a 2-head aggregator with a 64-wide MLP. The encoder
  (ResNet-18, 2 stages) dominates the cost; the aggregator is shrunk so that a smoke trial starts in
  well under a second. Used by ``smoke`` profiles only: ``cpu`` profiles keep the paper's model, because
  the model's capacity is part of what the studies measure.
- ``SMOKE_TRAINING``: a dozen training canvases, 8 validation canvases, 2 epochs at batch 4 without
  warm-up: enough to exercise every code path (training, validation, checkpoints, resume, tracking) in
  seconds, not to learn anything.
- ``SMOKE_SELECTION``: memory 8 (the paper's 100 would keep every patch of a small canvas and make
  selection a no-op), iteration 128 (fewer, larger encoder calls: faster on a CPU).
- Smoke canvases are 300 pixels: the encoder's cost grows with the canvas area (about 18,000
  multiply-accumulates per pixel for the 2-stage ResNet-18, whatever the patch size).
"""

from __future__ import annotations

from typing import Any

TINY_MODEL: dict[str, Any] = {
    "aggregator.embedding_dim": 32,
    "aggregator.heads": 2,
    "aggregator.key_dim_per_head": 16,
    "aggregator.value_dim_per_head": 16,
    "aggregator.mlp_dim": 64,
}

SMOKE_TRAINING: dict[str, Any] = {
    "data.train_canvases": 12,
    "data.validation_canvases": 8,
    "optimisation.epochs": 2,
    "optimisation.warmup_epochs": 0,
    "optimisation.batch_size": 4,
}

SMOKE_SELECTION: dict[str, Any] = {
    "selection.memory_size": 8,
    "selection.iteration_size": 128,
}


def smoke(overrides: dict[str, Any]) -> dict[str, Any]:
    """The smoke overrides shared by every Megapixel MNIST study, updated with a study's own."""
    return {**TINY_MODEL, **SMOKE_TRAINING, **SMOKE_SELECTION, **overrides}
