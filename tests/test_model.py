"""IPSModel: logits per task, gradients only through the selected patches, evaluating(), task losses."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from tiny_configs import tiny_config
from torch import nn

from ips.config import (
    MegapixelMNISTConfig,
    TaskConfig,
)
from ips.data.patches import ImagePatches
from ips.model import IPSModel, evaluating, task_losses

torch.set_num_threads(1)
PATCH = 8
TASKS = (TaskConfig("majority", "multiclass", 10), TaskConfig("multi", "multilabel", 4))


def tiny_model(positional: bool = False, seed: int = 0) -> IPSModel:
    torch.manual_seed(seed)
    config = tiny_config(
        {
            "data.canvas_height": 4 * PATCH,
            "data.canvas_width": 5 * PATCH,
            "data.digit_size": 1,
            "data.train_canvases": MegapixelMNISTConfig().train_canvases,
            "tasks": TASKS,
            "aggregator.embedding_dim": 16,
            "aggregator.heads": 2,
            "aggregator.key_dim_per_head": 4,
            "aggregator.value_dim_per_head": 4,
            "aggregator.mlp_dim": 32,
            "aggregator.positional_encoding": positional,
            "selection.iteration_size": 4,
            "patches.size": PATCH,
        }
    )
    return IPSModel(config)


def image_patches(batch: int = 2) -> ImagePatches:
    images = torch.rand(batch, 1, 4 * PATCH, 5 * PATCH, generator=torch.Generator().manual_seed(0))
    return ImagePatches(images, PATCH)


def test_parts_follow_the_config():
    model = tiny_model(positional=True)
    assert list(model.heads) == ["majority", "multi"]
    assert model.heads["majority"].out_features == 10 and model.heads["multi"].out_features == 4
    assert model.aggregator.queries == 2  # one query token per task
    assert model.aggregator.position_table.shape == (20, 16)  # one row per patch of the 4 x 5 grid
    assert tiny_model().aggregator.max_positions is None


def test_forward_returns_logits_per_task():
    model = tiny_model(positional=True)
    with evaluating(model):
        selection = model.select(image_patches())
    logits = model(selection.patches, selection.indices)
    assert set(logits) == {"majority", "multi"}
    assert logits["majority"].shape == (2, 10) and logits["multi"].shape == (2, 4)
    assert logits["majority"].requires_grad
    # Logits, not probabilities: the heads are plain linear maps of the pooled query tokens.
    with evaluating(model):  # no dropout, batch norm on running statistics: the two passes agree
        logits = model(selection.patches, selection.indices)
        pooled = model.aggregator(model.embed(selection.patches), selection.indices)  # [B, tasks, D]
    torch.testing.assert_close(logits["multi"], model.heads["multi"](pooled[:, 1]))
    torch.testing.assert_close(logits["majority"], model.heads["majority"](pooled[:, 0]))


def test_selection_pass_carries_no_gradient():
    model = tiny_model()
    with torch.enable_grad(), evaluating(model):
        selection = model.select(image_patches(), return_all_scores=True)
    for tensor in selection:
        assert not tensor.requires_grad and tensor.grad_fn is None
    assert all(parameter.grad is None for parameter in model.parameters())


def test_gradients_reach_the_encoder_through_the_selected_patches_only():
    model = tiny_model()
    twin = copy.deepcopy(model)  # the same weights, never used for selection
    with evaluating(model):
        selection = model.select(image_patches())
    labels = {"majority": torch.tensor([3, 7]), "multi": torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 0]])}

    def backward(network):
        torch.manual_seed(1)  # the same dropout masks in both networks
        losses = task_losses(network(selection.patches.clone(), selection.indices), labels, TASKS)
        sum(losses.values()).backward()
        return {name: parameter.grad for name, parameter in network.named_parameters()}

    gradients, reference = backward(model), backward(twin)
    stem = gradients["encoder.trunk.0.weight"]
    assert stem is not None and stem.abs().sum() > 0  # the encoder learns from the selected patches
    assert gradients["aggregator.query_tokens"].abs().sum() > 0
    for name, gradient in gradients.items():  # and nothing else: the selection added no gradient
        torch.testing.assert_close(gradient, reference[name], msg=name)


def test_select_uses_the_model_selection_config():
    model = tiny_model()
    with evaluating(model):
        selection = model.select(image_patches(batch=3))
    assert selection.indices.shape == (3, 3)  # memory_size 3
    assert selection.patches.shape == (3, 3, 1, PATCH, PATCH)


# ---------------------------------------------------------------------------------------- evaluating


def test_evaluating_sets_eval_and_restores_each_previous_mode():
    model = tiny_model().train()
    model.heads.eval()  # a mixed state must come back as it was
    other = nn.Linear(2, 2).train()
    with evaluating(model, other):
        assert not any(module.training for module in [*model.modules(), other])
    assert model.training and model.encoder.training and other.training
    assert not model.heads.training and not model.heads["multi"].training


def test_evaluating_restores_modes_after_an_exception():
    model = tiny_model().train()
    with pytest.raises(RuntimeError, match="boom"), evaluating(model):
        raise RuntimeError("boom")
    assert all(module.training for module in model.modules())


# -------------------------------------------------------------------------------------------- losses


def test_losses_equal_the_hand_computed_ones():
    logits = {
        "majority": torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]]),
        "multi": torch.tensor([[1.0, -2.0]]),
    }
    labels = {"majority": torch.tensor([0, 1]), "multi": torch.tensor([[1.0, 0.0]])}
    tasks = (TaskConfig("majority", "multiclass", 3), TaskConfig("multi", "multilabel", 2))
    losses = task_losses(logits, labels, tasks)

    def cross_entropy(row, label):
        return -row[label] + math.log(sum(math.exp(value) for value in row))

    def sigmoid(value):
        return 1 / (1 + math.exp(-value))

    expected_majority = (cross_entropy([2.0, 0.0, -1.0], 0) + cross_entropy([0.5, 0.5, 3.0], 1)) / 2
    expected_multi = (-math.log(sigmoid(1.0)) - math.log(1 - sigmoid(-2.0))) / 2
    assert losses["majority"].item() == pytest.approx(expected_majority, rel=1e-6)
    assert losses["multi"].item() == pytest.approx(expected_multi, rel=1e-6)


def test_losses_are_stable_for_large_logits():
    logits = {"multi": torch.tensor([[200.0, -200.0]])}  # sigmoid then log would give inf here
    losses = task_losses(logits, {"multi": torch.tensor([[0, 1]])}, (TaskConfig("multi", "multilabel", 2),))
    assert losses["multi"].item() == pytest.approx(200.0)


def test_missing_labels_are_named():
    with pytest.raises(KeyError, match="task 'max' needs both logits and labels"):
        task_losses({"max": torch.zeros(1, 10)}, {}, (TaskConfig("max"),))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_select_moves_chunks_from_a_cpu_source_to_the_model_device():
    model = tiny_model(positional=True).cuda()
    patches = image_patches()  # on the CPU
    with evaluating(model):
        selection = model.select(patches, return_all_scores=True)
        logits = model(selection.patches.cuda(), selection.indices.cuda())
    assert selection.patches.device.type == "cpu" and selection.indices.device.type == "cpu"
    assert selection.scores.device.type == "cuda"
    assert torch.equal(selection.patches, patches.take(selection.indices))
    assert logits["majority"].device.type == "cuda"
