"""Multiple-choice accuracy: does the true option win, with ties settled as the benchmark settles them?

Serves both choice shapes: an image against its candidate captions (SugarCrepe, ARO, VALSE, ...) and a
caption against its candidate images (ImageCoDe, SVO-Probes, SPEC text-to-image).
"""

import datasets
import evaluate

_DESCRIPTION = """
Fraction of test items whose true option has the highest score. Ties follow `ties`: "strict" (the
default) counts a tie with the best wrong option as wrong (`pos > neg`, as SugarCrepe, VALSE and
VL-CheckList score); "first" predicts the argmax over the options in their listed order, i.e. the first
of equal maxima wins (numpy's and torch's argmax, as ARO, What'sUp, SPEC and ImageCoDe score).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): the score of every option of each item (any length >= 2).
    references (`list` of `int`): the index of the true option of each item.
    ties (`str`, default "strict"): "strict" or "first" (see the description).
Returns:
    accuracy (`float`): fraction in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/multiple_choice_accuracy")
    >>> metric.compute(predictions=[[0.3, 0.1], [0.2, 0.2]], references=[0, 1])
    {'accuracy': 0.5}
    >>> metric.compute(predictions=[[0.2, 0.2], [0.2, 0.2]], references=[0, 1], ties="first")
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

    def _compute(self, predictions, references, ties="strict"):
        if ties == "strict":
            correct = [all(scores[answer] > score for option, score in enumerate(scores) if option != answer)
                       for scores, answer in zip(predictions, references)]
        elif ties == "first":
            correct = [max(range(len(scores)), key=scores.__getitem__) == answer  # max keeps the first maximum
                       for scores, answer in zip(predictions, references)]
        else:
            raise ValueError(f"ties must be 'strict' or 'first', not {ties!r}")
        return {"accuracy": sum(correct) / len(correct) if correct else float("nan")}
