"""Typed, frozen configuration of one IPS training run.

Every field has a full-word name (``memory_size``, not ``M``). Values that follow from others (the
number of patches, the object-to-image and object-to-patch ratios, the final learning rate) are
properties and can never be typed in inconsistently. Every invalid value raises ``ConfigError`` naming
the field and the fix, when the config is built, before any work starts.

Configs travel as plain nested dicts (``to_dict`` / ``from_dict``), as flat dotted keys for MLflow
params (``flatten``), and are varied by dotted overrides (``override(config, {"patches.size": 25})``),
which is what the study runner and the search spaces use.

Here: ``IPSConfig`` (with every derived value, ``derived()``) and ``from_dict`` / ``override``. The configs
of the model's parts, the selection, the patches and the optimisation are in ``ips.training_config``; the
datasets' configs and their tasks in ``ips.dataset_config``; ``ConfigError``, dict conversion, typed
coercion and command-line ``key=value`` parsing in ``ips.config_coercion``. Everything is importable from
here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, is_dataclass
from typing import Any

from ips.config_coercion import ConfigError, build, flatten, require, to_dict

# The "X as X" imports re-export what this module does not use itself: ips.config offers every config part.
from ips.dataset_config import DIGITS_PER_CANVAS as DIGITS_PER_CANVAS
from ips.dataset_config import (
    MEGAPIXEL_MNIST_TASKS,
    DataConfig,
    MegapixelMNISTConfig,
    TaskConfig,
    dataset_config,
)
from ips.dataset_config import TRAFFIC_SIGNS_TASKS as TRAFFIC_SIGNS_TASKS
from ips.dataset_config import TrafficSignsConfig as TrafficSignsConfig
from ips.dataset_config import digits_fit as digits_fit
from ips.training_config import BF16_MODES as BF16_MODES
from ips.training_config import (
    AggregatorConfig,
    EncoderConfig,
    OptimisationConfig,
    PatchConfig,
    SelectionConfig,
    patch_grid_shape,
)

# ----------------------------------------------------------------------------------------- the whole


@dataclass(frozen=True)
class IPSConfig:
    """Everything one training run needs: data, tasks, model, selection, patches, optimisation, seed."""

    data: DataConfig = field(default_factory=MegapixelMNISTConfig)
    tasks: tuple[TaskConfig, ...] = MEGAPIXEL_MNIST_TASKS
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    aggregator: AggregatorConfig = field(default_factory=AggregatorConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    patches: PatchConfig = field(default_factory=PatchConfig)
    optimisation: OptimisationConfig = field(default_factory=OptimisationConfig)
    seed: int = 0  # model initialisation, data order, dropout, shuffle of the selection

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        require(len(self.tasks) >= 1, "tasks", "give at least one task")
        names = [task.name for task in self.tasks]
        require(len(set(names)) == len(names), "tasks", f"task names must be unique, got {names}")
        require(
            self.patches.size <= min(self.data.image_height, self.data.image_width),
            "patches.size",
            f"a {self.patches.size}-pixel patch is larger than the {self.data.image_height}x"
            f"{self.data.image_width} image; use a patch size of at most "
            f"{min(self.data.image_height, self.data.image_width)}",
        )
        require(
            self.encoder.input_channels == self.data.channels,
            "encoder.input_channels",
            f"{self.encoder.input_channels} does not match the {self.data.channels}-channel images of "
            f"{self.data.name}; set encoder.input_channels={self.data.channels}",
        )

    # derived values ------------------------------------------------------------------------------

    @property
    def resolved_data(self) -> DataConfig:
        """The data config the datasets are built from: ``data`` with ``data_seed`` None replaced by the
        trial's ``seed`` (each seed then draws its own canvases; the flattened config, and so the
        configuration id, stays the same for every seed)."""
        if self.data.data_seed is not None:
            return self.data
        return dataclasses.replace(self.data, data_seed=self.seed)

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(rows, columns) of the patch grid; see ``patch_grid_shape`` for the border rule."""
        return patch_grid_shape(
            self.data.image_height, self.data.image_width, self.patches.size, self.patches.effective_stride
        )

    @property
    def number_of_patches(self) -> int:
        rows, cols = self.patch_grid
        return rows * cols

    @property
    def object_to_patch_ratio(self) -> float | None:
        """Area of one object over the area of one patch (a fraction); None where objects vary."""
        size = self.data.object_size
        return None if size is None else size**2 / self.patches.size**2

    @property
    def object_to_image_ratio(self) -> float | None:
        """Area of one object over the area of the image (a fraction); None where objects vary."""
        size = self.data.object_size
        return None if size is None else size**2 / (self.data.image_height * self.data.image_width)

    @property
    def kept_patches(self) -> int:
        """Patches the selection keeps per image: ``memory_size``, or every patch where there are fewer."""
        return min(self.selection.memory_size, self.number_of_patches)

    def derived(self) -> dict[str, Any]:
        """Every derived value by name, the one list: MLflow logs it as ``derived.*`` params, the dry run
        prints from it and ``python -m ips.train`` states it."""
        rows, columns = self.patch_grid
        return {
            "number_of_patches": self.number_of_patches,
            "patch_grid_rows": rows,
            "patch_grid_columns": columns,
            "patch_stride": self.patches.effective_stride,
            "kept_patches": self.kept_patches,
            "object_to_image_ratio": self.object_to_image_ratio,
            "object_to_patch_ratio": self.object_to_patch_ratio,
            "final_lr": self.optimisation.final_lr,
        }

    # conversions ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def flatten(self) -> dict[str, Any]:
        return flatten(self)


