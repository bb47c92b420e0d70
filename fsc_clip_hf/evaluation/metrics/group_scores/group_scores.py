"""Winoground's text, image and group scores over 2x2 image-caption groups (Winoground, EqBen, ColorSwap,
MMVP-VLM), and MMVP-VLM's own pair score."""

import datasets
import evaluate

_DESCRIPTION = """
For two images and two captions, caption i describing image i, with s(c, i) the similarity:
text score: both images prefer their own caption, s(c0,i0) > s(c1,i0) and s(c1,i1) > s(c0,i1);
image score: both captions prefer their own image, s(c0,i0) > s(c0,i1) and s(c1,i1) > s(c1,i0);
group score: both at once. Strict inequalities: ties count as wrong.
image_ties_to_second: the image score as MMVP-VLM's evaluate_vlm.py settles ties: a caption picks the first
image only when it scores strictly higher (P(i0 | c) > 0.5 over the two), else the second;
s(c0,i0) > s(c0,i1) and s(c1,i1) >= s(c1,i0).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per group the four similarities
        [s(c0,i0), s(c0,i1), s(c1,i0), s(c1,i1)] (rows: captions, columns: images).
Returns:
    text, image, group, image_ties_to_second (`float`): fractions in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/group_scores")
    >>> metric.compute(predictions=[[0.9, 0.1, 0.2, 0.8]])
    {'text': 1.0, 'image': 1.0, 'group': 1.0, 'image_ties_to_second': 1.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class GroupScores(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("float64"))}),
        )

    def _compute(self, predictions):
        text = [c0i0 > c1i0 and c1i1 > c0i1 for c0i0, c0i1, c1i0, c1i1 in predictions]
        image = [c0i0 > c0i1 and c1i1 > c1i0 for c0i0, c0i1, c1i0, c1i1 in predictions]
        group = [t and i for t, i in zip(text, image)]
        ties_to_second = [c0i0 > c0i1 and c1i1 >= c1i0 for c0i0, c0i1, c1i0, c1i1 in predictions]
        count = len(predictions) or float("nan")
        return {"text": sum(text) / count, "image": sum(image) / count, "group": sum(group) / count,
                "image_ties_to_second": sum(ties_to_second) / count}
