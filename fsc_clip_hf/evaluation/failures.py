"""The items a model got wrong, for the pages of ``recipes/eval.py --html`` (:mod:`.failure_pages`).

The scoring engine (:func:`fsc_clip_hf.evaluation.scoring.score_benchmark`) hands every wrong item of the
choice, pair and paraphrase shapes to a :class:`Failures` as one :class:`Failure`: the comparison the model
lost, with the option it should have preferred and the one it preferred instead. An item is wrong by its
benchmark's headline criterion: the true option not chosen under the item's tie rule, a pair's group score,
a triple's ITT. Retrieval galleries and zero-shot tasks have no such items and are not recorded.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from itertools import count

from .images import ImageSource
from .items import STRICT

# Failures kept per benchmark, those with the lowest margin: EqBen alone has ~190,000 wrong groups for a
# ViT-B/32, and each row of a page carries a thumbnail.
MAX_KEPT = 1000


@dataclass(frozen=True)
class Failure:
    """One lost comparison: ``image`` should have preferred ``true`` over ``preferred`` (image → captions), or
    caption ``true`` should have preferred ``image`` over ``preferred_image`` (caption → images)."""

    subset: str
    kind: str  # which comparison, e.g. "image → captions", "caption 2 → images (image score)"
    image: ImageSource
    true: str
    preferred: str
    true_score: float
    preferred_score: float
    preferred_image: ImageSource | None = None

    @property
    def margin(self) -> float:
        """``true_score - preferred_score``: at most 0 for a lost comparison, the lower the worse."""
        return self.true_score - self.preferred_score


class Failures:
    """The wrong items of one benchmark: all counted per subset, the ``limit`` with the lowest margin kept."""

    def __init__(self, limit: int = MAX_KEPT):
        self.limit = limit
        self.counts: Counter = Counter()
        self._heap: list[tuple[float, int, Failure]] = []  # (-margin, arrival): the root has the highest margin
        self._arrival = count()

    def add(self, failure: Failure) -> None:
        self.counts[failure.subset] += 1
        entry = (-failure.margin, next(self._arrival), failure)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
        elif self.limit:
            heapq.heappushpop(self._heap, entry)

    def total(self) -> int:
        return sum(self.counts.values())

    def kept(self) -> list[Failure]:
        """The kept failures, lowest margin first (in arrival order among equal margins)."""
        return [failure for _, _, failure in sorted(self._heap, key=lambda entry: (-entry[0], entry[1]))]


def preferred_option(scores: list[float], answer: int, ties: str) -> int | None:
    """The option a choice item preferred over its true one ``answer``, or None when the item is right: with
    ``STRICT`` ties the best other option scoring at least as high, with ``FIRST`` the first of the maxima
    (the rules of :mod:`.items`, as the ``multiple_choice_accuracy`` metric applies them)."""
    first_best = max(range(len(scores)), key=scores.__getitem__)  # max keeps the first maximum
    if ties != STRICT:
        return None if first_best == answer else first_best
    rival = max((option for option in range(len(scores)) if option != answer), key=scores.__getitem__)
    return rival if scores[rival] >= scores[answer] else None
