"""Iterative patch selection: a pure, no-grad top-``memory_size`` over a stream of patches.

The IPS loop (Bergner et al. 2023, Algorithm 1): the memory starts as the first ``memory_size`` patches
visited; then ``iteration_size`` new patches at a time are embedded, the memory and the new patches are
scored together, and the ``memory_size`` best are kept. Only the memory and one chunk are ever held, with
their embeddings (the memory's are cached, not recomputed), so peak memory grows with
``memory_size + iteration_size`` and not with the number of patches N.

Sources: a tensor [B, N, C, P, P], or an object with ``num_patches`` and ``take(indices)`` that cuts
patches on demand (``ips.data.patches.ImagePatches``, ``TensorPatches``).

Ties keep the patch visited first (a stable sort), so with ``shuffle=True`` (a random visiting order per
image, drawn from ``generator``) ties are broken at random. The function switches no module's mode:
call it inside ``ips.model.evaluating(model)``.

``reuse_blank_patches=True`` (the fast path, exact in eval mode) embeds each distinct constant patch once
per pass (``ips.blank_patches``). With a random-access source it also cuts only the patches the encoder
needs, carries indices instead of patches through the loop (the kept patches are cut once at the end),
and scans in ``torch.inference_mode``; the returned tensors are ordinary ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

import torch
from torch import Tensor

from ips.blank_patches import BlankPatchReuse
from ips.data.patches import TensorPatches

Chunk = tuple[Tensor, Tensor]  # (indices [B, k] int64, patches [B, k, C, P, P])


class Selection(NamedTuple):
    """What the selection pass keeps, best first."""

    indices: Tensor  # [B, M] int64: each kept patch's index in the patch grid
    scores: Tensor  # [B, M]: its score in the last iteration (memory and last chunk scored together)
    patches: Tensor  # [B, M, C, P, P], on the source's device
    all_scores: Tensor | None = None  # [B, N]: the score each patch got in the iteration it was scanned


# ------------------------------------------------------------------------------------------ sources


def _is_random_access(source: object) -> bool:
    return hasattr(source, "num_patches") and hasattr(source, "take")


def _batch_size(source) -> int:
    batch = getattr(source, "batch_size", None)
    return batch if batch is not None else source.take(torch.arange(1)).shape[0]


def _shuffled_order(source, generator: torch.Generator | None) -> Tensor:
    """A random visiting order per image: [B, N] int64, drawn from ``generator``."""
    batch, count = _batch_size(source), source.num_patches
    return torch.stack([torch.randperm(count, generator=generator) for _ in range(batch)])  # [B, N]


def _random_access_chunks(
    source, order: Tensor | None, sizes: Iterator[int], lazy: bool = False
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Chunks of ``source`` of the given sizes, in visiting ``order`` [B, N] (None: index order).

    ``lazy``: yield (indices [B, k], None) and leave the cutting to the embedder.
    """
    start, count = 0, source.num_patches
    batch = _batch_size(source)
    while start < count:
        stop = min(start + next(sizes), count)
        indices = torch.arange(start, stop) if order is None else order[:, start:stop]  # [k] or [B, k]
        patches = None if lazy else source.take(indices)  # [B, k, C, P, P]
        device = source.device if patches is None else patches.device
        yield indices.to(device).expand(batch, -1), patches  # [B, k], [B, k, C, P, P] or None
        start = stop


def _chunk_sizes(memory_size: int, iteration_size: int) -> Iterator[int]:
    yield memory_size
    while True:
        yield iteration_size


def _as_source(source):
    """A tensor [B, N, C, P, P] as ``TensorPatches``; any other source as it is."""
    if isinstance(source, Tensor):
        if source.dim() != 5:
            raise ValueError(f"a tensor source must be [B, N, C, P, P], got shape {tuple(source.shape)}")
        return TensorPatches(source)
    return source


