"""Multiple-choice accuracy: is the true option scored strictly above every other one?

Serves both choice shapes: an image against its candidate captions (SugarCrepe, ARO, VALSE, ...) and a
caption against its candidate images (ImageCoDe, SVO-Probes, SPEC text-to-image).
"""

import datasets
import evaluate

_DESCRIPTION = """
Fraction of test items whose true option has the highest score. A tie with the best wrong option counts
as wrong: a model that cannot tell the options apart gets no credit.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): the score of every option of each item (any length >= 2).
    references (`list` of `int`): the index of the true option of each item.
Returns:
    accuracy (`float`): fraction in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/multiple_choice_accuracy")
    >>> metric.compute(predictions=[[0.3, 0.1], [0.2, 0.2]], references=[0, 1])
    {'accuracy': 0.5}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MultipleChoiceAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        correct = [
            all(scores[answer] > score for option, score in enumerate(scores) if option != answer)
            for scores, answer in zip(predictions, references)
        ]
        return {"accuracy": sum(correct) / len(correct) if correct else float("nan")}
