"""ROC-AUC of a binary task, as ELEVATER scores Hateful Memes."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
The area under the ROC curve of the positive class's score: the probability that a random positive
image scores above a random negative one, ties counting one half (``sklearn.metrics.roc_auc_score``,
which ELEVATER calls on the positive column of its softmax).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): per image the score of the positive class.
    references (`list` of `int`): the label of each image, 0 or 1.
Returns:
    roc_auc (`float`): in [0, 1].
Raises:
    ValueError: when the references hold only one of the two classes (the area is undefined).
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/zeroshot_roc_auc")
    >>> metric.compute(predictions=[0.1, 0.4, 0.35, 0.8], references=[0, 0, 1, 1])
    {'roc_auc': 0.75}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ZeroshotRocAuc(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float32"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        scores, labels = np.asarray(predictions, dtype=np.float64), np.asarray(references)
        if set(np.unique(labels)) - {0, 1}:
            raise ValueError(f"ROC-AUC needs labels 0 and 1, got {sorted(set(labels.tolist()))}")
        positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
        if not positives or not negatives:
            raise ValueError(f"ROC-AUC needs both classes among the references ({positives} positive, "
                             f"{negatives} negative)")
        # Mann-Whitney: the positives' rank sum, tied scores sharing the mean of their ranks.
        order = np.argsort(scores, kind="mergesort")
        ranks = np.empty(len(scores))
        sorted_scores = scores[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
        ends = np.r_[starts[1:], len(scores)]
        for start, end in zip(starts, ends):
            ranks[order[start:end]] = (start + end + 1) / 2  # mean of the 1-based ranks start+1 .. end
        wins = ranks[labels == 1].sum() - positives * (positives + 1) / 2
        return {"roc_auc": float(wins / (positives * negatives))}
