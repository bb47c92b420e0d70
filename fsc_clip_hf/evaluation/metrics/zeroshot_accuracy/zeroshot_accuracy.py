"""Zero-shot classification accuracy: top-1 and top-5 of the class ranking."""

import datasets
import evaluate

_DESCRIPTION = """
Fraction of images whose label is the best-ranked class (top-1) or among the five best (top-5; with
fewer than five classes, among all of them).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`): per image the class indices ranked best first (five or all).
    references (`list` of `int`): the label of each image.
Returns:
    top1, top5 (`float`): fractions in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/zeroshot_accuracy")
    >>> metric.compute(predictions=[[3, 1, 0], [0, 2, 1]], references=[1, 0])
    {'top1': 0.5, 'top5': 1.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ZeroshotAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("int64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        count = len(predictions) or float("nan")
        return {
            "top1": sum(ranked[0] == label for ranked, label in zip(predictions, references)) / count,
            "top5": sum(label in ranked[:5] for ranked, label in zip(predictions, references)) / count,
        }
