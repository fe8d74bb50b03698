"""The typed config: derived values, round trips, dotted overrides, and every validation message."""

import pytest

from ips.config import (
    AggregatorConfig,
    ConfigError,
    IPSConfig,
    MegapixelMNISTConfig,
    OptimisationConfig,
    PatchConfig,
    SelectionConfig,
    TaskConfig,
    from_dict,
    override,
    patch_grid_shape,
)


def test_derived_values_follow_the_image_and_patch_sizes():
    config = IPSConfig(data=MegapixelMNISTConfig(digit_size=84), patches=PatchConfig(size=50))
    assert config.patch_grid == (60, 60)
    assert config.number_of_patches == 3600
    assert config.object_to_patch_ratio == pytest.approx(84**2 / 50**2)
    assert config.object_to_image_ratio == pytest.approx(84**2 / 3000**2)
    assert override(config, {"patches.size": 25}).number_of_patches == 14400
    assert override(config, {"patches.stride": 25}).number_of_patches == 119 * 119
    assert config.optimisation.final_lr == pytest.approx(config.optimisation.lr * 1e-3)


def test_a_grid_that_does_not_tile_is_padded_to_cover_the_image():
    assert patch_grid_shape(1200, 1600, 75, 75) == (16, 22)  # 1600 = 21 * 75 + 25: one padded column
    assert patch_grid_shape(1200, 1600, 100, 100) == (12, 16)
    assert patch_grid_shape(100, 100, 100, 100) == (1, 1)


def test_dict_round_trip_and_flat_keys():
    config = override(IPSConfig(), {"selection.memory_size": 10, "data.noise_thickness": 2.2})
    assert from_dict(config.to_dict()) == config
    flat = config.flatten()
    assert flat["selection.memory_size"] == 10
    assert flat["tasks.3.kind"] == "multilabel"
    assert flat["data.noise_thickness"] == 2.2


def test_switching_dataset_takes_its_defaults_channels_and_task():
    config = override(IPSConfig(), {"data.name": "traffic_signs", "data.root": "/sts", "data.fraction": 0.25})
    assert config.data.root == "/sts" and config.data.fraction == 0.25
    assert config.encoder.input_channels == 3
    assert [task.name for task in config.tasks] == ["sign"]
    assert config.object_to_patch_ratio is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: SelectionConfig(memory_size=0),
            "selection.memory_size: got 0; memory_size must be at least 1",
        ),
        (lambda: SelectionConfig(iteration_size=0), "selection.iteration_size: got 0"),
        (
            lambda: IPSConfig(
                data=MegapixelMNISTConfig(canvas_height=500, canvas_width=500), patches=PatchConfig(size=600)
            ),
            "patches.size: a 600-pixel patch is larger than the 500x500 image; use a patch size of at most",
        ),
        (
            lambda: AggregatorConfig(embedding_dim=100, heads=8),
            "aggregator.embedding_dim: 100 is not divisible by aggregator.heads=8",
        ),
        (lambda: AggregatorConfig(dropout=1.0), "aggregator.dropout: got 1.0; must be in [0, 1)"),
        (lambda: OptimisationConfig(lr=0), "optimisation.lr: got 0; the learning rate must be positive"),
        (
            lambda: OptimisationConfig(epochs=5, warmup_epochs=10),
            "optimisation.warmup_epochs: got 10; must be between 0 and epochs=5",
        ),
        (lambda: TaskConfig("majority", "ordinal"), "tasks[majority].kind: got 'ordinal'"),
        (
            lambda: MegapixelMNISTConfig(noise_thickness=0),
            "data.noise_thickness: got 0; the stroke thickness",
        ),
        (lambda: MegapixelMNISTConfig(noise_count=-1), "data.noise_count: got -1; must be >= 0"),
        (lambda: MegapixelMNISTConfig(noise="zigzag"), "data.noise: unknown noise kind 'zigzag'"),
        (
            lambda: MegapixelMNISTConfig(canvas_height=100, canvas_width=100, digit_size=28),
            "data.digit_size: five 28-pixel digits cannot be placed without overlap on a 100x100 canvas",
        ),
        (
            lambda: IPSConfig(tasks=(TaskConfig("a"), TaskConfig("a"))),
            "tasks: task names must be unique",
        ),
        (
            lambda: override(IPSConfig(), {"encoder.input_channels": 3}),
            "encoder.input_channels: 3 does not match the 1-channel images of megapixel_mnist",
        ),
        (
            lambda: override(IPSConfig(), {"selection.memry_size": 3}),
            "selection.memry_size: unknown field; valid fields here are",
        ),
        (lambda: override(IPSConfig(), {"data.noise": "zigzag"}), "data.noise: got 'zigzag'; use one of"),
        (lambda: override(IPSConfig(), {"optimisation.lr": "fast"}), "optimisation.lr: got 'fast' (str)"),
        (lambda: from_dict({"data": {"name": "imagenet"}}), "data.name: unknown dataset 'imagenet'"),
        (lambda: override(IPSConfig(), {"data.name": "imagenet"}), "data.name: unknown dataset 'imagenet'"),
    ],
)
def test_invalid_values_name_the_field_and_the_fix(build, message):
    with pytest.raises(ConfigError) as error:
        build()
    assert message in str(error.value)
