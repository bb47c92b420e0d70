"""Benchmarks by name, for `eval_benchmarks` during training."""

from __future__ import annotations

from .synthetic_report import evaluate_synthetic

AVAILABLE = ("synthetic",)


def check_benchmarks(names: str) -> list[str]:
    """The comma-separated names, each one this build can evaluate, or a clear error."""
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in AVAILABLE]
    if unknown:
        raise ValueError(f"eval_benchmarks: {unknown} cannot be evaluated by this build; available: {list(AVAILABLE)}")
    return chosen


def run_benchmarks(model, processor, names: str, data_root: str | None) -> dict[str, float]:
    """Flat `{"<benchmark>/<score>": percent}` for the named benchmarks, read from `data_root`."""
    scores = {}
    for name in check_benchmarks(names):
        if data_root is None:
            raise ValueError(f"eval_benchmarks={name!r} needs eval_data_root (for synthetic: the world's eval/ folder)")
        result = evaluate_synthetic(model, processor, data_root)
        scores.update({f"{name}/{key}": value for key, value in result["summary"].items()})
        scores.update({f"{name}/{key}": value for key, value in result["subsets"].items()})
    return scores
