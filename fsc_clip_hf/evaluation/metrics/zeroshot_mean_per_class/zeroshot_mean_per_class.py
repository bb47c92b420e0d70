"""Mean per-class accuracy, as ELEVATER scores Caltech-101, FGVC-Aircraft, Oxford Flowers and Pets."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
The recall of each class, averaged over the classes: ELEVATER's "mean-per-class" metric (its
``balanced_accuracy_score``, vision-evaluation's ``BalancedAccuracyScoreEvaluator``). As there, only
the classes that occur among the references take part: the score columns of the others are dropped
before the argmax, so an image is never predicted as a class without test images.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per image a score for every class (N x C).
    references (`list` of `int`): the label of each image.
Returns:
    mean_per_class (`float`): fraction in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/zeroshot_mean_per_class")
    >>> metric.compute(predictions=[[0.2, 0.1, 0.7], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]], references=[0, 0, 1])
    {'mean_per_class': 1.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ZeroshotMeanPerClass(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float32")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        scores, labels = np.asarray(predictions, dtype=np.float32), np.asarray(references)
        if not len(labels):
            return {"mean_per_class": float("nan")}
        present = np.unique(labels)
        # argmax over the present classes only; np.argmax keeps the first of equal scores, as ELEVATER's does.
        predicted = present[np.argmax(scores[:, present], axis=1)]
        return {"mean_per_class": float(np.mean([np.mean(predicted[labels == c] == c) for c in present]))}
