"""The metric names ips logs are the names study.tracking (the contract analysis reads) gives them."""

import torch

from ips import metrics
from ips.config import TaskConfig
from ips.metrics import MetricTally
from study import tracking


def test_every_metric_name_ips_logs_is_the_tracking_contracts():
    assert metrics.METRIC_EPOCH == tracking.METRIC_EPOCH
    assert metrics.METRIC_LR == tracking.METRIC_LR
    assert metrics.METRIC_SECONDS_PER_BATCH == tracking.METRIC_SECONDS_PER_BATCH
    assert metrics.METRIC_IMAGES_PER_SECOND == tracking.METRIC_IMAGES_PER_SECOND
    assert metrics.METRIC_EPOCH_SECONDS == tracking.METRIC_EPOCH_SECONDS
    assert metrics.METRIC_PEAK_MEMORY_MB == tracking.METRIC_PEAK_MEMORY_MB
    assert (metrics.TRAIN, metrics.VAL) == tracking.SPLITS
    for split in tracking.SPLITS:
        for task in (None, "majority"):
            assert metrics.loss_metric(split, task) == tracking.loss_metric(split, task)
            assert metrics.accuracy_metric(split, task) == tracking.accuracy_metric(split, task)


def test_an_epochs_split_metrics_are_named_by_the_contract():
    tasks = (TaskConfig("majority"), TaskConfig("multi", "multilabel"))
    tally = MetricTally(tasks)
    logits = {"majority": torch.zeros(2, 10), "multi": torch.zeros(2, 10)}
    labels = {"majority": torch.tensor([0, 1]), "multi": torch.zeros(2, 10)}
    tally.add(logits, labels, {"majority": 1.0, "multi": 2.0})
    for split in tracking.SPLITS:
        expected = {tracking.loss_metric(split), tracking.accuracy_metric(split)}
        for task in ("majority", "multi"):
            expected |= {tracking.loss_metric(split, task), tracking.accuracy_metric(split, task)}
        assert set(tally.summary(split)) == expected
