"""The IPS model: patch encoder, cross-attention pooling, one linear head per task (logits).

Training step, in the caller's hands (the model never switches its own mode)::

    with evaluating(model):
        selection = model.select(ImagePatches(images, size, stride))  # no grad, eval mode
    logits = model(selection.patches.to(device), selection.indices.to(device))  # with grad
    losses = task_losses(logits, labels, config.tasks)

Selection scores every patch without gradients; the ``memory_size`` patches it keeps are embedded again
with gradients, so training memory depends on ``memory_size`` and not on the number of patches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ips.aggregator import CrossAttentionPool
from ips.config import IPSConfig, TaskConfig
from ips.encoder import PatchEncoder
from ips.selection import Selection, select_patches

# ------------------------------------------------------------------------------------------- parts


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` (and all their submodules) in eval mode; restore each one's previous mode after."""
    previous = [(module, module.training) for root in modules for module in root.modules()]
    try:
        for root in modules:
            root.eval()
        yield
    finally:
        for module, training in previous:
            module.training = training


def task_losses(
    logits: dict[str, Tensor], labels: dict[str, Tensor], tasks: Sequence[TaskConfig]
) -> dict[str, Tensor]:
    """Loss per task, on logits: cross-entropy (multiclass, labels [B] int64) or BCE-with-logits
    (multilabel, labels [B, classes] of 0/1)."""
    losses = {}
    for task in tasks:
        if task.name not in logits or task.name not in labels:
            raise KeyError(
                f"task {task.name!r} needs both logits and labels; got logits for {sorted(logits)} and "
                f"labels for {sorted(labels)}"
            )
        if task.kind == "multiclass":
            losses[task.name] = F.cross_entropy(logits[task.name], labels[task.name])
        else:
            target = labels[task.name].to(logits[task.name].dtype)  # [B, classes]
            losses[task.name] = F.binary_cross_entropy_with_logits(logits[task.name], target)
    return losses


# --------------------------------------------------------------------------------------- the whole


class IPSModel(nn.Module):
    """Encoder -> cross-attention pooling (one query token per task) -> one linear head per task."""

    def __init__(self, config: IPSConfig) -> None:
        super().__init__()
        self.config = config
        aggregator = config.aggregator
        self.encoder = PatchEncoder(config.encoder, aggregator.embedding_dim)
        self.aggregator = CrossAttentionPool(
            embedding_dim=aggregator.embedding_dim,
            heads=aggregator.heads,
            key_dim_per_head=aggregator.key_dim_per_head,
            value_dim_per_head=aggregator.value_dim_per_head,
            mlp_dim=aggregator.mlp_dim,
            dropout=aggregator.dropout,
            attention_dropout=aggregator.attention_dropout,
            queries=len(config.tasks),
            max_positions=config.number_of_patches if aggregator.positional_encoding else None,
        )
        # One head per task, in the order of the query tokens (config.tasks).
        self.heads = nn.ModuleDict(
            {task.name: nn.Linear(aggregator.embedding_dim, task.classes) for task in config.tasks}
        )

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def embed(self, patches: Tensor) -> Tensor:
        """Patches [B, K, C, P, P] (any device) -> embeddings [B, K, D] on the model's device."""
        batch, count = patches.shape[:2]
        flat = patches.to(self.device).flatten(0, 1)  # [B*K, C, P, P]
        return self.encoder(flat).view(batch, count, -1)  # [B*K, D] -> [B, K, D]

    def embed_features(self, patches: Tensor) -> Tensor:
        """Patches [B, K, C, P, P] -> trunk features [B, K, F] before the encoder's projection."""
        batch, count = patches.shape[:2]
        flat = patches.to(self.device).flatten(0, 1)  # [B*K, C, P, P]
        return self.encoder.features(flat).view(batch, count, -1)  # [B*K, F] -> [B, K, F]

    def score(self, embeddings: Tensor, positions: Tensor) -> Tensor:
        """Selection scores [B, K] of embeddings [B, K, D] at grid indices ``positions`` [B, K]."""
        return self.aggregator.scores(embeddings, positions.to(embeddings.device))

    def select(
        self, source, generator: torch.Generator | None = None, return_all_scores: bool = False
    ) -> Selection:
        """The IPS pass over ``source`` (see ``ips.selection.select_patches``), without gradients.

        Call it inside ``evaluating(model)``: batch norm and dropout must not act on the scan (and the
        reuse of blank patches' embeddings, ``selection.reuse_blank_patches``, is exact only there).
        """
        selection = self.config.selection
        reuse = selection.reuse_blank_patches
        return select_patches(
            source,
            embed=self.embed_features if reuse else self.embed,
            project=self.encoder.projection if reuse else None,
            score=self.score,
            memory_size=selection.memory_size,
            iteration_size=selection.iteration_size,
            shuffle=selection.shuffle,
            generator=generator,
            return_all_scores=return_all_scores,
            reuse_blank_patches=selection.reuse_blank_patches,
        )

    def forward(self, patches: Tensor, positions: Tensor | None = None) -> dict[str, Tensor]:
        """Selected patches [B, M, C, P, P] at grid indices ``positions`` [B, M] -> logits per task."""
        embeddings = self.embed(patches)  # [B, M, D]
        pooled = self.aggregator(embeddings, positions)  # [B, tasks, D]
        return {name: head(pooled[:, i]) for i, (name, head) in enumerate(self.heads.items())}  # [B, classes]
