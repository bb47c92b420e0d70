"""Per-caption candidates: everything the samplers need, computed once from one spaCy parse.

A caption's candidates are a small JSON-able dict, cached across epochs (and on disk by the
precompute command) so that later epochs only sample. Records are stored flat, one list per field
group, because millions of tiny lists would be slow to load back and keep the garbage collector
busy during training:

* ``tokens``: ``start, end, is_punct`` of each token, in one list (n-gram shuffle, svlc);
* ``swap``: per phrase kind, ``start, end, head`` of each phrase that may be swapped (``head``: the
  word a single-word modifier describes, -1 if none);
* ``replace``: ``start, end, pos, lemma, tag`` of each replaceable scene-graph element; the
  replacement words themselves live in a lexicon table shared by all captions.
"""

from __future__ import annotations

from .replace import replace_candidates
from .swap import swap_candidates


def build_candidates(doc, parts, lexicon=None, pronouns: bool = False, numbers: str = "never") -> dict:
    """Candidates of parsed caption ``doc`` for ``parts`` (a subset of "swap", "replace");
    ``lexicon``, ``pronouns`` and ``numbers``: see :func:`~.replace.replace_candidates` ("replace")."""
    candidates = {"tokens": [x for t in doc for x in (t.idx, t.idx + len(t), int(t.is_punct))]}
    noun_chunks = list(doc.noun_chunks) if parts else []
    if "swap" in parts:
        candidates["swap"] = swap_candidates(doc, noun_chunks)
    if "replace" in parts:
        candidates["replace"] = replace_candidates(doc, noun_chunks, lexicon, pronouns, numbers)
    return candidates
