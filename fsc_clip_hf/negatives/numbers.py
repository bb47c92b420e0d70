"""Number replacements of the same form (``replace_numbers: same_form``): digits by digits, words by
words, never "one" or 1 (the noun after it is singular), never years, decimals or ordinals.

The authors never replace a number (their WordNet look-up skips the NUM part of speech); WordNet's
noun senses would turn "two" into "troika" or "significant figure". This is our option.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import accumulate

# replace_numbers: never (the authors') or same_form (this module).
REPLACE_NUMBERS = ("never", "same_form")
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_WORD_VALUES = {w: i for i, w in enumerate(("zero", "one") + NUMBER_WORDS)} | {"eleven": 11, "twelve": 12}


@lru_cache(maxsize=None)
def number_candidates(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Other numbers of the form of ``text`` (lower case), uniformly weighted; empty when it has none."""
    if _WORD_VALUES.get(text, 0) >= 2:
        words = tuple(w for w in NUMBER_WORDS if w != text)
    elif text.isdigit() and text[0] != "0" and 2 <= int(text) <= 99:
        span = range(2, 10) if len(text) == 1 else range(10, 100)
        words = tuple(sorted(str(i) for i in span if str(i) != text))
    else:
        return (), ()
    return words, tuple(accumulate(1 for _ in words))
