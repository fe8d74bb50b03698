"""The IPS loop: exact global top-M, chunk schedule, sources, ties and shuffle, and bounded peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from tiny_configs import tiny_config as tiny

from ips.config import (
    IPSConfig,
    MegapixelMNISTConfig,
    TaskConfig,
)
from ips.data.patches import ImagePatches
from ips.model import IPSModel, evaluating
from ips.selection import select_patches

torch.set_num_threads(1)
PATCH = 8
REPO = Path(__file__).resolve().parents[1]


def selection_config(
    rows: int, cols: int, memory: int, iteration: int, positional: bool = False
) -> IPSConfig:
    """One task (one query token), one head: scores rank patches independently of the set they are in."""
    return tiny(
        {
            "data.canvas_height": rows * PATCH,
            "data.canvas_width": cols * PATCH,
            "data.digit_size": 1,
            "data.train_canvases": MegapixelMNISTConfig().train_canvases,
            "tasks": (TaskConfig("digit"),),
            "aggregator.embedding_dim": 16,
            "aggregator.heads": 1,
            "aggregator.key_dim_per_head": 8,
            "aggregator.value_dim_per_head": 8,
            "aggregator.mlp_dim": 32,
            "aggregator.positional_encoding": positional,
            "selection.memory_size": memory,
            "selection.iteration_size": iteration,
            "selection.shuffle": False,  # patches in order
            "patches.size": PATCH,
        }
    )


def image_patches(rows: int, cols: int, batch: int = 2, seed: int = 0) -> ImagePatches:
    images = torch.rand(batch, 1, rows * PATCH, cols * PATCH, generator=torch.Generator().manual_seed(seed))
    return ImagePatches(images, PATCH)


SOURCES = {
    "tensor": lambda patches: patches.all(),  # [B, N, C, P, P]
    "image_patches": lambda patches: patches,  # lazy, random access
}


def global_scores(model: IPSModel, patches: ImagePatches) -> torch.Tensor:
    """The same scores computed over all N patches at once: [B, N]."""
    every = patches.all()  # [B, N, C, P, P]
    positions = torch.arange(patches.num_patches).expand(patches.batch_size, -1)  # [B, N]
    return model.score(model.embed(every), positions)


# ------------------------------------------------------------------------------- exact global top-M

CASES = [  # rows, cols, memory, iteration, positional encoding
    (4, 5, 3, 5, False),  # N = 20: 17 after the memory, not divisible by 5
    (5, 6, 7, 4, True),  # N = 30: 23 after the memory, not divisible by 4
    (3, 4, 1, 1, False),  # N = 12: one patch at a time
    (7, 7, 10, 10, True),  # N = 49
    (4, 4, 5, 100, False),  # N = 16: a single iteration
]


@pytest.mark.parametrize("source_kind", sorted(SOURCES))
@pytest.mark.parametrize(("rows", "cols", "memory", "iteration", "positional"), CASES)
def test_selection_is_the_global_top_memory_size(source_kind, rows, cols, memory, iteration, positional):
    torch.manual_seed(rows * cols + memory)
    model = IPSModel(selection_config(rows, cols, memory, iteration, positional))
    patches = image_patches(rows, cols)
    with evaluating(model), torch.no_grad():
        selection = model.select(SOURCES[source_kind](patches))
        reference = global_scores(model, patches)  # [B, N]
    expected = reference.topk(memory, dim=1).indices.sort(dim=1).values  # [B, M]
    assert selection.indices.shape == (2, memory)
    assert selection.indices.dtype == torch.int64
    assert torch.equal(selection.indices.sort(dim=1).values, expected)
    assert torch.equal(selection.patches, patches.take(selection.indices))  # the patches of those indices
    assert torch.all(selection.scores[:, :-1] >= selection.scores[:, 1:])  # best first


def test_the_two_images_of_a_batch_are_selected_independently():
    torch.manual_seed(0)
    model = IPSModel(selection_config(5, 6, 4, 5))
    patches = image_patches(5, 6, batch=2)
    with evaluating(model), torch.no_grad():
        selection = model.select(patches)
        reference = global_scores(model, patches)
    expected = reference.topk(4, dim=1).indices.sort(dim=1).values
    assert not torch.equal(expected[0], expected[1])  # the test means something only if they differ
    assert torch.equal(selection.indices.sort(dim=1).values, expected)


@pytest.mark.parametrize("source_kind", sorted(SOURCES))
@pytest.mark.parametrize("memory", [20, 25])
def test_memory_at_least_n_returns_every_patch(source_kind, memory):
    torch.manual_seed(1)
    model = IPSModel(selection_config(4, 5, memory, 3))
    patches = image_patches(4, 5)
    with evaluating(model):
        selection = model.select(SOURCES[source_kind](patches), return_all_scores=True)
    assert torch.equal(selection.indices.sort(dim=1).values, torch.arange(20).expand(2, -1))
    assert torch.equal(selection.patches, patches.take(selection.indices))
    torch.testing.assert_close(selection.scores.sum(dim=1), torch.ones(2))  # one softmax over all 20
    assert torch.equal(selection.all_scores.gather(1, selection.indices), selection.scores)


def test_all_scores_of_a_single_iteration_are_the_global_scores():
    torch.manual_seed(2)
    model = IPSModel(selection_config(4, 4, 5, 11))  # N = 16: memory 5 + one iteration of 11
    patches = image_patches(4, 4)
    with evaluating(model), torch.no_grad():
        selection = model.select(patches, return_all_scores=True)
        reference = global_scores(model, patches)
    torch.testing.assert_close(selection.all_scores, reference)


def test_all_scores_record_each_patch_in_the_iteration_it_was_scanned():
    def score(embeddings, positions):
        return embeddings[..., 0] / embeddings.shape[1]  # the first pixel, divided by the set size K

    patches = image_patches(4, 5)  # N = 20, memory 3, iteration 5: K = 8, 8, 8, 5
    selection = select_patches(patches, flat_embed, score, 3, 5, return_all_scores=True)
    first_pixel = patches.all()[:, :, 0, 0, 0]  # [B, N]
    expected = torch.cat([first_pixel[:, :18] / 8, first_pixel[:, 18:] / 5], 1)  # the memory counts at K=8
    torch.testing.assert_close(selection.all_scores, expected)


# -------------------------------------------------------------------- the schedule, on a pure function


def first_pixel_score(embeddings: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    return embeddings[..., 0]  # [B, K]


@pytest.mark.parametrize("source_kind", sorted(SOURCES))
def test_memory_first_then_iteration_size_at_a_time(source_kind):
    embedded, scored = [], []

    def embed(patches):
        embedded.append(patches.shape[1])
        return patches.flatten(2)  # [B, k, C*P*P]

    def score(embeddings, positions):
        scored.append(embeddings.shape[1])
        assert positions.shape == embeddings.shape[:2]
        return first_pixel_score(embeddings, positions)

    patches = image_patches(4, 5)  # N = 20
    selection = select_patches(SOURCES[source_kind](patches), embed, score, memory_size=3, iteration_size=5)
    assert embedded == [3, 5, 5, 5, 2]  # never more than memory_size + iteration_size at once
    assert scored == [8, 8, 8, 5]
    expected = patches.all()[:, :, 0, 0, 0].topk(3, dim=1).indices.sort(dim=1).values
    assert torch.equal(selection.indices.sort(dim=1).values, expected)


def constant_score(embeddings: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    return torch.zeros(positions.shape)  # every patch ties


def flat_embed(patches: torch.Tensor) -> torch.Tensor:
    return patches.flatten(2)  # [B, k, C*P*P]


def test_ties_keep_the_patches_visited_first_without_shuffle():
    selection = select_patches(image_patches(5, 6), flat_embed, constant_score, 4, 3)
    assert torch.equal(selection.indices, torch.arange(4).expand(2, -1))


def test_shuffle_is_reproducible_and_breaks_ties_at_random():
    patches = image_patches(5, 6)  # N = 30

    def select(seed):
        generator = torch.Generator().manual_seed(seed)
        return select_patches(patches, flat_embed, constant_score, 4, 3, shuffle=True, generator=generator)

    first, again, other = select(0), select(0), select(1)
    assert torch.equal(first.indices, again.indices)
    assert torch.equal(first.patches, again.patches)
    assert not torch.equal(first.indices.sort(dim=1).values, other.indices.sort(dim=1).values)
    assert not torch.equal(first.indices[0].sort().values, first.indices[1].sort().values)  # per image
    assert not torch.equal(first.indices.sort(dim=1).values, torch.arange(4).expand(2, -1))
    assert torch.equal(first.patches, patches.take(first.indices))


def test_shuffle_keeps_the_exact_top_memory_size():
    torch.manual_seed(3)
    model = IPSModel(selection_config(5, 6, 6, 4))
    patches = image_patches(5, 6)
    with evaluating(model), torch.no_grad():
        selection = model.select(patches, generator=torch.Generator().manual_seed(5))
        shuffled = select_patches(
            patches, model.embed, model.score, 6, 4, shuffle=True, generator=torch.Generator().manual_seed(5)
        )
        reference = global_scores(model, patches)
    expected = reference.topk(6, dim=1).indices.sort(dim=1).values
    assert torch.equal(shuffled.indices.sort(dim=1).values, expected)
    assert torch.equal(selection.indices.sort(dim=1).values, expected)


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("memory", "iteration", "name"), [(0, 5, "memory_size"), (3, 0, "iteration_size")])
def test_sizes_must_be_positive(memory, iteration, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        select_patches(image_patches(4, 5), flat_embed, constant_score, memory, iteration)


def test_bad_sources_are_named():
    with pytest.raises(ValueError, match=r"a tensor source must be \[B, N, C, P, P\]"):
        select_patches(torch.zeros(2, 20, 8, 8), flat_embed, constant_score, 3, 5)
    with pytest.raises(TypeError, match="cannot select patches from int"):
        select_patches(7, flat_embed, constant_score, 3, 5)


# -------------------------------------------------------------------------------------- peak memory

# Measured in a fresh process. glibc is told to serve every allocation of 4 KiB or more with its own mmap,
# so that freed tensors leave the resident set at once and the peak RSS (VmHWM, reset through
# /proc/self/clear_refs after the image is allocated) is the real peak of the selection's working set,
# measurement after measurement.
PEAK_SCRIPT = textwrap.dedent(
    """
    import gc, sys
    import torch
    torch.set_num_threads(1)
    from ips.config import AggregatorConfig, IPSConfig, MegapixelMNISTConfig, PatchConfig, SelectionConfig
    from ips.config import TaskConfig
    from ips.data.patches import ImagePatches
    from ips.model import IPSModel, evaluating

    PATCH, MEMORY, ITERATION = 16, 40, 120

    def status_bytes(field):
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    def peak_bytes(model, side, held_side):
        # Peak RSS of selecting from side x side patches, holding every patch of held_side x held_side.
        patches = ImagePatches(torch.rand(1, 1, side * PATCH, side * PATCH), PATCH)  # the image: not counted
        other = ImagePatches(torch.rand(1, 1, held_side * PATCH, held_side * PATCH), PATCH)
        gc.collect()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset the peak RSS to the current RSS
        baseline = status_bytes("VmRSS")
        with evaluating(model):
            held = other.all() if held_side else None  # what a selection that materialised N patches holds
            selection = model.select(patches)
        assert selection.indices.shape == (1, MEMORY)
        del held
        return status_bytes("VmHWM") - baseline

    data = MegapixelMNISTConfig(canvas_height=12 * PATCH, canvas_width=12 * PATCH, digit_size=PATCH)
    config = IPSConfig(data=data, tasks=(TaskConfig("digit"),), patches=PatchConfig(size=PATCH),
                       aggregator=AggregatorConfig(positional_encoding=False),  # any grid size
                       selection=SelectionConfig(memory_size=MEMORY, iteration_size=ITERATION))
    torch.manual_seed(0)
    model = IPSModel(config)
    peak_bytes(model, 20, 0)  # warm-up (several full iterations): allocator and kernels set up
    for measurement in sys.argv[1:]:
        side, held_side = measurement.split(":")
        print(peak_bytes(model, int(side), int(held_side)))
    """
)


def selection_peak_bytes(*measurements: str) -> list[int]:
    """Peak RSS above the baseline of each "side:held_side" selection (see PEAK_SCRIPT), in one process."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="4096", MALLOC_TOP_PAD_="0", MALLOC_ARENA_MAX="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, *measurements],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return [int(line) for line in result.stdout.split()]


def peak_rss_is_resettable() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


@pytest.mark.skipif(
    not peak_rss_is_resettable(), reason="needs Linux /proc/self/clear_refs to reset the peak RSS"
)
def test_peak_memory_of_lazy_selection_does_not_grow_with_the_number_of_patches():
    # N = 6,400 and N = 400 from ImagePatches; then N = 400 while the 6,400 patches of the large image
    # are held in memory, as a selection that cut every patch up front would hold them.
    large, small, holding = selection_peak_bytes("80:0", "20:0", "20:80")
    mib = 2**20
    report = f"peak above baseline: N=400 {small / mib:.2f} MiB, N=6400 {large / mib:.2f} MiB, "
    report += f"N=400 holding 6,400 patches {holding / mib:.2f} MiB"
    assert small > 2 * mib, report  # the working set of embedding 120 patches is really measured
    assert large < 1.10 * small, report
    # The measurement sees N patches held at once: their 6.25 MiB would break the 10% bound.
    assert holding > 1.5 * small, report
