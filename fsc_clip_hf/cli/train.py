"""`recipes/train.py`: parse and check the recipe, run the pre-flight, train, say where it all went."""

from __future__ import annotations

import logging
import sys

from .. import cpu_kernels
from ..training.recipe_files import peek_recipe
from .console import refuse, setup_logging

logger = logging.getLogger(__name__)

EXIT_FAILED = 1  # the run started and could not do what it was asked (EXIT_MISSING, 2: refused before it)


def train_main(argv: list[str] | None = None, recipes_dir: str | None = None) -> None:
    """`recipes/train.py`: parse and check the recipe, run the pre-flight, train, say where it all went.

    Exits 2 when the recipe is wrong or a piece is missing (the pre-flight's table says which and how
    to get it); with `--dry_run`, after the pre-flight (0 when everything is in place). A bare recipe name
    is looked for in ``recipes_dir`` (the script's folder), then ``./recipes``.
    """
    # Before anything imports torch: the kernels of cpu_kernels: portable are chosen when torch loads.
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        unpinned = cpu_kernels.pin(cpu_kernels.requested(argv, peek_recipe(argv, recipes_dir)))
    except ValueError:  # not one of its choices: parsing the command says so, naming where it was set
        unpinned = None
    from ..data.skips import UnusableData
    from ..release.hub import PushFailed
    from ..training.preflight import EXIT_MISSING, precision_check, run_preflight
    from ..training.recipes import PrecisionUnavailable, RecipeError, parse_command, resolved_recipe

    extra = []
    try:
        try:
            command = parse_command(argv, recipes_dir)
        except PrecisionUnavailable as error:
            # Everything else is still checked, so that one run lists every missing piece.
            command = parse_command([*(argv or []), "--bf16", "false"], recipes_dir)
            extra.append(precision_check(error))
    except (RecipeError, FileNotFoundError) as error:
        refuse(f"error: {error}", EXIT_MISSING)
    if command.print_config:
        print(resolved_recipe(command), end="")
        return
    args = command.args
    setup_logging(args)
    if args.cpu_kernels == "portable":
        if unpinned:
            logger.warning("cpu_kernels: portable not applied: %s", unpinned)
        else:
            logger.info("CPU kernels pinned (cpu_kernels: portable): %s", cpu_kernels.in_use())
    preflight = run_preflight(args, extra)
    if args.should_log:
        print(preflight.table(), flush=True)
    if preflight.missing:
        sys.exit(EXIT_MISSING)
    if command.dry_run:
        return
    try:
        _train(args)
    except (UnusableData, PushFailed) as error:
        refuse(f"error: {error}", EXIT_FAILED)
    finally:
        if preflight.lock is not None:
            preflight.lock.release()


def _train(args) -> None:
    if args.model_name_or_path == "synthetic":
        from ..training.demo import run_demo

        results = run_demo(args)
        if args.should_log:
            finals = [path for name, result in results.items() if name != "pretrained"
                      for path in result["checkpoints"].values()]
            print(f"results: {args.output_dir}/demo_results.md (and .json, demo_comp_vs_zs.png); each model's "
                  f"report in {args.output_dir}/eval/<model>/; final model{'s' * (len(finals) > 1)}: "
                  f"{', '.join(finals)}", flush=True)
        return
    from ..training.pipeline import run_training, save_final

    trainer = run_training(args)
    folder = save_final(trainer)
    if folder is not None:
        print(results_line(args, folder), flush=True)


def results_line(args, folder: str) -> str:
    """Where a run's results went, printed at its end."""
    import os

    parts = [f"final model: {folder}"]
    if os.path.exists(os.path.join(folder, "results.json")):
        parts.append(f"evaluation: {os.path.join(folder, 'eval', 'results.md')}")
    parts.append(f"checkpoints: {args.output_dir}")
    if "tensorboard" in (args.report_to or []):
        parts.append(f"logs: tensorboard --logdir {os.path.join(args.output_dir, 'runs')}")
    if args.push_to_hub:
        parts.append(f"Hub: {args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir))}")
    return "results: " + "; ".join(parts)
