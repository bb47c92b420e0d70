"""11-point interpolated mean average precision of a multi-label task, as ELEVATER scores VOC 2007."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
For each class with at least one positive image: the precision-recall curve of its score column
(``sklearn.metrics.precision_recall_curve``: one point per distinct score, plus its closing point of
recall 0 and precision 1), the interpolated precision (the best precision at a recall of at least r)
at the 11 recalls r = 1, 0.9, ..., 0, and their mean; then the mean over those classes. This is
ELEVATER's "11point_mAP" (vision-evaluation's ``MeanAveragePrecisionNPointsEvaluator(11)``). Because of
the closing point, r = 0 always contributes a precision of 1, unlike in the VOC devkit's own 11-point AP.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per image a score for every class (N x C).
    references (`list` of `list` of `int`): per image a 0/1 indicator for every class (N x C).
Returns:
    map_11point (`float`): in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/zeroshot_map_11point")
    >>> metric.compute(predictions=[[0.9, 0.2], [0.6, 0.7]], references=[[1, 0], [0, 1]])
    {'map_11point': 1.0}
"""

_POINTS = 11


def _precision_recall(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's precision_recall_curve for one class: points from the highest recall down, then (0, 1)."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, positive = scores[order], positive[order].astype(np.float64)
    last_of_each_score = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(positive)[last_of_each_score]
    false_positives = 1 + last_of_each_score - true_positives
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / true_positives[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0]


def _average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    precision, recall = _precision_recall(scores, positive)
    # The recall thresholds exactly as ELEVATER's evaluator builds them (np.linspace's floats).
    total, best, index = 0.0, 0.0, 0
    for threshold in np.linspace(1, 0, _POINTS, endpoint=True).tolist():
        while index < len(recall) and threshold <= recall[index]:
            best = max(best, precision[index])
            index += 1
        total += best
    return total / _POINTS


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ZeroshotMap11point(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float32")),
                 "references": datasets.Sequence(datasets.Value("int64"))}
            ),
        )

    def _compute(self, predictions, references):
        scores, targets = np.asarray(predictions, dtype=np.float32), np.asarray(references)
        if scores.shape != targets.shape:
            raise ValueError(f"predictions {scores.shape} and references {targets.shape} differ in shape")
        classes = np.flatnonzero(targets.sum(axis=0) if targets.size else [])
        if not len(classes):
            return {"map_11point": float("nan")}
        return {"map_11point": float(np.mean([_average_precision(scores[:, c], targets[:, c] > 0) for c in classes]))}
