"""`recipes/train.py` killed right after an optimiser step, for the resume tests, also under torchrun:
`python tests/helpers/stopped_train.py STEP <recipes/train.py options>`. Every process leaves at once (no
clean-up, as under a kill) when step STEP ends, after the checkpoints of the steps before it were written."""

import os
import sys
from pathlib import Path

from transformers import TrainerCallback

from fsc_clip_hf.cli.train import train_main
from fsc_clip_hf.training import pipeline

STOPPED = 3  # the exit status of a stopped process


class _Stop(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os._exit(STOPPED)


class _StoppedTrainer(pipeline.FSCTrainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_callback(_Stop(int(sys.argv[1])))


if __name__ == "__main__":
    pipeline.FSCTrainer = _StoppedTrainer
    train_main(sys.argv[2:], recipes_dir=str(Path(__file__).resolve().parents[2] / "recipes"))