def _stream(
    source, memory_size: int, iteration_size: int, shuffle: bool, generator, lazy: bool = False
) -> Iterator[Chunk]:
    """A source as (indices [B, k], patches [B, k, C, P, P]): memory_size first, then iteration_size.

    ``lazy`` (random-access sources only): the patches are None, cut later by the embedder.
    """
    if not _is_random_access(source):
        raise TypeError(
            f"cannot select patches from {type(source).__name__}: pass a tensor [B, N, C, P, P] or an "
            "object with num_patches and take(indices) (ImagePatches)"
        )
    if source.num_patches < 1:
        raise ValueError("the patch source holds no patches; check the image and patch sizes")
    order = _shuffled_order(source, generator) if shuffle else None
    return _random_access_chunks(source, order, _chunk_sizes(memory_size, iteration_size), lazy)


# ------------------------------------------------------------------------------------------- helpers


def _gather(values: Tensor, keep: Tensor) -> Tensor:
    """Rows ``keep`` [B, M] of ``values`` [B, K, ...] -> [B, M, ...], on ``values``' device."""
    keep = keep.to(values.device)
    index = keep.view(*keep.shape, *([1] * (values.dim() - 2))).expand(-1, -1, *values.shape[2:])
    return torch.gather(values, 1, index)  # [B, M, ...]


