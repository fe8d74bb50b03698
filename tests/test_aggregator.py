"""CrossAttentionPool: shapes, attention summing to one, forward agreeing with scores, positions."""

from __future__ import annotations

import math

import pytest
import torch

from ips.aggregator import CrossAttentionPool, sinusoidal_positions

torch.set_num_threads(1)


def make_pool(
    heads=2, key_dim=4, value_dim=6, queries=3, max_positions=None, dropout=0.0, attention_dropout=0.0
):
    torch.manual_seed(0)
    return CrossAttentionPool(
        embedding_dim=8,
        heads=heads,
        key_dim_per_head=key_dim,
        value_dim_per_head=value_dim,
        mlp_dim=16,
        dropout=dropout,
        attention_dropout=attention_dropout,
        queries=queries,
        max_positions=max_positions,
    )


def embeddings(batch=2, count=5, seed=1):
    return torch.randn(batch, count, 8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("heads", "key_dim", "value_dim", "queries"), [(1, 8, 8, 1), (2, 4, 6, 3), (4, 3, 5, 4)]
)
def test_output_shapes(heads, key_dim, value_dim, queries):
    pool = make_pool(heads, key_dim, value_dim, queries).eval()
    x = embeddings(batch=2, count=5)
    assert pool(x).shape == (2, queries, 8)
    assert pool.scores(x).shape == (2, 5)
    assert pool.attention(x).shape == (2, heads, queries, 5)


def test_attention_of_each_head_and_query_sums_to_one_over_patches():
    pool = make_pool(heads=2, queries=3)
    attention = pool.attention(embeddings(count=7))  # [B, H, Q, K]
    torch.testing.assert_close(attention.sum(dim=-1), torch.ones(2, 2, 3))
    assert torch.all(attention > 0)
    torch.testing.assert_close(pool.scores(embeddings(count=7)), attention.mean(dim=(1, 2)))
    torch.testing.assert_close(pool.scores(embeddings(count=7)).sum(dim=-1), torch.ones(2))


def reference_forward(pool: CrossAttentionPool, x: torch.Tensor, positions=None) -> torch.Tensor:
    """forward written out by hand from ``attention`` (eval mode, no dropout)."""
    batch = x.shape[0]
    attention = pool.attention(x, positions)  # [B, H, Q, K]
    x = pool.add_positions(x, positions)
    values = pool.value_projection(x).view(batch, x.shape[1], pool.heads, -1).transpose(1, 2)  # [B, H, K, dv]
    attended = (attention @ values).transpose(1, 2).reshape(batch, pool.queries, -1)  # [B, Q, H*dv]
    pooled = pool.norm(pool.query_tokens + pool.output_projection(attended))  # [B, Q, D]
    hidden = torch.relu(pool.mlp.hidden(pooled))
    return pool.mlp.norm(pooled + pool.mlp.output(hidden))


@pytest.mark.parametrize("max_positions", [None, 10])
def test_forward_uses_the_attention_that_scores_reports(max_positions):
    pool = make_pool(heads=2, key_dim=4, value_dim=6, queries=3, max_positions=max_positions).eval()
    x = embeddings(count=5)
    positions = torch.tensor([[0, 2, 4, 6, 8], [9, 7, 5, 3, 1]])
    torch.testing.assert_close(pool(x, positions), reference_forward(pool, x, positions))


def test_dropout_acts_in_training_only():
    pool = make_pool(dropout=0.5, attention_dropout=0.5)
    x = embeddings()
    pool.train()
    assert not torch.equal(pool(x), pool(x))
    pool.eval()
    assert torch.equal(pool(x), pool(x))
    torch.testing.assert_close(pool(x), reference_forward(pool, x))


def test_positional_encoding_is_a_buffer_that_changes_outputs():
    with_positions = make_pool(max_positions=10).eval()
    without = make_pool(max_positions=None).eval()
    without.load_state_dict(with_positions.state_dict())  # same weights; the table is not saved
    assert "position_table" in dict(with_positions.named_buffers())
    assert "position_table" not in dict(with_positions.named_parameters())
    assert with_positions.position_table.shape == (10, 8)
    x = embeddings(count=4)
    here, there = torch.tensor([[0, 1, 2, 3]] * 2), torch.tensor([[6, 7, 8, 9]] * 2)
    assert not torch.allclose(with_positions(x, here), without(x))
    assert not torch.allclose(with_positions(x, here), with_positions(x, there))
    assert not torch.allclose(with_positions.scores(x, here), with_positions.scores(x, there))
    torch.testing.assert_close(without(x, here), without(x, there))  # positions ignored without a table
    assert with_positions.double().position_table.dtype == torch.float64  # follows .to() like any buffer


def test_positions_are_required_with_positional_encoding():
    pool = make_pool(max_positions=10)
    with pytest.raises(ValueError, match="pass each patch's index in the patch grid as positions"):
        pool.scores(embeddings())


def test_sinusoidal_table():
    table = sinusoidal_positions(50, 8)
    position = 7
    for pair in range(4):
        frequency = 10000 ** (-2 * pair / 8)
        assert table[position, 2 * pair].item() == pytest.approx(math.sin(position * frequency), abs=1e-6)
        assert table[position, 2 * pair + 1].item() == pytest.approx(math.cos(position * frequency), abs=1e-6)
    with pytest.raises(ValueError, match="even embedding dim"):
        sinusoidal_positions(5, 7)


def test_gradients_reach_queries_and_projections():
    pool = make_pool().train()
    pool(embeddings()).sum().backward()
    for name, parameter in pool.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
