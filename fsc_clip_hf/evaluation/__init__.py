"""Evaluation of CLIP checkpoints on the FSC-CLIP benchmark suite.

* :func:`evaluate_model` scores an in-memory model on benchmarks read from ``data_root``
  (``fsc_clip_hf.evaluation.suite``); :func:`write_report` writes ``results.json``, ``results.md``
  and ``comp_vs_zs.png``;
* :func:`check_benchmarks` / :func:`evaluate_benchmarks` serve ``eval_benchmarks`` during training and
  on the final model (:func:`flat_scores` flattens results for logging);
* ``recipes/eval.py`` (``fsc_clip_hf.evaluation.cli``) evaluates a checkpoint from the command line.

Layers: ``images`` / ``items`` (what a test item is), ``embedding`` (batched, cached, multi-process
embedding), ``scoring`` (the four scoring shapes), ``metrics`` (``evaluate`` modules), ``adapters``
(one per benchmark), ``suite`` (running and summarising), ``report``.
"""

from .benchmarks import check_benchmarks, evaluate_benchmarks
from .report import write_report
from .suite import evaluate_model, flat_scores

__all__ = ["check_benchmarks", "evaluate_benchmarks", "evaluate_model", "flat_scores", "write_report"]
