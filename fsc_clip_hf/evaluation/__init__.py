"""Evaluation of CLIP checkpoints on the FSC-CLIP benchmark suite.

* :func:`evaluate_model` scores an in-memory model on benchmarks read from ``data_root``
  (``fsc_clip_hf.evaluation.suite``); :func:`write_report` writes ``results.json``, ``results.md``
  and ``comp_vs_zs.png``;
* :func:`check_benchmarks` / :func:`evaluate_benchmarks` serve ``eval_benchmarks`` during training and
  on the final model (:func:`flat_scores` flattens results for logging);
* ``recipes/eval.py`` (``fsc_clip_hf.cli.evaluate``) evaluates a checkpoint from the command line.

Layers: ``images`` / ``items`` (what a test item is), ``embedding`` (batched, cached, multi-process
embedding), ``scoring`` (the four scoring shapes), ``metrics`` (``evaluate`` modules and the zero-shot
metrics), ``adapters`` (one per benchmark), ``suite`` (running and summarising), ``report``.
"""

from ..lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "check_benchmarks": "benchmarks",
    "evaluate_benchmarks": "benchmarks",
    "write_report": "report",
    "evaluate_model": "suite",
    "flat_scores": "suite",
})
