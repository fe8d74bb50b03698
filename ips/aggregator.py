"""Cross-attention pooling: learnable query tokens (one per task) attend to the patch embeddings.

A standalone layer in the manner of timm's ``AttentionPoolLatent``, with the IPS paper's details
(Bergner et al. 2023, Sec. 3 and the authors' ``transformer.py``): bias-free query/key/value/output
projections, the residual taken from the query tokens, post-layer-norm, then a ReLU MLP block with its own
residual and layer norm. ``scores`` gives each patch's attention averaged over heads and query tokens,
which is what the selection loop ranks patches by; it uses the very projections ``forward`` uses.

An optional 1-D sinusoidal positional encoding (Vaswani et al.) of each patch's index in the patch
grid is added to the embeddings before attention; the table is a buffer, so it follows ``.to()``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sinusoidal_positions(length: int, dim: int) -> Tensor:
    """The 1-D sine/cosine table [length, dim]: even columns sin, odd columns cos, wavelengths to 10^4."""
    if dim % 2:
        raise ValueError(f"sinusoidal positional encoding needs an even embedding dim, got {dim}")
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # [length, 1]
    exponents = torch.arange(0, dim, 2, dtype=torch.float32) / dim  # [dim/2]
    frequency = torch.exp(-math.log(10000.0) * exponents)  # [dim/2]
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class MLPBlock(nn.Module):
    """x + MLP(x), then layer norm: [..., D] -> [..., D]."""

    def __init__(self, embedding_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.hidden = nn.Linear(embedding_dim, mlp_dim)
        self.output = nn.Linear(mlp_dim, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(embedding_dim, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x + self.dropout(self.output(F.relu(self.hidden(x)))))


class CrossAttentionPool(nn.Module):
    """Pool patch embeddings [B, K, D] into one vector per query token [B, queries, D]."""

    def __init__(
        self,
        embedding_dim: int,
        heads: int,
        key_dim_per_head: int,
        value_dim_per_head: int,
        mlp_dim: int,
        dropout: float,
        attention_dropout: float,
        queries: int,
        max_positions: int | None = None,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.key_dim_per_head = key_dim_per_head
        self.value_dim_per_head = value_dim_per_head
        self.attention_dropout = attention_dropout
        bound = 1.0 / math.sqrt(key_dim_per_head)
        tokens = torch.empty(queries, embedding_dim).uniform_(-bound, bound)  # [Q, D]
        self.query_tokens = nn.Parameter(tokens)
        self.query_projection = nn.Linear(embedding_dim, heads * key_dim_per_head, bias=False)
        self.key_projection = nn.Linear(embedding_dim, heads * key_dim_per_head, bias=False)
        self.value_projection = nn.Linear(embedding_dim, heads * value_dim_per_head, bias=False)
        self.output_projection = nn.Linear(heads * value_dim_per_head, embedding_dim, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(embedding_dim, eps=1e-6)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, dropout)
        self.max_positions = max_positions
        if max_positions is not None:
            table = sinusoidal_positions(max_positions, embedding_dim)  # [max_positions, D]
            self.register_buffer("position_table", table, persistent=False)

    @property
    def queries(self) -> int:
        return self.query_tokens.shape[0]

    # parts ---------------------------------------------------------------------------------------

    def add_positions(self, x: Tensor, positions: Tensor | None) -> Tensor:
        """Embeddings [B, K, D] plus the encoding of each patch's grid index ``positions`` [B, K]."""
        if self.max_positions is None:
            return x
        if positions is None:
            raise ValueError(
                "this CrossAttentionPool adds positional encodings (max_positions is set): pass each patch's "
                "index in the patch grid as positions [B, K]"
            )
        return x + self.position_table[positions.to(self.position_table.device)]  # [B, K] -> [B, K, D]

    def project_queries(self) -> Tensor:
        """Query tokens [Q, D] -> per-head queries [1, H, Q, d_k]."""
        q = self.query_projection(self.query_tokens)  # [Q, H*d_k]
        return q.view(1, self.queries, self.heads, self.key_dim_per_head).transpose(1, 2)  # [1, H, Q, d_k]

    def project_keys(self, x: Tensor) -> Tensor:
        """Embeddings [B, K, D] -> per-head keys [B, H, K, d_k]."""
        batch, length, _ = x.shape
        k = self.key_projection(x)  # [B, K, H*d_k]
        return k.view(batch, length, self.heads, self.key_dim_per_head).transpose(1, 2)  # [B, H, K, d_k]

    def project_values(self, x: Tensor) -> Tensor:
        """Embeddings [B, K, D] -> per-head values [B, H, K, d_v]."""
        batch, length, _ = x.shape
        v = self.value_projection(x)  # [B, K, H*d_v]
        return v.view(batch, length, self.heads, self.value_dim_per_head).transpose(1, 2)  # [B, H, K, d_v]

    # selection scores ----------------------------------------------------------------------------

    def attention(self, x: Tensor, positions: Tensor | None = None) -> Tensor:
        """Attention weights [B, H, Q, K] of every query token on every patch (each row sums to 1).

        Computed explicitly (no dropout) with the projections ``forward`` uses.
        """
        x = self.add_positions(x, positions)  # [B, K, D]
        q = self.project_queries()  # [1, H, Q, d_k]
        k = self.project_keys(x)  # [B, H, K, d_k]
        logits = q @ k.transpose(-2, -1) / math.sqrt(self.key_dim_per_head)  # [B, H, Q, K]
        return logits.float().softmax(dim=-1)

    def scores(self, x: Tensor, positions: Tensor | None = None) -> Tensor:
        """Each patch's attention averaged over heads and query tokens: [B, K, D] -> [B, K]."""
        return self.attention(x, positions).mean(dim=(1, 2))  # [B, H, Q, K] -> [B, K]

    # the layer -----------------------------------------------------------------------------------

    def forward(self, x: Tensor, positions: Tensor | None = None) -> Tensor:
        """Patch embeddings [B, K, D] (grid indices ``positions`` [B, K]) -> pooled [B, Q, D]."""
        batch = x.shape[0]
        x = self.add_positions(x, positions)  # [B, K, D]
        q = self.project_queries().expand(batch, -1, -1, -1)  # [B, H, Q, d_k]
        k = self.project_keys(x)  # [B, H, K, d_k]
        v = self.project_values(x)  # [B, H, K, d_v]
        dropout = self.attention_dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)  # [B, H, Q, d_v]
        attended = attended.transpose(1, 2).reshape(batch, self.queries, -1)  # [B, Q, H*d_v]
        tokens = self.query_tokens.unsqueeze(0)  # [1, Q, D]
        pooled = self.norm(tokens + self.dropout(self.output_projection(attended)))  # [B, Q, D]
        return self.mlp(pooled)  # [B, Q, D]
