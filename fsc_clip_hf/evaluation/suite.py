"""Evaluating one model on a set of benchmarks, and summarising it in the seed's terms.

:func:`evaluate_model` is the entry point for scripts and for the trainer (through
:func:`fsc_clip_hf.evaluation.benchmarks.evaluate_benchmarks`). It never stops half way: a benchmark whose
data is absent is listed under ``missing`` with the download to make, one that fails is listed under
``failed``, and the others are scored. The returned dict (``results.json``) extends the layout that
``fsc_clip_hf.release.model_card`` reads::

    {
      "model": "<name or path>",
      "summary":   {"comp", "zs", "i2t_r1", "t2i_r1", "i2t_r5", ..., "comp12"},  # published suite, covered only
      "coverage":  {"comp": {"evaluated": 9, "of": 11}, "zs": {...}, "retrieval": {...}, "comp12": {...}},
      "benchmarks": {"ARO": 85.1, ...},          # Comp benchmarks by title
      "zeroshot":  {"imagenet1k": 63.1, ...},     # each task's ELEVATER metric
      "retrieval": {"coco": {"i2t_r1": ..., ...}, "flickr30k": {...}},
      "details":   {name: {"title", "family", "suite", "score", "figures", "subsets": {...}, "items", "skipped",
                           "counts": {subset: {"items": n, "skipped": {reason: k}}}, "item_set", "notes"}},
      "synthetic": {"summary": {...}, "coverage": {...}},   # when the synthetic world was evaluated
      "missing":   {name: "what to download and where"},
      "failed":    {name: "error"},
    }

Comp is the mean of the Comp benchmarks' headline scores, Comp-12 the mean of the companion study's 12
(``adapters.COMP12``: Comp's without SPEC, plus ColorSwap and MMVP-VLM; its ``comp_avg``), ZS the mean of
the zero-shot tasks' scores (each its ELEVATER metric), I2T / T2I Ret the mean Recall@1 of the retrieval sets; ``coverage`` says how
many of each were there. A partially present benchmark (``missing`` says which parts) has its subsets
scored but no headline, so it does not count in the averages. A benchmark left with nothing to score
(every image unreadable, every record malformed) is ``failed``, never a NaN: ``results.json`` is always
valid JSON.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache

from tqdm.auto import tqdm

from .adapters import BENCHMARKS, COMP12, MissingData, family_size, resolve_benchmarks
from .adapters.base import mean
from .adapters.retrieval import RECALLS
from .embedding import CLIPEmbedder
from .failures import Failures
from .items import BenchmarkData
from .scoring import drop_unreadable, score_benchmark

logger = logging.getLogger(__name__)


@lru_cache(maxsize=64)
def load_benchmark(name: str, data_root: str) -> BenchmarkData:
    """A benchmark's test items, read once per process: evaluations during training reuse them."""
    return BENCHMARKS[name].load(data_root)


def evaluate_model(model, processor, benchmarks="all", data_root: str = ".", *, model_name: str | None = None,
                   batch_size: int = 64, num_workers: int = 0, device=None, show_progress: bool = True,
                   on_failures=None) -> dict:
    """Score ``model`` on ``benchmarks`` (names or groups, comma-separated or a list) read from ``data_root``.

    Args:
        model: a ``CLIPModel``-compatible model (in memory; it is put in eval mode and restored).
        processor: its ``CLIPProcessor``.
        model_name: recorded in the results (defaults to the model's ``name_or_path``).
        batch_size, num_workers, device: see :class:`~fsc_clip_hf.evaluation.embedding.CLIPEmbedder`.
        show_progress: progress bars on the main process.
        on_failures: called as ``on_failures(name, record, failures)`` after each benchmark scored, with its
            ``details`` record and its wrong items (:class:`~fsc_clip_hf.evaluation.failures.Failures`);
            ``recipes/eval.py --html`` writes their pages with it.

    Returns:
        the results dict of the module docstring (scores in percent).

    In a distributed run (torchrun, ``accelerate launch``, a DDP Trainer) every process must call this
    with the same arguments: the embedding work is split across them and gathered.
    """
    names = resolve_benchmarks(benchmarks)
    embedder = CLIPEmbedder(model, processor, batch_size=batch_size, num_workers=num_workers, device=device,
                            show_progress=show_progress)
    config = getattr(model, "config", None)
    results: dict = {"model": model_name or getattr(config, "name_or_path", None) or type(model).__name__,
                     "details": {}, "missing": {}, "failed": {}}
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        progress = tqdm(names, desc="benchmarks", disable=not embedder.show_progress)
        for name in progress:
            progress.set_postfix_str(name)
            failures = Failures() if on_failures is not None else None
            record = _evaluate_one(name, data_root, embedder, results, failures)
            if record is not None:
                results["details"][name] = record
                if on_failures is not None:
                    on_failures(name, record, failures)
    finally:
        if was_training:
            model.train()
    _summarise(results)
    return results


class NothingToScore(Exception):
    """Every item of a benchmark was skipped (unreadable images, malformed records): it is failed."""


