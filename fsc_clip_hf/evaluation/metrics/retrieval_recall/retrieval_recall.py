"""Recall@K for retrieval: does any relevant item appear among the K best-ranked ones?"""

import datasets
import evaluate

_DESCRIPTION = """
For each query (an image looking for its captions, or a caption looking for its image), the fraction of
queries with at least one relevant item among the top K of its ranking.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`): per query the indices of the gallery ranked best first
        (at least max(k_values) of them).
    references (`list` of `list` of `int`): per query the indices of its relevant gallery items.
    k_values (`list` of `int`, default [1, 5, 10]): the cut-offs.
Returns:
    recall@K (`float`) for each K: fraction in [0, 1].
Examples:
    >>> metric = evaluate.load("fsc_clip_hf/evaluation/metrics/retrieval_recall")
    >>> metric.compute(predictions=[[2, 0], [1, 2]], references=[[0], [2, 3]], k_values=[1, 2])
    {'recall@1': 0.0, 'recall@2': 1.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RetrievalRecall(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("int64")),
                    "references": datasets.Sequence(datasets.Value("int64")),
                }
            ),
        )

    def _compute(self, predictions, references, k_values=(1, 5, 10)):
        relevant = [set(items) for items in references]
        count = len(predictions) or float("nan")
        return {
            f"recall@{k}": sum(bool(relevant_set.intersection(ranked[:k]))
                               for ranked, relevant_set in zip(predictions, relevant)) / count
            for k in k_values
        }
