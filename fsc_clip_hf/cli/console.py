"""What the commands print: logs that say what was loaded, from where, with which options, each record
once; and refusals, one message and an exit status, no traceback."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

DATA_LINE_LOGGER = "fsc_clip_hf.data.callbacks"
# Libraries that print through their own handler: their records must not reach ours a second time.
OWN_HANDLER_LIBRARIES = ("huggingface_hub", "transformers", "datasets", "accelerate", "evaluate")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(args) -> None:
    """Logging of a training run (``FSCTrainingArguments``' log levels)."""
    import transformers

    level = args.get_process_log_level()
    # transformers' "passive" default keeps its own logs at WARNING; ours say what was loaded, from where
    # and with which options, so the main process shows them unless a log_level is chosen.
    ours = logging.INFO if args.log_level == "passive" and args.should_log else level
    logging.basicConfig(format=FORMAT, datefmt="%H:%M:%S", level=ours)
    transformers.utils.logging.set_verbosity(level)
    logging.getLogger("fsc_clip_hf").setLevel(ours)
    # Each process reads its own part of the data: each logs its epoch line (samples seen, skipped by reason).
    logging.getLogger(DATA_LINE_LOGGER).setLevel(logging.INFO if args.log_level == "passive" else level)
    quiet_library_propagation()


def quiet_library_propagation() -> None:
    """Libraries with their own handler print each record once: through it, not again through the root
    handler that ``logging.basicConfig`` installed (huggingface_hub propagates by default)."""
    for name in OWN_HANDLER_LIBRARIES:
        library = logging.getLogger(name)
        if library.handlers:
            library.propagate = False


def setup_command_logging(verbose: bool = True) -> None:
    """Logging of the other commands: ours at INFO (WARNING when not ``verbose``, e.g. a process other than
    the main one), each library's records once."""
    logging.basicConfig(format=FORMAT, datefmt="%H:%M:%S", level=logging.INFO if verbose else logging.WARNING)
    quiet_library_propagation()


def refuse(message: str, status: int) -> NoReturn:
    """End the command with ``message`` and ``status``, no traceback. Refusals print on standard output:
    `accelerate launch` repeats its child's standard error in its own error, which would show them twice."""
    print(message, flush=True)
    sys.exit(status)