def _best(scores: Tensor, memory_size: int) -> Tensor:
    """Positions [B, M] of the ``memory_size`` highest ``scores`` [B, K], best first; ties: earlier first."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices  # [B, K]
    return order[:, :memory_size]  # [B, M]


def _chunk_embedder(source, embed, project, reuse: bool, lazy: bool):
    """(indices [B, k], patches [B, k, C, P, P] or None) -> embeddings [B, k, D], for one pass."""
    if not reuse:
        return lambda indices, patches: embed(patches)
    reuse_table = BlankPatchReuse(embed, project)
    if not lazy:
        return lambda indices, patches: reuse_table.from_patches(patches)
    constant, fills = source.constant_fills()  # [B, N], [B, N, C]: one pass over the images
    return lambda indices, patches: reuse_table.from_source(source, indices, constant, fills)


def _check_sizes(memory_size: int, iteration_size: int) -> None:
    for name, value in (("memory_size", memory_size), ("iteration_size", iteration_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


# ------------------------------------------------------------------------------------------ the loop


@torch.no_grad()
def select_patches(
    source,
    embed: Callable[[Tensor], Tensor],
    score: Callable[[Tensor, Tensor], Tensor],
    memory_size: int,
    iteration_size: int,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    return_all_scores: bool = False,
    reuse_blank_patches: bool = False,
    project: Callable[[Tensor], Tensor] | None = None,
) -> Selection:
    """Keep the ``memory_size`` best-scoring of N patches, scanning ``iteration_size`` at a time.

    Args:
        source: Tensor [B, N, C, P, P], or an object with ``num_patches`` and ``take(indices [B, k]) ->
            [B, k, C, P, P]``.
        embed: patches [B, k, C, P, P] -> embeddings [B, k, D] (moving them to its device if need be).
        score: (embeddings [B, K, D], grid indices [B, K]) -> scores [B, K]; higher is kept.
        memory_size, iteration_size: patches kept, patches scanned per iteration.
        shuffle: visit each image's patches in a random order drawn from ``generator`` (CPU).
        return_all_scores: also return ``all_scores`` [B, N].
        reuse_blank_patches: embed each distinct constant patch once (exact where ``embed`` maps each
            patch on its own, as the encoder does in eval mode). A random-access source also needs
            ``take_pairs`` and ``constant_fills`` (``ImagePatches`` and ``TensorPatches`` have them).
        project: with ``reuse_blank_patches``, a last map [B, k, F] -> [B, k, D] applied to each whole
            chunk after ``embed`` (which then stops before it): for a map whose rounding of a row depends
            on how many rows there are, such as the encoder's projection (a matrix product).

    Returns:
        ``Selection(indices [B, M], scores [B, M], patches [B, M, C, P, P], all_scores)`` with
        M = min(memory_size, N), sorted best first. With ``memory_size >= N`` every patch is returned.
    """
    _check_sizes(memory_size, iteration_size)
    source = _as_source(source)
    lazy = reuse_blank_patches and all(
        hasattr(source, name) for name in ("num_patches", "take", "take_pairs", "constant_fills", "device")
    )
    # (not inference_mode(False): that would switch gradients back on)
    with torch.inference_mode() if lazy else contextlib.nullcontext():
        chunks = _stream(source, memory_size, iteration_size, shuffle, generator, lazy)
        embed_chunk = _chunk_embedder(source, embed, project, reuse_blank_patches, lazy)
        indices, scores, patches, scanned = _scan(chunks, embed_chunk, score, memory_size, return_all_scores)
    if lazy:  # ordinary tensors again, and the kept patches cut once
        indices, scores = indices.clone(), scores.clone()
        scanned = [(i.clone(), s.clone()) for i, s in scanned]
        patches = source.take(indices)  # [B, M, C, P, P]
    all_scores = _scatter_scores(scanned) if return_all_scores else None
    return Selection(indices, scores, patches, all_scores)


def _scan(chunks: Iterator[Chunk], embed_chunk, score, memory_size: int, return_all_scores: bool):
    """The IPS loop -> (indices [B, M], scores [B, M], patches [B, M, C, P, P] or None, scanned)."""
    first = next(chunks, None)
    if first is None:
        raise ValueError("the patch source yielded no patches; check the image and patch sizes")
    memory_indices, memory_patches = first  # [B, M], [B, M, C, P, P] or None: the first patches visited
    memory_embeddings = embed_chunk(memory_indices, memory_patches)  # [B, M, D]
    memory_scores = None
    scanned: list[tuple[Tensor, Tensor]] = []  # (indices [B, k], scores [B, k]), for all_scores only
    for new_indices, new_patches in chunks:
        indices = torch.cat([memory_indices, new_indices], 1)  # [B, M+k]
        embeddings = torch.cat([memory_embeddings, embed_chunk(new_indices, new_patches)], 1)  # [B, M+k, D]
        scores = score(embeddings, indices)  # [B, M+k]
        if return_all_scores:  # the first iteration scores the initial memory too
            new_from = 0 if memory_scores is None else memory_indices.shape[1]
            scanned.append((indices[:, new_from:], scores[:, new_from:]))
        keep = _best(scores, memory_size)  # [B, M]
        memory_indices, memory_scores = _gather(indices, keep), _gather(scores, keep)  # [B, M] each
        memory_embeddings = _gather(embeddings, keep)  # [B, M, D]
        if memory_patches is not None:
            patches = torch.cat([memory_patches, new_patches], 1)  # [B, M+k, C, P, P]
            memory_patches = _gather(patches, keep)  # [B, M, C, P, P]
    if memory_scores is None:  # every patch fitted in the memory: score them once, best first
        scores = score(memory_embeddings, memory_indices)  # [B, N]
        scanned.append((memory_indices, scores))
        keep = _best(scores, memory_size)  # [B, N]
        memory_indices, memory_scores = _gather(memory_indices, keep), _gather(scores, keep)  # [B, N]
        memory_patches = None if memory_patches is None else _gather(memory_patches, keep)
    return memory_indices, memory_scores, memory_patches, scanned


def _scatter_scores(scanned: list[tuple[Tensor, Tensor]]) -> Tensor:
    """Per-iteration (indices [B, k], scores [B, k]) -> every patch's score in index order [B, N]."""
    indices = torch.cat([i for i, _ in scanned], 1)  # [B, N]
    scores = torch.cat([s for _, s in scanned], 1)  # [B, N]
    indices = indices.to(scores.device)
    return torch.empty_like(scores).scatter_(1, indices, scores)  # [B, N]
