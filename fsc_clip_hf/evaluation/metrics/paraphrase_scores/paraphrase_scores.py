"""SugarCrepe++'s ITT and TOT scores of (image, two positive captions, one negative) triples."""

import datasets
import evaluate

_DESCRIPTION = """
For an image I, two captions P1 and P2 that describe it in different words and a hard negative N, with
cos the cosine similarity of normalised embeddings (SugarCrepe++'s VLMs/test_*.py):
itt (image-to-text): cos(I,P1) > cos(I,N) and cos(I,P2) > cos(I,N);
tot (text-only): cos(P1,P2) > cos(P1,N) and cos(P1,P2) > cos(P2,N).
Strict inequalities: ties count as wrong.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per triple the six similarities
        [cos(I,P1), cos(I,P2), cos(I,N), cos(P1,P2), cos(P1,N), cos(P2,N)].
Returns:
    itt, tot (`float`): fractions in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/paraphrase_scores")
    >>> metric.compute(predictions=[[0.3, 0.25, 0.2, 0.9, 0.5, 0.6]])
    {'itt': 1.0, 'tot': 1.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ParaphraseScores(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("float64"))}),
        )

    def _compute(self, predictions):
        itt = [i_p1 > i_n and i_p2 > i_n for i_p1, i_p2, i_n, _, _, _ in predictions]
        tot = [p1_p2 > p1_n and p1_p2 > p2_n for _, _, _, p1_p2, p1_n, p2_n in predictions]
        count = len(predictions) or float("nan")
        return {"itt": sum(itt) / count, "tot": sum(tot) / count}
