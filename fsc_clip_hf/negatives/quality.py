"""Measures of what the negatives are like, per option: how often a colour stays a colour, the part
of speech is kept, the new word is in the corpus' vocabulary, a number becomes a non-number, "a"/"an"
disagrees, a swap only reorders one word's modifiers. ``recipes/benchmark.py negatives`` prints them.
"""

from __future__ import annotations

import difflib
import re

from .articles import indefinite_article
from .svlc import WORD_LISTS
from .vocabulary import caption_words

COLOURS = frozenset(w for group in WORD_LISTS["colour"] for w in group)
_ARTICLE_PAIR = re.compile(r"\b(a|an)\s+([\w'-]+)", re.IGNORECASE)
_ARTICLES = ("a", "an")


def article_disagreements(text: str) -> int:
    """How many "a"/"an" + word pairs of ``text`` disagree (by :func:`~.articles.indefinite_article`)."""
    return sum(indefinite_article(word) != article.lower() for article, word in _ARTICLE_PAIR.findall(text))


def _edit(caption_doc, negative_doc):
    """(caption tokens, negative tokens) of the one edited stretch, a/an changes aside; None if the
    texts differ in more than one place."""
    a = [t.lower_ for t in caption_doc]
    b = [t.lower_ for t in negative_doc]
    edits = [op for op in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes() if op[0] != "equal"
             and not (set(a[op[1]:op[2]]) | set(b[op[3]:op[4]])) <= set(_ARTICLES)]
    if len(edits) != 1 or edits[0][0] != "replace":
        return None
    _, i1, i2, j1, j2 = edits[0]
    return caption_doc[i1:i2], negative_doc[j1:j2]


def replace_quality(parser, captions: list[str], negatives: list[str | None], vocabulary=None) -> dict:
    """Shares over the replace negatives (parsed with ``parser``, a :class:`~.parsing.CaptionParser`).

    colour_to_colour: of the edits of a colour word, those that give a colour; pos_kept: edits whose
    last word keeps its coarse part of speech; in_vocabulary: edits whose words all are in
    ``vocabulary``; number_to_non_number: of the edits of a number, those that give none; article_errors:
    negatives with more a/an disagreements than their caption.
    """
    pairs = [(c, n) for c, n in zip(captions, negatives) if n is not None]
    counts = dict.fromkeys(("edits", "colour", "colour_kept", "pos_kept", "in_vocabulary", "number",
                            "number_lost", "article_errors"), 0)
    docs = parser.pipe([text for pair in pairs for text in pair])
    # One iterator twice: each step takes a caption's doc, then its negative's.
    for (caption, negative), caption_doc, negative_doc in zip(pairs, docs, docs):
        counts["article_errors"] += article_disagreements(negative) > article_disagreements(caption)
        edit = _edit(caption_doc, negative_doc)
        if edit is None:
            continue
        old, new = edit
        counts["edits"] += 1
        counts["pos_kept"] += old[-1].pos_ == new[-1].pos_
        if vocabulary is not None:
            counts["in_vocabulary"] += all(w in vocabulary.counts for w in caption_words(new.text))
        if old.text.lower() in COLOURS:
            counts["colour"] += 1
            counts["colour_kept"] += new.text.lower() in COLOURS
        if old[-1].like_num:
            counts["number"] += 1
            counts["number_lost"] += not new[-1].like_num
    edits = max(counts["edits"], 1)
    return {
        "coverage": len(pairs) / max(len(captions), 1),
        "colour_to_colour": counts["colour_kept"] / max(counts["colour"], 1),
        "colour_edits": counts["colour"],
        "pos_kept": counts["pos_kept"] / edits,
        "in_vocabulary": counts["in_vocabulary"] / edits if vocabulary is not None else None,
        "number_to_non_number": counts["number_lost"] / max(counts["number"], 1),
        "number_edits": counts["number"],
        "article_errors": counts["article_errors"] / max(len(pairs), 1),
    }


def swap_quality(generator, captions: list[str], negatives: list[str | None]) -> dict:
    """coverage; modifier_reorders: swap negatives that only exchange two modifiers of one word
    (read off the generator's candidates); article_errors as for replace."""
    pairs = [(c, n) for c, n in zip(captions, negatives) if n is not None]
    reorders = errors = 0
    for (caption, negative), candidates in zip(pairs, generator.candidates([c for c, _ in pairs])):
        errors += article_disagreements(negative) > article_disagreements(caption)
        for spans in candidates["swap"]:
            starts = range(0, len(spans), 3)
            if any(spans[i + 2] == spans[j + 2] >= 0 and _swapped(caption, spans, i, j) == negative
                   for i in starts for j in starts if i < j):
                reorders += 1
                break
    return {"coverage": len(pairs) / max(len(captions), 1), "modifier_reorders": reorders / max(len(pairs), 1),
            "article_errors": errors / max(len(pairs), 1)}


def _swapped(caption: str, spans: list, i: int, j: int) -> str:
    s1, e1, s2, e2 = spans[i], spans[i + 1], spans[j], spans[j + 1]
    return caption[:s1] + caption[s2:e2] + caption[e1:s2] + caption[s1:e1] + caption[e2:]
