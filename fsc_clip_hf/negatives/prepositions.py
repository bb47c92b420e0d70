"""The fixed preposition inventory of the ``replace`` generator, with corpus-frequency weights.

Weights are rough occurrences per million words of written English (as a preposition), rounded;
only their relative size matters: a replacement preposition is drawn in proportion to it, so
"on" -> "in" is far more likely than "on" -> "via".
"""

from __future__ import annotations

from functools import lru_cache
from itertools import accumulate

PREPOSITION_WEIGHTS = {
    # single words
    "of": 29000, "in": 18000, "to": 9000, "for": 8500, "with": 6500, "on": 6000, "at": 4500,
    "by": 4000, "from": 4000, "about": 1800, "into": 1700, "as": 1500, "like": 1200,
    "through": 900, "after": 900, "over": 900, "between": 700, "out": 650, "against": 600,
    "during": 550, "without": 500, "before": 500, "under": 450, "around": 420, "among": 250,
    "within": 250, "up": 240, "along": 220, "across": 220, "behind": 200, "down": 200,
    "off": 180, "above": 180, "near": 170, "toward": 160, "upon": 150,
    "inside": 120, "outside": 110, "beyond": 100, "below": 100, "past": 90, "onto": 80,
    "beside": 80, "throughout": 80, "underneath": 30, "beneath": 60,
    "unlike": 50, "opposite": 30, "alongside": 50, "amid": 30, "atop": 10, "via": 40,
    "except": 100, "per": 200, "versus": 20,
    # multi-word
    "next to": 120, "in front of": 110, "on top of": 60, "out of": 400, "because of": 150,
    "instead of": 90, "close to": 80, "away from": 70, "ahead of": 40,
    "along with": 60, "together with": 30, "apart from": 40, "up to": 100,
    "across from": 10, "far from": 30, "in between": 10, "on the side of": 10,
    "in the middle of": 40, "at the top of": 30, "at the bottom of": 20,
}
PREPOSITIONS = tuple(sorted(PREPOSITION_WEIGHTS))
# Multi-word prepositions as token tuples, grouped by first word, longest first so the longest match wins.
_MULTIWORD_BY_FIRST_WORD: dict[str, list[tuple[str, ...]]] = {}
for _phrase in sorted((tuple(p.split()) for p in PREPOSITIONS if " " in p), key=lambda words: -len(words)):
    _MULTIWORD_BY_FIRST_WORD.setdefault(_phrase[0], []).append(_phrase)


def multiword_preposition_at(words: list[str], i: int) -> int:
    """Length (in tokens) of the multi-word preposition starting at lower-cased ``words[i]``, or 0."""
    for phrase in _MULTIWORD_BY_FIRST_WORD.get(words[i], ()):
        if tuple(words[i:i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


@lru_cache(maxsize=None)
def preposition_candidates(own: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The other prepositions and their cumulative weights (sorted, so sampling is reproducible)."""
    words = tuple(p for p in PREPOSITIONS if p != own)
    return words, tuple(accumulate(PREPOSITION_WEIGHTS[p] for p in words))