# ------------------------------------------------------------------------------ from dicts, overrides


def from_dict(data: dict[str, Any]) -> IPSConfig:
    """Build an ``IPSConfig`` from nested dicts; missing fields take their defaults.

    A config that gives no tasks gets its dataset's (``default_tasks``: the traffic-sign task for
    ``traffic_signs``).
    """
    data = dict(data)
    dataset = data.get("data")
    if isinstance(dataset, dict):
        chosen = dataset_config(dataset.get("name", MegapixelMNISTConfig.name))
        data.setdefault("tasks", chosen.default_tasks)
    return build(IPSConfig, data, "")


def override(config: IPSConfig, changes: dict[str, Any]) -> IPSConfig:
    """A new config with dotted-key ``changes`` applied, e.g. ``{"patches.size": 25}``.

    ``data.name`` is applied first: switching datasets starts the data section from that dataset's
    defaults (other ``data.*`` keys of the same call then apply to it), sets ``encoder.input_channels``
    to its channels and, for traffic signs, the traffic-sign task, unless the call sets those itself.
    Unknown keys and invalid values raise ``ConfigError`` naming the key.
    """
    tree = to_dict(config)
    ordered = sorted(changes.items(), key=lambda item: item[0] != "data.name")  # data.name first
    for key, value in ordered:
        if key == "data.name":
            _switch_dataset(tree, value, changes)
            continue
        parts = key.split(".")
        node = tree
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = node[int(part)]
                continue
            if part not in node or not isinstance(node[part], (dict, list)):
                raise ConfigError(f"{key}: unknown field {'.'.join(parts[: depth + 1])!r}")
            node = node[part]
        leaf = parts[-1]
        if isinstance(node, list):
            node[int(leaf)] = value
        elif leaf not in node:
            raise ConfigError(f"{key}: unknown field; valid fields here are {sorted(node)}")
        else:
            node[leaf] = to_dict(value) if is_dataclass(value) or isinstance(value, tuple) else value
    return from_dict(tree)


def _switch_dataset(tree: dict[str, Any], name: Any, changes: dict[str, Any]) -> None:
    """Point ``tree`` (a config as nested dicts) at dataset ``name``, starting from its defaults."""
    if name == tree["data"]["name"]:
        return
    defaults = dataset_config(name)()
    tree["data"] = to_dict(defaults)
    if "encoder.input_channels" not in changes:
        tree["encoder"]["input_channels"] = defaults.channels
    if "tasks" not in changes:
        tree["tasks"] = to_dict(defaults.default_tasks)


def replace(config: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported, for notebooks."""
    return dataclasses.replace(config, **changes)
