"""`recipes/train.py`: parse and check the recipe, run the pre-flight, train, say where it all went."""

from __future__ import annotations

import sys

from .console import refuse, setup_logging

EXIT_FAILED = 1  # the run started and could not do what it was asked (EXIT_MISSING, 2: refused before it)


def train_main(argv: list[str] | None = None, recipes_dir: str | None = None) -> None:
    """`recipes/train.py`: parse and check the recipe, run the pre-flight, train, say where it all went.

    Exits 2 when the recipe is wrong or a piece is missing (the pre-flight's table says which and how
    to get it); with `--dry_run`, after the pre-flight (0 when everything is in place). A bare recipe name
    is looked for in ``recipes_dir`` (the script's folder), then ``./recipes``.
    """
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
