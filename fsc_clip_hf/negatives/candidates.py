"""Per-caption candidates: everything the samplers need, computed once from one spaCy parse.

A caption's candidates are a small JSON-able dict, cached across epochs (and on disk by the
precompute command) so that later epochs only sample:

* ``tokens``: ``[start, end, is_punct]`` per token (n-gram shuffle, svlc);
* ``swap``: per phrase kind, the character spans that may be swapped;
* ``replace``: ``[start, end, pos, lemma, tag]`` per replaceable scene-graph element; the
  replacement words themselves live in a lexicon table shared by all captions.
"""

from __future__ import annotations

from .replace import replace_candidates
from .swap import swap_candidates


def build_candidates(doc, parts, lexicon=None) -> dict:
    """Candidates of parsed caption ``doc`` for ``parts`` (a subset of "swap", "replace");
    ``lexicon`` (a :class:`~.wordnet_lexicon.WordNetLexicon`) is needed for "replace"."""
    candidates = {"tokens": [[t.idx, t.idx + len(t), int(t.is_punct)] for t in doc]}
    noun_chunks = list(doc.noun_chunks) if parts else []
    if "swap" in parts:
        candidates["swap"] = swap_candidates(doc, noun_chunks)
    if "replace" in parts:
        candidates["replace"] = replace_candidates(doc, noun_chunks, lexicon)
    return candidates
