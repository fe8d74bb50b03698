"""The fast selection path (blank-patch reuse, inference mode, patches cut on demand) selects exactly what the
plain path selects, in fp32, on Megapixel MNIST canvases with many blank patches, with none, and on traffic
signs; its embeddings are the plain path's to the last bit, so ties are broken alike too."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import default_collate

from ips.config import TRAFFIC_SIGNS_TASKS, EncoderConfig, IPSConfig, TrafficSignsConfig, override
from ips.data.megapixel_mnist import MegapixelMNIST
from ips.data.patches import ImagePatches
from ips.data.traffic_signs import TrafficSigns
from ips.model import IPSModel, evaluating
from ips.optimisation import build_optimizer
from ips.train import train_step

try:  # `python -m pytest` puts the repository on sys.path
    from tests.data.traffic_fixture import make_traffic_signs_fixture
except ModuleNotFoundError:
    from data.traffic_fixture import make_traffic_signs_fixture

torch.set_num_threads(1)
PLAIN = {"selection.reuse_blank_patches": False, "optimisation.bf16": "off"}
SMALL_AGGREGATOR = {"aggregator.embedding_dim": 32, "aggregator.mlp_dim": 64, "aggregator.heads": 4}


def mnist_config(noise_count: int, memory: int, positional: bool = False, shuffle: bool = False) -> IPSConfig:
    return override(
        IPSConfig(),
        {
            "data.canvas_height": 300,
            "data.canvas_width": 300,
            "data.noise_count": noise_count,
            "data.train_canvases": 2,
            "data.validation_canvases": 1,
            "patches.size": 25,  # N = 144
            "selection.memory_size": memory,
            "selection.iteration_size": 20,
            "selection.shuffle": shuffle,
            "aggregator.positional_encoding": positional,
            "optimisation.bf16": "off",
            **SMALL_AGGREGATOR,
        },
    )


def canvases(config: IPSConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    dataset = MegapixelMNIST(config.data, "train")
    return default_collate([dataset[i] for i in range(2)])  # [2, 1, 300, 300], labels


def twin_models(config: IPSConfig, seed: int = 0) -> tuple[IPSModel, IPSModel]:
    """The fast model (the config's defaults) and the plain one, with the same weights."""
    torch.manual_seed(seed)
    fast = IPSModel(config)
    plain = IPSModel(override(config, PLAIN))
    plain.load_state_dict(fast.state_dict())
    assert fast.config.selection.reuse_blank_patches and not fast.encoder.channels_last  # the defaults
    return fast, plain


def counted_select(model: IPSModel, images: torch.Tensor, seed: int = 0):
    """The selection and how many patches went through the encoder."""
    counted = []

    def counting(function):
        return lambda patches: counted.append(patches.shape[0] * patches.shape[1]) or function(patches)

    model.embed, model.embed_features = counting(model.embed), counting(model.embed_features)
    try:
        source = ImagePatches(images, model.config.patches.size, model.config.patches.effective_stride)
        with evaluating(model):
            selection = model.select(source, generator=torch.Generator().manual_seed(seed))
    finally:
        del model.embed, model.embed_features
    return selection, sum(counted)


def assert_same_selection(config: IPSConfig, images: torch.Tensor, seed: int = 0) -> tuple[int, int]:
    fast, plain = twin_models(config, seed)
    chosen, fast_encoded = counted_select(fast, images, seed)
    reference, plain_encoded = counted_select(plain, images, seed)
    assert torch.equal(chosen.indices, reference.indices)  # the same patches, in the same order
    assert torch.equal(chosen.patches, reference.patches)
    torch.testing.assert_close(chosen.scores, reference.scores, rtol=1e-4, atol=1e-6)
    assert not chosen.indices.requires_grad and not chosen.indices.is_inference()
    assert not chosen.patches.is_inference()
    return fast_encoded, plain_encoded


def blank_fraction(images: torch.Tensor, size: int) -> float:
    return float(ImagePatches(images, size).constant_fills()[0].float().mean())


# ---------------------------------------------------------------------------------- Megapixel MNIST


@pytest.mark.parametrize(
    ("noise_count", "memory", "positional", "shuffle"),
    [
        (0, 40, False, False),  # about 20 patches hold ink: the memory must take blank ones (ties)
        (0, 40, True, True),  # the same with positions and a random visiting order
        (30, 16, False, False),
        (30, 16, True, True),
    ],
)
def test_fast_path_selects_the_plain_paths_patches_on_canvases_with_many_blank_patches(
    noise_count, memory, positional, shuffle
):
    config = mnist_config(noise_count, memory, positional, shuffle)
    images, _ = canvases(config)
    assert blank_fraction(images, 25) > 0.5
    fast_encoded, plain_encoded = assert_same_selection(config, images, seed=noise_count + memory)
    assert plain_encoded == 2 * 144
    non_blank = round(2 * 144 * (1 - blank_fraction(images, 25)))
    assert fast_encoded == non_blank + 1  # every ink patch, and one blank patch for the whole batch


def test_fast_path_selects_the_plain_paths_patches_on_canvases_without_blank_patches():
    config = mnist_config(30, 16)
    images, _ = canvases(config)
    speckled = images + 1e-3 * torch.rand(images.shape, generator=torch.Generator().manual_seed(0))
    assert blank_fraction(speckled, 25) == 0.0
    fast_encoded, plain_encoded = assert_same_selection(config, speckled)
    assert fast_encoded == plain_encoded == 2 * 144


def test_fast_training_step_gives_the_plain_steps_loss():
    config = mnist_config(30, 16)
    images, labels = canvases(config)
    fast, plain = twin_models(config)
    losses = []
    for model in (fast, plain):
        optimizer = build_optimizer(model, model.config)
        torch.manual_seed(3)  # the same dropout masks
        first = train_step(model.train(), optimizer, images, labels, model.config)[0]
        second = train_step(model, optimizer, images, labels, model.config)[0]
        losses.append((first, second))
    assert losses[0] == losses[1]  # to the last bit


# ------------------------------------------------------------------------------------ traffic signs


@pytest.mark.filterwarnings("ignore::ips.data.traffic_sign_annotations.AnnotationChecksumWarning")
def test_fast_path_selects_the_plain_paths_patches_on_traffic_signs(tmp_path):
    fixture = make_traffic_signs_fixture(tmp_path / "signs")
    data = TrafficSignsConfig(root=str(fixture.root), image_height=120, image_width=160, augment=False)
    encoder = EncoderConfig(input_channels=3, stages=4)
    config = override(
        IPSConfig(data=data, tasks=TRAFFIC_SIGNS_TASKS, encoder=encoder),
        {
            "patches.size": 20,  # N = 48
            "selection.memory_size": 8,
            "selection.iteration_size": 8,
            "aggregator.embedding_dim": 32,
            "aggregator.mlp_dim": 64,
            "aggregator.heads": 4,
            "optimisation.bf16": "off",
        },
    )
    dataset = TrafficSigns.from_config(data, "train")
    images = torch.stack([dataset[i][0] for i in range(3)])  # [3, 3, 120, 160]
    fast_encoded, plain_encoded = assert_same_selection(config, images, seed=1)
    assert plain_encoded == 3 * 48 and fast_encoded <= plain_encoded


@pytest.mark.parametrize("reuse", [True, False])
def test_neither_path_records_gradients_even_where_they_are_on(reuse):
    config = override(mnist_config(30, 16), {"selection.reuse_blank_patches": reuse})
    images, _ = canvases(config)
    model = IPSModel(config)
    with torch.enable_grad(), evaluating(model):
        selection = model.select(ImagePatches(images, 25), return_all_scores=True)
    for tensor in selection:
        assert not tensor.requires_grad and tensor.grad_fn is None and not tensor.is_inference()


def test_bf16_modes_per_device_and_the_older_booleans():
    def modes(value, device):
        return override(IPSConfig(), {"optimisation.bf16": value}).optimisation.bf16_on(device)

    assert modes("auto", "cuda") == (True, True) and modes("auto", "cpu") == (False, False)
    assert modes("scan", "cpu") == (True, False) and modes("scan_and_step", "cpu") == (True, True)
    assert modes(True, "cpu") == (True, True) and modes(False, "cuda") == (False, False)
    assert override(IPSConfig(), {"optimisation.bf16": True}).optimisation.bf16 == "scan_and_step"
    with pytest.raises(ValueError, match="optimisation.bf16"):
        override(IPSConfig(), {"optimisation.bf16": "half"})
