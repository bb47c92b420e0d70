"""Zero-shot classification accuracy: top-1 and top-5 of the class ranking."""

import datasets
import evaluate

_DESCRIPTION = """
Fraction of images whose label is the best-ranked class (top-1) or among the five best (top-5). A
top-k is reported only when the task has more than k classes: with five classes or fewer every label
is "among the five best", and a top-5 of 100 would only say how few classes there are.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`): per image the class indices ranked best first (at least
        min(5, num_classes) of them).
    references (`list` of `int`): the label of each image.
    num_classes (`int`): the number of classes of the task.
Returns:
    top1, and top5 when num_classes > 5 (`float`): fractions in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/zeroshot_accuracy")
    >>> metric.compute(predictions=[[3, 1, 0], [0, 2, 1]], references=[1, 0], num_classes=4)
    {'top1': 0.5}
"""

_TOP_K = (1, 5)


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

    def _compute(self, predictions, references, num_classes):
        count = len(predictions) or float("nan")
        return {f"top{k}": sum(label in ranked[:k] for ranked, label in zip(predictions, references)) / count
                for k in _TOP_K if k == 1 or k < num_classes}
