"""The tests' one tiny ``IPSConfig``: ``tiny_config(changes, **fields)``.

A 200 x 150 Megapixel MNIST canvas (12 patches of 50), 2 training canvases, a 32-wide aggregator and a
memory of 3, then ``changes`` and ``fields`` (dotted keys, as ``ips.config.override`` takes them:
``tiny_config({"patches.size": 8})``, or ``tiny_config(**{"selection.memory_size": 5})``). Each test
module names only what its test needs to differ. A plain module rather than a conftest function: the
three ``conftest.py`` files share one module name, so none of them can be imported by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ips.config import IPSConfig, override

TINY: dict[str, Any] = {
    "data.canvas_height": 200,
    "data.canvas_width": 150,
    "data.train_canvases": 2,
    "aggregator.embedding_dim": 32,
    "selection.memory_size": 3,
}


def tiny_config(changes: Mapping[str, Any] | None = None, /, **fields: Any) -> IPSConfig:
    """``IPSConfig()`` with ``TINY``, then ``changes``, then ``fields`` (all dotted keys)."""
    return override(IPSConfig(), {**TINY, **dict(changes or {}), **fields})
