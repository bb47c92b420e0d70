"""ELEVATER's zero-shot protocol: each task's own metric, on the softmax of 100 x cosine similarity.

ELEVATER's toolkit (``vision_benchmark/evaluation/clip_zeroshot_evaluator.py``) turns the normalised
image and class embeddings into ``softmax(100 * image @ classes)`` and hands these probabilities to
the metric its dataset config names (``vision_benchmark/resources/datasets/<task>.yaml``, ``TEST.METRIC``):

* ``accuracy``: top-1 (most tasks; reported here as ``top1``, with ``top5`` beside it);
* ``mean-per-class``: the recall of each class, averaged (Caltech-101, FGVC-Aircraft, Flowers-102, Pets);
* ``11point_mAP``: 11-point interpolated mAP of the multi-label VOC 2007;
* ``roc_auc``: ROC-AUC of the positive class (Hateful Memes).

The ranking metrics (mAP, ROC-AUC) see the probabilities, not the raw similarities: the softmax
changes how images are ordered within one class column. The fixed scale of 100 is ELEVATER's, not the
model's ``logit_scale``. Probabilities are float32.
"""

from __future__ import annotations

import torch

from . import load_metric

# metric key (as reported per task): (its name in ELEVATER's configs, label for tables, Hub metric type)
METRICS = {
    "top1": ("accuracy", "top-1", "accuracy"),
    "mean_per_class": ("mean-per-class", "mean per-class accuracy", "accuracy"),
    "map_11point": ("11point_mAP", "11-point mAP", "map"),
    "roc_auc": ("roc_auc", "ROC-AUC", "roc_auc"),
}


def metric_label(metric: str) -> str:
    """How tables name a task metric (``"mean_per_class"`` → ``"mean per-class accuracy"``)."""
    return METRICS[metric][1]


def zeroshot_scores(probabilities: torch.Tensor, labels: list, metric: str) -> dict[str, float]:
    """Scores in percent of one task from its (N, C) class probabilities.

    Args:
        probabilities: ``softmax(100 * image @ classes)`` per image (rows sum to 1).
        labels: per image its class index, or for the multi-label ``map_11point`` its list of classes.
        metric: the task's metric, a key of :data:`METRICS`.

    Returns:
        ``metric`` and, for single-label tasks, ``top1`` and ``top5`` (a top-k only for more than k classes).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown zero-shot metric {metric!r}; known: {sorted(METRICS)}")
    count, classes = probabilities.shape
    if metric == "map_11point":
        indicators = torch.zeros(count, classes, dtype=torch.int64)
        for row, positives in enumerate(labels):
            indicators[row, list(positives)] = 1
        result = load_metric("zeroshot_map_11point").compute(predictions=probabilities.tolist(),
                                                           references=indicators.tolist())
        return {name: 100.0 * value for name, value in result.items()}
    # A stable sort ranks equal probabilities by class index: the top-1 is numpy's argmax, as ELEVATER's.
    ranked = torch.sort(probabilities, dim=1, descending=True, stable=True).indices[:, :5].tolist()
    result = load_metric("zeroshot_accuracy").compute(predictions=ranked, references=labels, num_classes=classes)
    if metric == "mean_per_class":
        result.update(load_metric("zeroshot_mean_per_class").compute(predictions=probabilities.tolist(),
                                                                    references=labels))
    elif metric == "roc_auc":
        if classes != 2:
            raise ValueError(f"ROC-AUC is for two classes, the task has {classes}")
        result.update(load_metric("zeroshot_roc_auc").compute(predictions=probabilities[:, 1].tolist(),
                                                              references=labels))
    return {name: 100.0 * value for name, value in result.items()}