def _evaluate_one(name: str, data_root: str, embedder: CLIPEmbedder, results: dict,
                  failures: Failures | None = None) -> dict | None:
    benchmark = BENCHMARKS[name]
    try:
        data = drop_unreadable(load_benchmark(name, data_root), embedder, name)
        if data.is_empty():
            raise NothingToScore("no item left to score; " + "; ".join(data.skips.notes() + data.notes))
        scores = score_benchmark(data, embedder, failures)
        subsets, score = benchmark.summarise(scores)
        if score is not None and not math.isfinite(score):
            raise NothingToScore(f"its score is not a number ({score}); subsets: {subsets}")
        # A value that cannot exist (top-5 of a 2-class task) is absent: None, as JSON has no NaN.
        subsets = {subset: value if value is None or math.isfinite(value) else None for subset, value in subsets.items()}
    except MissingData as missing:
        logger.warning("%s: data missing. %s", name, missing)
        results["missing"][name] = str(missing)
        return None
    except NothingToScore as error:
        logger.error("%s failed: %s", name, error)
        results["failed"][name] = str(error)
        return None
    except Exception as error:  # noqa: BLE001 - one broken benchmark must not end a long evaluation
        logger.exception("%s failed", name)
        results["failed"][name] = f"{type(error).__name__}: {error}"
        return None
    if data.missing:
        # Partial data: its subsets are shown, but a headline over part of a benchmark would mislead.
        score = None
        results["missing"][name] = "partial; " + str(benchmark.missing(data_root, data.missing))
    if score is not None:
        shown = f"{score:.2f}"
    elif benchmark.family == "retrieval" and not data.missing:  # no headline: its two R@1 are the columns
        shown = ", ".join(f"{recall} {subsets[recall]:.2f}" for recall in ("i2t_r1", "t2i_r1"))
    else:
        shown = "n/a"
    logger.info("%s: %s (%d items, %d skipped)", name, shown, data.item_count(), data.skips.total())
    figures = {key: None if score is None else value for key, value in benchmark.figures(subsets).items()}
    return {"title": benchmark.title, "family": benchmark.family, "suite": benchmark.suite, "score": score,
            "figures": figures, "subsets": subsets, "items": data.item_count(), "skipped": data.skips.total(),
            "counts": subset_counts(scores, data.skips), "item_set": data.item_set,
            "notes": [*data.notes, *data.skips.notes()]}


def subset_counts(scores: dict[str, dict], skips) -> dict[str, dict]:
    """``{subset: {"items": scored, "skipped": {reason: count}}}`` for every subset the engine scored or
    skipped items of (a gallery or a zero-shot task counts images)."""
    subsets = list(dict.fromkeys([*scores, *skips.counts]))
    return {subset: {"items": int(scores.get(subset, {}).get("count", 0)),
                     "skipped": dict(sorted(skips.counts.get(subset, {}).items()))} for subset in subsets}


def summarise_suite(details: dict, suite: str) -> tuple[dict[str, float], dict[str, dict[str, int]]]:
    """``(summary, coverage)`` of one suite from the per-benchmark records."""
    records = [r for r in details.values() if r["suite"] == suite]
    comp = [r["score"] for r in records if r["family"] == "comp" and r["score"] is not None]
    zs = [r["score"] for r in records if r["family"] == "zs" and r["score"] is not None]
    retrieval = [r["subsets"] for r in records if r["family"] == "retrieval" and r["subsets"]]
    summary = {}
    if comp:
        summary["comp"] = mean(comp)
    if zs:
        summary["zs"] = mean(zs)
    if retrieval:
        summary.update({recall: mean(sets[recall] for sets in retrieval) for recall in RECALLS})
    coverage = {family: {"evaluated": count, "of": family_size(suite, family)}
                for family, count in (("comp", len(comp)), ("zs", len(zs)), ("retrieval", len(retrieval)))}
    if suite == "published":
        comp12 = [details[name]["score"] for name in COMP12 if name in details and details[name]["score"] is not None]
        if comp12:
            summary["comp12"] = mean(comp12)
        coverage["comp12"] = {"evaluated": len(comp12), "of": len(COMP12)}
    return summary, coverage


def _summarise(results: dict) -> None:
    details = results["details"]
    published = {name: r for name, r in details.items() if r["suite"] == "published"}
    results["summary"], results["coverage"] = summarise_suite(details, "published")
    results["benchmarks"] = {r["title"]: r["score"] for r in published.values()
                             if r["family"] == "comp" and r["score"] is not None}
    results["zeroshot"] = {name: r["score"] for name, r in published.items()
                           if r["family"] == "zs" and r["score"] is not None}
    results["retrieval"] = {name: r["subsets"] for name, r in published.items() if r["family"] == "retrieval"}
    if any(r["suite"] == "synthetic" for r in details.values()):
        summary, coverage = summarise_suite(details, "synthetic")
        results["synthetic"] = {"summary": summary, "coverage": coverage}


def flat_scores(results: dict) -> dict[str, float]:
    """One level of ``{name: percent}`` for logging: the summary columns (the synthetic suite's under
    ``synthetic/``), each benchmark's score under its name, its subsets under ``<name>/<subset>`` and its
    named figures under ``<name>/<figure>``."""
    flat = dict(results["summary"])
    flat.update({f"synthetic/{key}": value for key, value in results.get("synthetic", {}).get("summary", {}).items()})
    for name, record in results["details"].items():
        if record["score"] is not None:
            flat[name] = record["score"]
        flat.update({f"{name}/{subset}": value for subset, value in record["subsets"].items()})
        flat.update({f"{name}/{key}": value for key, value in record["figures"].items() if value is not None})
    return flat
