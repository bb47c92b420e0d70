"""Benchmarks by name, for ``eval_benchmarks`` during training (``FSCTrainer`` calls these)."""

from __future__ import annotations

from .adapters import BENCHMARKS, MissingData, resolve_benchmarks
from .suite import evaluate_model, load_benchmark


def check_benchmarks(names: str, data_root: str | None) -> list[str]:
    """The benchmark names of ``names`` (comma-separated, groups expanded), checked before training.

    Reads each benchmark under ``data_root`` now, so that an unknown name, a missing ``data_root`` or
    missing data fails before the first step rather than at the first evaluation; the ``ValueError``
    names what to download and where.
    """
    if data_root is None:
        raise ValueError(f"eval_benchmarks={names!r} needs eval_data_root (for synthetic: the world or its eval/)")
    try:
        chosen = resolve_benchmarks(names)
    except ValueError as error:
        raise ValueError(f"eval_benchmarks: {error}") from None
    problems = benchmark_problems(chosen, data_root)
    if problems:
        raise ValueError(f"eval_benchmarks: no data for {sorted(problems)} under {data_root}:\n"
                         + "\n".join(problems.values()))
    return chosen


def benchmark_problems(names: list[str], data_root: str) -> dict[str, str]:
    """``{benchmark: what is missing and the download to make}`` for those of ``names`` (resolved
    benchmark names) whose data is absent under ``data_root``, wholly or in part, or cannot be read."""
    problems = {}
    for name in names:
        try:
            data = load_benchmark(name, data_root)
        except MissingData as missing:
            problems[name] = str(missing)
            continue
        except (OSError, ValueError) as error:  # a file that is there but cannot be read (not JSON, cut short)
            problems[name] = f"{BENCHMARKS[name].title}: unreadable ({error}); fetch it again"
            continue
        if data.missing:
            problems[name] = str(BENCHMARKS[name].missing(data_root, data.missing))
    return problems


def evaluate_benchmarks(model, processor, names: str, data_root: str | None, **options) -> dict:
    """The full results (:func:`~fsc_clip_hf.evaluation.suite.evaluate_model`'s dict) of the in-memory
    model on ``names``, checked first as :func:`check_benchmarks` does.

    ``options`` go to ``evaluate_model`` (model_name, batch_size, num_workers, device, show_progress;
    no progress bars by default). Every process of a distributed run must call this: the embedding
    work is split across them.
    """
    options.setdefault("show_progress", False)
    return evaluate_model(model, processor, check_benchmarks(names, data_root), data_root, **options)
