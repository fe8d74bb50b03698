"""Blank-patch reuse for the selection pass: a patch of one constant value is embedded once per pass.

Most patches of a Megapixel MNIST canvas are all zero (71% at patch 50 on Table 4's canvases), and a
slide's background is one white. In eval mode the encoder maps each patch on its own (batch norm uses its
running statistics, there is no dropout), so every patch that holds the same constant value per channel
gets the same embedding, to the last bit: the convolutions compute each image of a batch alike (checked
by ``tests/test_blank_patches.py``). ``BlankPatchReuse`` embeds one such patch per distinct fill value, the
first time the pass meets it, in the same encoder call as the chunk's other patches, and copies its
embedding to every other patch of that fill. A chunk that is blank through and through, with a fill
already seen, needs no encoder call at all.

The table of fills seen holds at most ``max_fills`` rows (a patch of a fill beyond those is embedded
like any other), so the pass's memory still does not grow with the number of patches.
Only the scan may use it: in training mode batch norm mixes the patches of a batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ips.data.patches import constant_fills

MAX_FILLS = 16


class BlankPatchReuse:
    """Embeds chunks of patches, each distinct constant patch once per pass (``embed`` is the plain one).

    ``embed``: patches [B, k, C, P, P] -> embeddings [B, k, D], as ``IPSModel.embed``; or, with
    ``project``, -> features [B, k, F] (``IPSModel.embed_features``), and ``project`` [B, k, F] -> [B, k, D]
    is applied to each whole chunk, so that a matrix product sees as many rows as in the plain pass.
    Make one per selection pass: the table is only valid for the weights it was computed with.
    """

    def __init__(
        self,
        embed: Callable[[Tensor], Tensor],
        project: Callable[[Tensor], Tensor] | None = None,
        max_fills: int = MAX_FILLS,
    ) -> None:
        self.embed = embed
        self.project = project
        self.max_fills = max_fills
        self.fills: Tensor | None = None  # [F, C]: the fill values seen, one row per distinct fill
        self.table: Tensor | None = None  # [F, D]: their embeddings
        self.encoded = 0  # patches that went through the encoder (for benchmarks and tests)

    # ---------------------------------------------------------------------------------------- entries

    def from_source(self, source, indices: Tensor, constant: Tensor, fills: Tensor) -> Tensor:
        """Embeddings [B, k, D] of the patches at ``indices`` [B, k] of a random-access ``source``.

        ``constant`` [B, N] and ``fills`` [B, N, C] are the source's ``constant_fills()``; only the
        patches that are to be encoded are cut out of the source.
        """
        indices = indices.to(constant.device)
        is_constant = constant.gather(1, indices)  # [B, k]
        chunk_fills = fills.gather(1, indices.unsqueeze(-1).expand(-1, -1, fills.shape[-1]))  # [B, k, C]
        return self._embed(is_constant, chunk_fills, lambda b, j: source.take_pairs(b, indices[b, j]))

    def from_patches(self, patches: Tensor) -> Tensor:
        """Embeddings [B, k, D] of a chunk already cut, [B, k, C, P, P]."""
        is_constant, chunk_fills = constant_fills(patches)  # [B, k], [B, k, C]
        return self._embed(is_constant, chunk_fills, lambda b, j: patches[b, j])

    # ---------------------------------------------------------------------------------------- the work

    def _embed(
        self, is_constant: Tensor, chunk_fills: Tensor, cut: Callable[[Tensor, Tensor], Tensor]
    ) -> Tensor:
        """``cut(b [n], j [n])`` -> patches [n, C, P, P] at (image b, chunk position j)."""
        rows = self._table_rows(is_constant, chunk_fills)  # [B, k]: the fill's row, or -1
        new = self._new_fills(is_constant & (rows < 0), chunk_fills)  # [F_new] (b, j) of each new fill
        encode = rows < 0  # [B, k]: not constant, or of a fill not in the table
        if new is not None:  # a new fill's patches wait for its first one, encoded last in the batch
            new_values = chunk_fills[new[0], new[1]]  # [F_new, C]
            waiting = (chunk_fills.unsqueeze(-2) == new_values).all(-1).any(-1)  # [B, k, F_new, C] -> [B, k]
            encode &= ~(is_constant & waiting)
        plain_b, plain_j = encode.nonzero(as_tuple=True)  # [n_plain] each
        if new is not None:
            plain_b, plain_j = torch.cat([plain_b, new[0]]), torch.cat([plain_j, new[1]])
        batch, count = is_constant.shape
        output = None
        if plain_b.numel():
            embedded = self.embed(cut(plain_b, plain_j).unsqueeze(0))[0]  # [1, n, C, P, P] -> [n, D]
            self.encoded += plain_b.numel()
            output = embedded.new_empty(batch, count, embedded.shape[-1])  # [B, k, D]
            plain = len(plain_b) - (0 if new is None else len(new[0]))
            output[plain_b[:plain].to(output.device), plain_j[:plain].to(output.device)] = embedded[:plain]
            if new is not None:
                self._remember(chunk_fills[new[0], new[1]], embedded[plain:])  # [F_new, C], [F_new, D]
                rows = self._table_rows(is_constant, chunk_fills)  # now they are in the table
        if output is None:  # every patch of the chunk has a fill seen before
            output = self.table.new_empty(batch, count, self.table.shape[-1])
        rows = rows.to(output.device)
        reused = rows >= 0  # [B, k]
        if reused.any():
            output[reused] = self.table[rows[reused]].to(output.dtype)  # [n_reused, D]
        return output if self.project is None else self.project(output)  # [B, k, D]

    def _table_rows(self, is_constant: Tensor, chunk_fills: Tensor) -> Tensor:
        """Row of the table holding each patch's fill [B, k], -1 where it is not constant or not there."""
        rows = torch.full(is_constant.shape, -1, dtype=torch.int64, device=is_constant.device)
        if self.fills is None or not is_constant.any():
            return rows
        matches = (chunk_fills[is_constant].unsqueeze(1) == self.fills.unsqueeze(0)).all(-1)  # [m, F]
        found = matches.any(dim=1)  # [m]
        rows[is_constant] = torch.where(found, matches.int().argmax(dim=1), -1)
        return rows

    def _new_fills(self, unseen: Tensor, chunk_fills: Tensor) -> tuple[Tensor, Tensor] | None:
        """(b [F_new], j [F_new]): the first patch of each fill not in the table, while there is room."""
        room = self.max_fills - (0 if self.fills is None else self.fills.shape[0])
        if room <= 0 or not unseen.any():
            return None
        b, j = unseen.nonzero(as_tuple=True)  # row-major: the first occurrence comes first
        values = chunk_fills[b, j]  # [m, C]
        _, inverse = torch.unique(values, dim=0, return_inverse=True)  # [m]: which distinct fill
        first = torch.full((int(inverse.max()) + 1,), len(b), dtype=torch.int64, device=b.device)
        first = first.scatter_reduce(0, inverse, torch.arange(len(b), device=b.device), reduce="amin")
        first = first.sort().values[:room]  # [F_new]: positions in (b, j) of each fill's first patch
        return b[first], j[first]

    def _remember(self, fills: Tensor, embeddings: Tensor) -> None:
        fills, embeddings = fills.clone(), embeddings.clone()
        if self.fills is None:
            self.fills, self.table = fills, embeddings
        else:
            self.fills = torch.cat([self.fills, fills])  # [F, C]
            self.table = torch.cat([self.table, embeddings.to(self.table.dtype)])  # [F, D]
