"""Make a replacement word look like the word it replaces: same inflection, same capitalisation."""

from __future__ import annotations

from functools import lru_cache

from lemminflect import getInflection

# Penn tags that carry an inflection a replacement must copy (other tags take the bare lemma).
INFLECTED_TAGS = frozenset({"NNS", "NNPS", "VBD", "VBG", "VBN", "VBZ", "JJR", "JJS", "RBR", "RBS"})
_LEMMINFLECT_TAG = {"NNPS": "NNS"}


@lru_cache(maxsize=None)
def inflect(lemma: str, pos: str, tag: str) -> str:
    """``lemma`` (WordNet form, underscores between words) inflected for Penn ``tag``, with spaces.

    In a multi-word lemma the head carries the inflection: the last word of a noun or adjective
    ("ice creams"), the first word of a verb ("picking up").
    """
    words = lemma.split("_")
    if tag in INFLECTED_TAGS and pos in "nvar":
        at = 0 if pos == "v" else len(words) - 1
        forms = getInflection(words[at], _LEMMINFLECT_TAG.get(tag, tag))
        if forms:
            words[at] = forms[0]
    return " ".join(words)


def load_inflection_tables() -> None:
    """Load lemminflect's tables now (~0.2 s, done lazily on its first call otherwise)."""
    getInflection("be", "VBZ")


def match_case(original: str, replacement: str) -> str:
    """Copy the capitalisation pattern of ``original`` (all caps, initial capital, or lower case)."""
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement
