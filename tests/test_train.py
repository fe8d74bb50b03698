"""The training engine: schedule, metrics, learning, exact resume, failure modes."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_configs import tiny_config
from torch.utils.data import Dataset

from ips.checkpoint import CheckpointError
from ips.config import (
    IPSConfig,
    MegapixelMNISTConfig,
    TaskConfig,
    override,
)
from ips.data.patches import ImagePatches
from ips.model import IPSModel, evaluating
from ips.optimisation import build_optimizer, build_scheduler, learning_rate
from ips.train import NonFiniteLossError, fit

GRID, PATCH = 4, 16  # 64 x 64 images of 16 patches


class OnePatchCarriesTheLabel(Dataset):
    """64x64 noise images; one random patch of the 16 holds the label: which half of it is lit (4 classes)."""

    def __init__(self, count: int, seed: int, nan_at: int | None = None) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 4, (count,), generator=generator)
        self.where = torch.randint(0, GRID * GRID, (count,), generator=generator)
        self.noise = torch.rand(count, 1, GRID * PATCH, GRID * PATCH, generator=generator) * 0.5
        self.nan_at = nan_at

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.noise[i].clone()
        row, column = divmod(int(self.where[i]), GRID)
        block = image[:, row * PATCH : (row + 1) * PATCH, column * PATCH : (column + 1) * PATCH]
        half = PATCH // 2
        lit = [(slice(None, half), slice(None)), (slice(half, None), slice(None))]  # top, bottom
        lit += [(slice(None), slice(None, half)), (slice(None), slice(half, None))]  # left, right
        block[(slice(None), *lit[int(self.labels[i])])] = 1.0
        if i == self.nan_at:
            image[0, 0, 0] = float("nan")
        return image, {"label": self.labels[i]}


def toy_config(**optimisation) -> IPSConfig:
    settings = {"epochs": 2, "batch_size": 16, "lr": 3e-3, "weight_decay": 0.0, "warmup_epochs": 0}
    return tiny_config(
        {
            # Only the geometry is used (the toy dataset draws its own images); a small digit keeps the
            # Megapixel MNIST placement check satisfied on this small canvas.
            "data.canvas_height": GRID * PATCH,
            "data.canvas_width": GRID * PATCH,
            "data.digit_size": 4,
            "data.train_canvases": MegapixelMNISTConfig().train_canvases,
            "tasks": (TaskConfig("label", "multiclass", 4),),
            "aggregator.heads": 4,
            "aggregator.key_dim_per_head": 8,
            "aggregator.value_dim_per_head": 8,
            "aggregator.mlp_dim": 64,
            "aggregator.dropout": 0.0,
            "aggregator.attention_dropout": 0.0,
            "selection.memory_size": 4,
            "selection.iteration_size": 4,
            "selection.shuffle": False,  # patches in order
            "patches.size": PATCH,
        },
        **{f"optimisation.{key}": value for key, value in (settings | optimisation).items()},
    )


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------------ schedule


def test_learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_final_lr():
    schedule = {"total_steps": 100, "warmup_steps": 10, "lr": 1e-3, "final_lr": 1e-6}
    assert learning_rate(0, **schedule) == 0.0
    assert learning_rate(5, **schedule) == pytest.approx(5e-4)
    assert learning_rate(10, **schedule) == pytest.approx(1e-3)  # the peak, where the cosine starts
    halfway = 1e-6 + (1e-3 - 1e-6) * 0.5  # cos(pi / 2) = 0
    assert learning_rate(55, **schedule) == pytest.approx(halfway)
    quarter = 1e-6 + (1e-3 - 1e-6) * 0.5 * (1 + math.cos(math.pi * 0.25))
    assert learning_rate(32.5, **schedule) == pytest.approx(quarter)
    assert learning_rate(100, **schedule) == pytest.approx(1e-6)
    assert learning_rate(0, **(schedule | {"warmup_steps": 0})) == pytest.approx(1e-3)


def test_each_step_runs_at_the_rate_ips_sets_before_it():
    """IPS calls adjust_learning_rate(..., step=data_it + 1) before optimiser step data_it: step k
    runs at learning_rate(k + 1), so no step is wasted at rate 0 and the last runs at final_lr."""
    config = toy_config(epochs=4, warmup_epochs=1, lr=2e-3)
    model = IPSModel(config)
    optimizer = build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch=5)
    seen = []
    for _ in range(20):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    schedule = {"total_steps": 20, "warmup_steps": 5, "lr": 2e-3, "final_lr": 2e-6}
    assert seen == pytest.approx([learning_rate(s + 1, **schedule) for s in range(20)])
    assert seen[:5] == pytest.approx([4e-4, 8e-4, 1.2e-3, 1.6e-3, 2e-3])  # the peak at the 5th step
    assert seen[-1] == pytest.approx(2e-6)  # the last step runs at final_lr


# ------------------------------------------------------------------------------------- fit and metrics


def test_a_small_model_learns_which_patch_carries_the_label():
    config = toy_config(batch_size=8, lr=1e-3)
    validation = OnePatchCarriesTheLabel(64, seed=1)
    result = fit(config, OnePatchCarriesTheLabel(256, seed=0), validation)
    assert result.history[-1]["val/accuracy"] >= 0.9  # chance is 0.25

    # ... because the selection keeps the labelled patch (4 kept of 16: 25% at random).
    images = torch.stack([validation[i][0] for i in range(len(validation))])
    with evaluating(result.model):
        selection = result.model.select(ImagePatches(images, PATCH))
    kept = (selection.indices == validation.where.unsqueeze(1)).any(dim=1).float().mean()
    assert kept >= 0.9


def test_every_contract_metric_is_reported_each_epoch_with_sane_values():
    config = toy_config(epochs=2, warmup_epochs=1)
    ends = []
    result = fit(
        config, OnePatchCarriesTheLabel(32, 0), OnePatchCarriesTheLabel(16, 1), on_epoch_end=ends.append
    )
    expected = {
        "epoch", "train/loss", "val/loss", "train/label/loss", "val/label/loss", "train/label/accuracy",
        "val/label/accuracy", "train/accuracy", "val/accuracy", "lr", "time/seconds_per_batch",
        "time/images_per_second", "time/epoch_seconds", "memory/peak_mb",
    }  # fmt: skip
    assert [end.epoch for end in ends] == [1, 2]
    assert [set(metrics) for metrics in result.history] == [expected, expected]
    assert [end.metrics for end in ends] == result.history
    first = result.history[0]
    assert first["epoch"] == 1 and result.history[1]["epoch"] == 2
    assert 0.0 <= first["val/accuracy"] <= 1.0 and first["train/loss"] > 0
    assert first["lr"] == pytest.approx(3e-3)  # the epoch's last step (step 1 of 2) at learning_rate(2)
    assert first["time/images_per_second"] > 0 and first["memory/peak_mb"] > 0


def test_multilabel_accuracy_is_exact_match_at_one_half():
    from ips.metrics import correct

    task = TaskConfig("multi", "multilabel", 3)
    logits = torch.tensor([[2.0, -1.0, 0.5], [2.0, 1.0, -3.0], [-0.1, -1.0, -2.0]])
    labels = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert correct(logits, labels, task).tolist() == [True, False, True]
    multiclass = TaskConfig("digit", "multiclass", 3)
    assert correct(logits, torch.tensor([0, 1, 0]), multiclass).tolist() == [True, False, True]


# ------------------------------------------------------------------------------------------ resume


def resume_config() -> IPSConfig:
    """Dropout, attention dropout and a shuffled selection on: every random stream must be restored."""
    config = toy_config(epochs=3, warmup_epochs=1)
    return override(
        config, {"aggregator.dropout": 0.2, "aggregator.attention_dropout": 0.2, "selection.shuffle": True}
    )


def without_timings(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if not k.startswith(("time/", "memory/"))} for m in history]


def test_a_checkpoint_round_trip_continues_exactly_like_an_uninterrupted_run(tmp_path):
    config = resume_config()
    train, val = OnePatchCarriesTheLabel(48, 0), OnePatchCarriesTheLabel(16, 1)

    def save_after_first(end):
        if end.epoch == 1:
            end.save_checkpoint(tmp_path / "after_1")

    uninterrupted = fit(config, train, val, on_epoch_end=save_after_first)
    torch.manual_seed(12345)  # the resumed run must not depend on the global state it starts from
    resumed = fit(config, train, val, resume_from=tmp_path / "after_1")

    assert without_timings(resumed.history) == without_timings(uninterrupted.history)  # epochs 2, 3 exactly
    assert resumed.history[1]["train/loss"] == uninterrupted.history[1]["train/loss"]  # the next steps' loss
    for name, value in uninterrupted.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert (tmp_path / "after_1" / "config.json").is_file()


def test_resuming_with_a_different_config_names_the_fields_that_differ(tmp_path):
    config = toy_config(epochs=2)
    train, val = OnePatchCarriesTheLabel(16, 0), OnePatchCarriesTheLabel(16, 1)
    fit(config, train, val, on_epoch_end=lambda end: end.save_checkpoint(tmp_path))
    changed = override(config, {"optimisation.lr": 1e-2})
    with pytest.raises(CheckpointError, match=r"optimisation\.lr: checkpoint 0\.003, now 0\.01"):
        fit(changed, train, val, resume_from=tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint.pt"):
        fit(config, train, val, resume_from=tmp_path / "missing")


def test_a_finished_checkpoint_resumes_to_its_full_history_without_training(tmp_path):
    config = toy_config(epochs=1)
    train, val = OnePatchCarriesTheLabel(16, 0), OnePatchCarriesTheLabel(16, 1)
    first = fit(config, train, val, on_epoch_end=lambda end: end.save_checkpoint(tmp_path))
    again = fit(config, train, val, resume_from=tmp_path, on_epoch_end=lambda end: pytest.fail("trained"))
    assert again.history == first.history


# ------------------------------------------------------------------------------------------ failures


def test_a_nan_in_the_data_raises_non_finite_loss_error():
    config = toy_config(epochs=1)
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 0: the training loss is nan"):
        fit(config, OnePatchCarriesTheLabel(16, 0, nan_at=3), OnePatchCarriesTheLabel(16, 1))


def test_a_diverging_learning_rate_raises_non_finite_loss_error():
    config = toy_config(epochs=3, lr=1e30)
    with pytest.raises(NonFiniteLossError, match="Lower optimisation.lr"):
        fit(config, OnePatchCarriesTheLabel(64, 0), OnePatchCarriesTheLabel(16, 1))
