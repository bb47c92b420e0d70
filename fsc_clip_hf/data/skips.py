"""Bad-data accounting: typed reasons, shared per-reason counters, and the epoch-end log line.

Every sample that is dropped (undecodable image, empty caption, ...) or repaired (grayscale image
converted, caption re-decoded) is counted under one reason from ``REASONS``. Counting happens in
DataLoader worker processes, so the counters live in shared memory: the main process reads what
its workers counted without any message passing.
"""

from __future__ import annotations

import logging

import torch
from torch.utils.data import get_worker_info

logger = logging.getLogger(__name__)

# reason -> (kind, what it means). "skipped": the sample is dropped; "repaired": it is kept after a fix.
REASONS: dict[str, tuple[str, str]] = {
    "missing_image": ("skipped", "the sample has no image"),
    "missing_file": ("skipped", "the image file does not exist"),
    "path_outside_root": ("skipped", "the image path is absolute or leaves its root (allow_paths_outside_root)"),
    "not_a_file": ("skipped", "the image path is a device, FIFO, socket or folder, not a regular file"),
    "file_too_large": ("skipped", "the image file or tar member is over the size cap"),
    "empty_file": ("skipped", "the image file or tar member has no bytes"),
    "unreadable_file": ("skipped", "the image file exists but could not be read"),
    "undecodable_image": ("skipped", "the bytes are not an image PIL can decode"),
    "truncated_image": ("skipped", "the image data ends early"),
    "image_too_small": ("skipped", "a side of the image is below the minimum"),
    "decompression_bomb": ("skipped", "the declared pixel count is above the cap"),
    "missing_caption": ("skipped", "the sample has no caption text"),
    "empty_caption": ("skipped", "the caption is empty or only whitespace"),
    "undecodable_caption": ("skipped", "the caption bytes are in no known text encoding"),
    "bad_metadata": ("skipped", "the sample's json metadata could not be parsed"),
    "bad_row": ("skipped", "an annotation row could not be parsed"),
    "corrupt_shard": ("skipped", "a tar shard is damaged; the rest of that shard is lost (counted once per shard)"),
    "lost_in_shard": ("skipped", "a sample after the damage of a corrupt shard, by the shard's own sample count"),
    "image_mode_converted": ("repaired", "grayscale, palette, alpha, CMYK or 16-bit image converted to RGB"),
    "caption_recoded": ("repaired", "caption bytes were not UTF-8 and were decoded as Windows-1252"),
    "caption_repaired": ("repaired", "mojibake, lone surrogates or control characters repaired in the caption"),
    "caption_truncated": ("repaired", "caption cut at 4,096 characters (the tokenizer keeps 77 tokens)"),
}
_REASON_INDEX = {name: i for i, name in enumerate(REASONS)}
_SEEN = len(REASONS)  # extra column: samples looked at, for percentages
# Row 0 is the process that built the stats; DataLoader worker w writes row 1 + w. Separate rows
# make increments race-free without a lock (a lock could not travel through every pickling path).
MAX_ROWS = 65

# Warn about the first few occurrences of each reason with the offending sample, then stay quiet.
_WARN_FIRST = 3


def worker_row() -> int:
    """This process's row in per-worker shared tables: 0 outside DataLoader workers, 1 + id in worker id."""
    info = get_worker_info()
    return 0 if info is None else 1 + info.id % (MAX_ROWS - 1)


class BadSample(Exception):
    """A sample that cannot be used; ``reason`` is a key of ``REASONS``."""

    def __init__(self, reason: str, detail: str = ""):
        if reason not in REASONS:
            raise ValueError(f"unknown bad-data reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class UnusableData(RuntimeError):
    """The training data yielded no sample to train on, or skipped more than a run accepts; the message
    names the data and the counts by reason."""


def skipped_count(counts: dict[str, int]) -> int:
    """Samples dropped (not repaired) in ``snapshot()`` counts."""
    return sum(counts.get(reason, 0) for reason, (kind, _) in REASONS.items() if kind == "skipped")


class SkipStats:
    """Per-reason counters shared by a process and its DataLoader workers.

    Survives pickling to workers (fork or spawn) and deep copies by ``datasets`` without losing
    the shared storage. Counts are per training process; nothing is reduced across processes.
    """

    def __init__(self):
        self._counts = torch.zeros(MAX_ROWS, len(REASONS) + 1, dtype=torch.int64).share_memory_()
        self._warned: dict[str, int] = {}

    def __deepcopy__(self, memo):
        # datasets deep-copies pipelines when shuffling/splitting; a copy must keep counting here.
        return self

    def _row(self) -> torch.Tensor:
        return self._counts[worker_row()]

    def seen(self, n: int = 1) -> None:
        """Count ``n`` samples looked at (kept or not)."""
        self._row()[_SEEN] += n

    def count(self, reason: str, detail: str = "", n: int = 1) -> None:
        """Count ``n`` occurrences of ``reason``; the first few are logged with ``detail``."""
        self._row()[_REASON_INDEX[reason]] += n
        warned = self._warned.get(reason, 0)
        if warned < _WARN_FIRST:
            self._warned[reason] = warned + 1
            logger.warning("bad data (%s): %s%s", reason, REASONS[reason][1], f" [{detail}]" if detail else "")

    def snapshot(self) -> dict[str, int]:
        """Totals so far over this process and its workers: {"seen": n, reason: n, ...}."""
        totals = self._counts.sum(0).tolist()
        counts = {name: totals[i] for name, i in _REASON_INDEX.items()}
        counts["seen"] = totals[_SEEN]
        return counts


def format_counts(counts: dict[str, int]) -> str:
    """One log line from ``snapshot()`` counts (or a difference of two snapshots)."""
    seen = counts.get("seen", 0)
    parts = []
    for kind in ("skipped", "repaired"):
        items = {r: counts.get(r, 0) for r, (k, _) in REASONS.items() if k == kind and counts.get(r, 0)}
        total = sum(items.values())
        share = f" ({100.0 * total / seen:.2f}%)" if seen else ""
        detail = f" [{', '.join(f'{r}={n}' for r, n in items.items())}]" if items else ""
        parts.append(f"{kind} {total}{share}{detail}")
    return f"{seen} samples seen; " + "; ".join(parts)


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Counts accumulated between two snapshots."""
    return {k: after[k] - before.get(k, 0) for k in after}
