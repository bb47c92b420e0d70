"""Trainer hook for the data path: the epoch of the stream and the collator, where each epoch started
and how far each DataLoader worker got in it (for exact resume), and the bad-data summary per epoch."""

from __future__ import annotations

import logging

from transformers import TrainerCallback

from .resume import StreamSeek
from .skips import SkipStats, UnusableData, difference, format_counts, skipped_count

logger = logging.getLogger(__name__)


class DataEpochCallback(TrainerCallback):
    """Sets ``dataset.set_epoch(e)`` and ``collator.set_epoch(e)`` before each epoch, keeps the position
    of the epoch (its first global step; per worker row, the batches taken and the raw position reached)
    and logs the samples skipped or repaired during the epoch, per reason, on every process.

    Epochs are counted here rather than read from ``state.epoch``: for a stream of unknown length the
    Trainer runs as many passes as ``max_steps`` needs and ``state.epoch`` only approximates them.
    ``state_dict`` / ``load_state_dict`` carry all of it through a checkpoint (``FSCTrainer`` writes it
    per process), and a resumed epoch seeks its stream back to the recorded position (``seek``).

    An epoch that skipped more than ``max_skipped_fraction`` of its samples stops the run at its end
    (:class:`UnusableData`, naming ``source`` and the counts); one that skipped fewer, but some, warns. The
    epoch a resume began in is not judged: only its part after the resume is counted here.
    """

    def __init__(self, skip_stats: SkipStats | None = None, collator=None, dataset=None,
                 seek: StreamSeek | None = None, max_skipped_fraction: float = 1.0, source: str = "the training data"):
        self.skip_stats = skip_stats or SkipStats()
        self.collator, self.dataset, self.seek = collator, dataset, seek
        self.max_skipped_fraction, self.source = max_skipped_fraction, source
        self.epoch = 0
        self.epoch_start_step = 0
        self.workers: dict[int, list[int]] = {}  # worker row -> [batches taken, last raw position or -1]
        self._start: dict[str, int] = {}  # counts at the start of the current epoch
        self._begin: dict[str, int] = {}  # counts at the start of training
        self._restored = False  # the position came from a checkpoint; its epoch is not yet begun
        self._partial_epoch = False  # the current epoch began before the resume: its counts are partial
        self._resumed_run = False

    # ---------------------------------------------------------------- position, for checkpoints

    def batch_consumed(self, row: int, position: int) -> None:
        """One batch of worker ``row``, whose last sample was raw record ``position`` (-1: unknown)."""
        taken, _ = self.workers.get(row, (0, -1))
        self.workers[row] = [taken + 1, position]

    @property
    def batches_this_epoch(self) -> int:
        return sum(taken for taken, _ in self.workers.values())

    def state_dict(self, args) -> dict:
        return {"epoch": self.epoch, "epoch_start_step": self.epoch_start_step,
                "workers": {str(row): value for row, value in self.workers.items()},
                "num_workers": args.dataloader_num_workers, "batch_size": args.per_device_train_batch_size,
                "world_size": args.world_size, "process_index": args.process_index}

    def load_state_dict(self, state: dict, args) -> bool:
        """Take up the position of a checkpoint. Returns False (and warns) when the run's layout differs
        (workers, batch size, processes), so the recorded positions cannot apply."""
        layout = {"num_workers": args.dataloader_num_workers, "batch_size": args.per_device_train_batch_size,
                  "world_size": args.world_size, "process_index": args.process_index}
        changed = {key: (state.get(key), value) for key, value in layout.items() if state.get(key) != value}
        self.epoch, self.epoch_start_step = int(state["epoch"]), int(state["epoch_start_step"])
        self._restored = True
        if changed:
            logger.warning("resuming with a different data layout (%s): epoch %d is restarted from its beginning, "
                           "the batches it already trained on are seen again",
                           ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items()), self.epoch)
            self.workers = {}
            return False
        self.workers = {int(row): list(value) for row, value in state["workers"].items()}
        return True

    def resume_plan(self, batch_size: int) -> dict[int, tuple[int, int]] | None:
        """Per worker row (raw records to pass over, placeholder samples) for the resumed epoch, or None
        when some batch came without a position (a stream that cannot seek: its batches are replayed)."""
        if any(position < 0 for _, position in self.workers.values()):
            return None
        return {row: (position, taken * batch_size) for row, (taken, position) in self.workers.items()}

    # ---------------------------------------------------------------- Trainer events

    def on_train_begin(self, args, state, control, **kwargs):
        self._resumed_run = self._restored
        if not self._restored:
            self.epoch = int(state.epoch or 0)
        self._start = self._begin = self.skip_stats.snapshot()

    def on_epoch_begin(self, args, state, control, **kwargs):
        resumed, self._restored = self._restored, False
        if not resumed or args.ignore_data_skip:  # a fresh epoch (ignore_data_skip: the resumed one restarts)
            self.epoch_start_step, self.workers = state.global_step, {}
        self._partial_epoch = bool(self.workers)
        if self.seek is not None:
            plan = self.resume_plan(args.per_device_train_batch_size) if self.workers else None
            self.seek.set(plan) if plan else self.seek.clear()
        # The stream reshuffles and the collator draws fresh negatives each epoch.
        for target in (self.dataset, self.collator):
            if target is not None:
                target.set_epoch(self.epoch)

    def on_epoch_end(self, args, state, control, **kwargs):
        now = self.skip_stats.snapshot()
        counts = difference(now, self._start)
        line = (f"data, epoch {self.epoch}{' (since the resume)' if self._partial_epoch else ''}, process "
                f"{args.process_index}: {format_counts(counts)}")
        skipped = skipped_count(counts)
        # An epoch begun before a resume is seen only in part here: its share could mislead either way.
        if counts["seen"] and not self._partial_epoch and skipped > self.max_skipped_fraction * counts["seen"]:
            raise UnusableData(f"{self.source}: more than max_skipped_fraction={self.max_skipped_fraction:g} of the "
                               f"samples were skipped, so the run stops ({line})")
        (logger.warning if skipped else logger.info)(line)
        self._partial_epoch = False
        self._start = now
        # A checkpoint written now (save_strategy "epoch") resumes at the start of the next epoch.
        self.epoch += 1
        self.epoch_start_step, self.workers = state.global_step, {}

    def on_train_end(self, args, state, control, **kwargs):
        if self.seek is not None:
            self.seek.clear()
        logger.info("data, whole run%s, process %d: %s", " (since the resume)" if self._resumed_run else "",
                    args.process_index,
                    format_counts(difference(self.skip_stats.snapshot(), self._begin)))
