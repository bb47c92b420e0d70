"""Trainer hook for the data path: the collator's epoch, and the bad-data summary at each epoch end."""

from __future__ import annotations

import logging

from transformers import TrainerCallback

from .skips import SkipStats, difference, format_counts

logger = logging.getLogger(__name__)


class DataEpochCallback(TrainerCallback):
    """Sets ``dataset.set_epoch(e)`` and ``collator.set_epoch(e)`` before each epoch and logs the
    samples skipped or repaired during the epoch, per reason, on every process.

    Epochs are counted here rather than read from ``state.epoch``, which is a float that only
    approximates the epoch for streaming data of unknown length.
    """

    def __init__(self, skip_stats: SkipStats, collator=None, dataset=None):
        self.skip_stats, self.collator, self.dataset = skip_stats, collator, dataset
        self.epoch = 0
        self._start: dict[str, int] = {}  # counts at the start of the current epoch
        self._begin: dict[str, int] = {}  # counts at the start of training

    def on_train_begin(self, args, state, control, **kwargs):
        self.epoch = int(state.epoch or 0)
        self._start = self._begin = self.skip_stats.snapshot()

    def on_epoch_begin(self, args, state, control, **kwargs):
        # The stream reshuffles and the collator draws fresh negatives each epoch.
        for target in (self.dataset, self.collator):
            if target is not None:
                target.set_epoch(self.epoch)

    def on_epoch_end(self, args, state, control, **kwargs):
        now = self.skip_stats.snapshot()
        logger.info("data, epoch %d, process %d: %s", self.epoch, args.process_index,
                    format_counts(difference(now, self._start)))
        self._start = now
        self.epoch += 1

    def on_train_end(self, args, state, control, **kwargs):
        logger.info("data, whole run, process %d: %s", args.process_index,
                    format_counts(difference(self.skip_stats.snapshot(), self._begin)))
