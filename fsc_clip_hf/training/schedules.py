"""The learning-rate schedule of the authors' runs (`warmup_style: authors`).

open_clip's `cosine_lr` sets, before optimiser step s (0-based), `lr · (s+1) / warmup` during the
warm-up and then `lr · ½ (1 + cos(π (s - warmup) / (total - warmup)))`. transformers' cosine schedule
is the same after the warm-up but warms up as `lr · s / warmup`, so its first step has lr 0 and every
warm-up step lags the authors' by one.

open_clip indexes the schedule by the step, so a step the fp16 loss scaler skips (an overflow) still
moves the learning rate on; transformers' Trainer does not step its scheduler after a skipped step.
`ScheduleFollowsGlobalStep` restores the authors' behaviour for their schedule.
"""

from __future__ import annotations

import math

from torch.optim.lr_scheduler import LambdaLR
from transformers import TrainerCallback

WARMUP_STYLES = ("authors", "transformers")


def open_clip_cosine_schedule(optimizer, num_warmup_steps: int, num_training_steps: int) -> LambdaLR:
    """open_clip's `cosine_lr` as a `LambdaLR` (its state, the step, is saved in checkpoints)."""

    def factor(step: int) -> float:
        if step < num_warmup_steps:
            return (step + 1) / num_warmup_steps
        progress = (step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


class ScheduleFollowsGlobalStep(TrainerCallback):
    """Steps the scheduler up to the global step after an optimiser step the loss scaler skipped."""

    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        while lr_scheduler is not None and lr_scheduler.last_epoch < state.global_step:
            lr_scheduler.step()
