"""The evaluation metrics, as Hugging Face ``evaluate`` modules shipped inside the package.

Each lives in ``metrics/<name>/<name>.py`` and is loaded by its local path with ``evaluate.load``, so
nothing is fetched from the Hub (it works with ``HF_HUB_OFFLINE=1``):

* ``multiple_choice_accuracy``: the true option wins, ties settled strictly or argmax-first (both choice shapes);
* ``group_scores``: Winoground's text / image / group scores of 2×2 groups (and MMVP-VLM's pair score);
* ``paraphrase_scores``: SugarCrepe++'s ITT and TOT of (image, two positives, one negative) triples;
* ``retrieval_recall``: Recall@K of rankings;
* ``zeroshot_accuracy``: top-1 / top-5 of class rankings;
* ``zeroshot_mean_per_class``, ``zeroshot_map_11point``, ``zeroshot_roc_auc``: ELEVATER's other task metrics
  (mean per-class accuracy, 11-point mAP of a multi-label task, ROC-AUC of a binary one).

They return fractions (``evaluate``'s convention); the scoring layer reports percentages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

METRICS_DIR = Path(__file__).resolve().parent
METRIC_NAMES = ("multiple_choice_accuracy", "group_scores", "paraphrase_scores", "retrieval_recall",
                "zeroshot_accuracy", "zeroshot_mean_per_class", "zeroshot_map_11point", "zeroshot_roc_auc")


def metric_path(name: str) -> str:
    """The local directory of metric ``name`` (what ``evaluate.load`` takes)."""
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}; known: {METRIC_NAMES}")
    return str(METRICS_DIR / name)


@cache
def load_metric(name: str):
    """The ``evaluate`` module of metric ``name``, loaded once per process and kept in memory
    (no Arrow cache files, so concurrent processes never share a lock)."""
    import evaluate

    return evaluate.load(metric_path(name), keep_in_memory=True)
