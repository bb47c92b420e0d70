"""NegCLIP-style swap negatives: exchange two phrases of the same kind ("a white dog on a red sofa"
-> "a red dog on a white sofa")."""

from __future__ import annotations

import re

from .articles import agree_article

# Verb phrase: an optional verb, adverbs, auxiliaries, then one or more verbs. Matched as a regular
# expression over one letter per token, which is much cheaper than spaCy's Matcher and, like
# Matcher + filter_spans, yields the longest non-overlapping matches.
_VERB_PHRASE = re.compile(r"V?D*X*V+")
_POS_LETTER = {"VERB": "V", "ADV": "D", "AUX": "X"}
_MODIFIER_DEPS = ("amod", "compound", "nummod", "advmod", "npadvmod")
_FIELDS = 3  # start, end, modified head


def _modified_head(token) -> int:
    """Index of the word a modifier token describes ("small" and "yellow" in "a small yellow star"
    both describe "star"), through conjunctions ("small and yellow"); -1 if it modifies nothing."""
    while token.dep_ == "conj" and token.head.i != token.i:
        token = token.head
    if token.dep_ in _MODIFIER_DEPS:
        return token.head.i
    if token.dep_ == "acomp":  # "the star is small and yellow": the subject
        return next((c.i for c in token.head.children if c.dep_ in ("nsubj", "nsubjpass")), token.head.i)
    return -1


def swap_candidates(doc, noun_chunks) -> list[list[int]]:
    """Character spans of the swappable phrases of a parsed caption, one flat list
    ``[start, end, head, start, end, head, ...]`` per kind: noun chunks of more than two tokens, verb
    phrases, singular nouns, plural nouns, adverbs, adjectives. ``head`` is the token index of the
    word a single-word modifier describes (-1 for phrases and non-modifiers). Spans within a kind
    never overlap. Kinds with fewer than two distinct texts are dropped. ``noun_chunks``:
    ``list(doc.noun_chunks)``, computed once for all generators (it is costly)."""
    chunks = [(c.start_char, c.end_char, -1) for c in noun_chunks if len(c) > 2]
    letters = "".join(_POS_LETTER.get(t.pos_, ".") for t in doc)
    verb_phrases = [(doc[m.start()].idx, doc[m.end() - 1].idx + len(doc[m.end() - 1]), -1)
                    for m in _VERB_PHRASE.finditer(letters)]
    singular, plural, adverbs, adjectives = [], [], [], []
    for token in doc:
        span = (token.idx, token.idx + len(token), _modified_head(token))
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
        if len({text[s:e].lower() for s, e, _ in spans}) >= 2:
            kinds.append([x for span in spans for x in span])
    return kinds


def sample_swap(caption: str, kinds: list, rng, skip_modifier_reorder: bool = False,
                article_agreement: bool = False) -> str | None:
    """Within each kind draw two phrases and swap them if they differ; return one of the resulting
    captions at random (None if there is none).

    ``skip_modifier_reorder``: two modifiers of one word ("a small yellow star" -> "a yellow small
    star") are not swapped (the caption would still be true); another pair of the kind is drawn.
    ``article_agreement``: "a"/"an" before each moved phrase agrees with it."""
    results = []
    for spans in kinds:
        i, j = sorted(rng.sample(range(0, len(spans), _FIELDS), 2))
        if skip_modifier_reorder and spans[i + 2] == spans[j + 2] >= 0:
            pairs = [(a, b) for a in range(0, len(spans), _FIELDS) for b in range(a + _FIELDS, len(spans), _FIELDS)
                     if not spans[a + 2] == spans[b + 2] >= 0
                     and caption[spans[a]:spans[a + 1]].lower() != caption[spans[b]:spans[b + 1]].lower()]
            if not pairs:
                continue
            i, j = rng.choice(pairs)
        s1, e1, s2, e2 = spans[i], spans[i + 1], spans[j], spans[j + 1]
        first, second = caption[s1:e1], caption[s2:e2]
        if first.lower() != second.lower():
            # Character offsets: everything outside the two phrases, spacing included, is untouched.
            swapped = caption[:s1] + second + caption[e1:s2] + first + caption[e2:]
            if article_agreement:  # the later phrase first, so that the earlier offset still holds
                swapped = agree_article(agree_article(swapped, s2 + len(second) - len(first)), s1)
            results.append(swapped)
    return rng.choice(results) if results else None
