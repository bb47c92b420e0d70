"""Exact resume of a training stream, without decoding what was already trained on.

A DataLoader over an iterable dataset takes each batch from one worker's stream, round robin over the
workers that still have data. So the position of an epoch is, per worker, how many batches it gave
(``k_w``) and how many raw records its last batch reached (``r_w``): every decoded sample carries its
record index within its worker's stream (``POSITION_KEY``, set by ``sources.DecodeSamples``) and every
batch leaves the worker tagged with its worker row and last position (``STREAM_KEY``, set by
:class:`TaggedCollate`).

To resume, worker ``w`` first yields ``k_w * batch_size`` placeholders, which collate into cheap
placeholder batches, and its stream passes over its first ``r_w`` raw records undecoded. Each worker's
batch sequence keeps its length, so the round robin interleaves exactly as before, and the placeholder
batches are exactly the first ``sum(k_w)`` batches, the number the Trainer skips on resume
(``accelerate.skip_first_batches``).
"""

from __future__ import annotations

import torch

from .skips import MAX_ROWS, worker_row

POSITION_KEY = "__position__"  # on a decoded sample: 1 + its raw record index in its worker's stream
STREAM_KEY = "__stream__"  # on a batch: tensor([worker row, last position or -1])
PLACEHOLDER_KEY = "__placeholder__"  # a sample or batch that stands for one already trained on


class StreamSeek:
    """The resume plan of the current epoch, per worker row (0 without workers, 1 + id in worker id):
    how many raw records to pass over undecoded and how many placeholder samples to yield first.

    Lives in shared memory, so a plan set in the main process before an epoch's iterator is created
    reaches its workers, fork or spawn, persistent or not.
    """

    def __init__(self):
        self._plan = torch.zeros(MAX_ROWS, 2, dtype=torch.int64).share_memory_()

    def __deepcopy__(self, memo):
        return self  # datasets deep-copies pipelines; a copy must read the same plan

    def set(self, plan: dict[int, tuple[int, int]]) -> None:
        """``{worker row: (raw records to pass over, placeholder samples)}``; other rows start afresh."""
        self._plan.zero_()
        for row, (raw, placeholders) in plan.items():
            self._plan[row, 0], self._plan[row, 1] = raw, placeholders

    def clear(self) -> None:
        self._plan.zero_()

    def raw_records_to_skip(self) -> int:
        return int(self._plan[worker_row(), 0])

    def placeholders(self) -> int:
        return int(self._plan[worker_row(), 1])


class SeekableStream(torch.utils.data.IterableDataset):
    """``dataset`` (a ``datasets.IterableDataset`` decoded by ``DecodeSamples`` with the same ``seek``)
    preceded, in each worker, by the placeholders of the plan."""

    def __init__(self, dataset, seek: StreamSeek):
        self.dataset, self.seek = dataset, seek

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __iter__(self):
        placeholder = {PLACEHOLDER_KEY: True}
        for _ in range(self.seek.placeholders()):
            yield placeholder
        yield from self.dataset


class TaggedCollate:
    """Wraps a collator: placeholder samples become a placeholder batch, and every real batch is tagged
    with ``STREAM_KEY`` (worker row, last sample's position) for the Trainer to record."""

    def __init__(self, collate):
        self.collate = collate

    def __call__(self, samples: list[dict]) -> dict:
        if samples and samples[0].get(PLACEHOLDER_KEY):
            return {PLACEHOLDER_KEY: torch.ones(())}
        batch = self.collate(samples)
        position = samples[-1].get(POSITION_KEY, -1) if samples else -1
        batch[STREAM_KEY] = torch.tensor([worker_row(), position])
        return batch
