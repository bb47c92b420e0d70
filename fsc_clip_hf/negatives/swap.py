"""NegCLIP-style swap negatives: exchange two phrases of the same kind ("a white dog on a red sofa"
-> "a red dog on a white sofa")."""

from __future__ import annotations

import re

# Verb phrase: an optional verb, adverbs, auxiliaries, then one or more verbs. Matched as a regular
# expression over one letter per token, which is much cheaper than spaCy's Matcher and, like
# Matcher + filter_spans, yields the longest non-overlapping matches.
_VERB_PHRASE = re.compile(r"V?D*X*V+")
_POS_LETTER = {"VERB": "V", "ADV": "D", "AUX": "X"}


def swap_candidates(doc, noun_chunks) -> list[list[int]]:
    """Character spans of the swappable phrases of a parsed caption, one flat list
    ``[start, end, start, end, ...]`` per kind: noun chunks
    of more than two tokens, verb phrases, singular nouns, plural nouns, adverbs, adjectives.
    Spans within a kind never overlap. Kinds with fewer than two distinct texts are dropped.
    ``noun_chunks``: ``list(doc.noun_chunks)``, computed once for all generators (it is costly)."""
    chunks = [(c.start_char, c.end_char) for c in noun_chunks if len(c) > 2]
    letters = "".join(_POS_LETTER.get(t.pos_, ".") for t in doc)
    verb_phrases = [(doc[m.start()].idx, doc[m.end() - 1].idx + len(doc[m.end() - 1]))
                    for m in _VERB_PHRASE.finditer(letters)]
    singular, plural, adverbs, adjectives = [], [], [], []
    for token in doc:
        span = (token.idx, token.idx + len(token))
        if token.tag_ == "NN":
            singular.append(span)
        elif token.tag_ == "NNS":
            plural.append(span)
        if token.pos_ == "ADV":
            adverbs.append(span)
        elif token.pos_ == "ADJ":
            adjectives.append(span)
    text = doc.text
    kinds = []
    for spans in (chunks, verb_phrases, singular, plural, adverbs, adjectives):
        if len({text[s:e].lower() for s, e in spans}) >= 2:
            kinds.append([x for span in spans for x in span])
    return kinds


def sample_swap(caption: str, kinds: list, rng) -> str | None:
    """Within each kind draw two phrases and swap them if they differ; return one of the resulting
    captions at random (None if there is none)."""
    results = []
    for spans in kinds:
        i, j = sorted(rng.sample(range(0, len(spans), 2), 2))
        s1, e1, s2, e2 = spans[i], spans[i + 1], spans[j], spans[j + 1]
        first, second = caption[s1:e1], caption[s2:e2]
        if first.lower() != second.lower():
            # Character offsets: everything outside the two phrases, spacing included, is untouched.
            results.append(caption[:s1] + second + caption[e1:s2] + first + caption[e2:])
    return rng.choice(results) if results else None
