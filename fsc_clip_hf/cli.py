"""Command-line entry points (the scripts in recipes/ are thin wrappers around these)."""

from __future__ import annotations

import logging

import transformers

from .configs import parse_args


def setup_logging(args) -> None:
    level = args.get_process_log_level()
    # transformers' "passive" default keeps its own logs at WARNING; ours say what was loaded, from where
    # and with which options, so the main process shows them unless a log_level is chosen.
    ours = logging.INFO if args.log_level == "passive" and args.should_log else level
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", level=ours)
    transformers.utils.logging.set_verbosity(level)
    logging.getLogger("fsc_clip_hf").setLevel(ours)


def train_main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args)
    if args.model_name_or_path == "synthetic":
        from .demo import run_demo

        run_demo(args)
        return
    from .pipeline import run_training, save_final

    trainer = run_training(args)
    save_final(trainer)
