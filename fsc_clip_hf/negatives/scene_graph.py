"""A small scene graph read off a spaCy parse: the editable elements of the ``replace`` generator.

Entities are noun chunks whose head is extended by its compounds ("window sill"); pronouns are
skipped unless ``pronouns`` is set (the authors keep them, and their proper nouns, as entities to
replace). Their modifiers are determiners, numbers and adjectives (conjoined ones included, "black
and white"). Relations are verbs that have a subject entity (nsubj, a noun they modify via acl/relcl,
or a passive agent) and prepositions, single or multi-word ("in front of"), whose object is an
entity. A number ("two", "3") is an element of its own kind, ``NUMBER_POS``: WordNet never
replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .prepositions import PREPOSITION_WEIGHTS, multiword_preposition_at

_SUBJECT_DEPS = ("nsubj", "nsubjpass")
_MODIFYING_CLAUSE_DEPS = ("acl", "relcl")
_ATTRIBUTE_DEPS = ("amod", "nummod", "det", "conj", "advmod", "acomp")
NUMBER_POS = "#"
# spaCy part of speech -> WordNet pos used to find replacements: ours for modifiers, and the
# authors' (for every element) when pronouns and proper nouns are replaced too.
_MODIFIER_WORDNET_POS = {"ADJ": "a", "VERB": "v", "ADV": "r"}
_AUTHORS_WORDNET_POS = {"ADJ": "a", "VERB": "v", "ADV": "r", "NOUN": "n", "PROPN": "n", "PRON": "n"}


@dataclass(frozen=True)
class GraphElement:
    """One replaceable element: character span in the caption, WordNet pos (n v a r, or p for a
    preposition), the lower-cased word(s) ("window_sill" for a compound) and the Penn tag whose
    inflection a replacement must copy. ``root_start`` is where the head word of a compound starts."""

    start: int
    end: int
    pos: str
    word: str
    tag: str
    root_start: int


def _multiword_prepositions(doc) -> dict[int, tuple[int, int]]:
    """Token index of the last word of each multi-word preposition -> (first, last) token indices,
    when the last word really governs an object ("in front of the house", not "in front")."""
    words = [t.lower_ for t in doc]
    spans = {}
    i = 0
    while i < len(words):
        n = multiword_preposition_at(words, i)
        if n and any(c.dep_ == "pobj" for c in doc[i + n - 1].children):
            spans[i + n - 1] = (i, i + n - 1)
            i += n
        else:
            i += 1
    return spans


def _entity_heads(doc, noun_chunks, excluded: set[int], pronouns: bool) -> dict[int, int]:
    """Root token index of each entity -> index of its first compound token (itself if none)."""
    heads = {}
    for chunk in noun_chunks:
        # A possessor inside the chunk ("a cat's face") is an entity of its own.
        roots = [chunk.root] + [t for t in chunk if t.dep_ == "poss" and t.pos_ == "NOUN"]
        for root in roots:
            if (root.pos_ == "PRON" and not pronouns) or root.i in excluded:
                continue
            first = root.i
            # Walk left over the compounds attached to the root ("laptop keyboard", "ski lift").
            while first > chunk.start and doc[first - 1].dep_ == "compound" and doc[first - 1].head.i in (root.i, first):
                first -= 1
            heads[root.i] = first
    return heads


def _subject_entity(verb, heads) -> bool:
    for child in verb.children:
        if child.dep_ in _SUBJECT_DEPS and child.i in heads:
            return True
        if child.dep_ == "agent" and any(g.dep_ == "pobj" and g.i in heads for g in child.children):
            return True
    return verb.dep_ in _MODIFYING_CLAUSE_DEPS and verb.head.i in heads


def scene_graph(doc, noun_chunks, pronouns: bool = False) -> list[GraphElement]:
    """Replaceable elements of the caption ``doc`` (``noun_chunks``: ``list(doc.noun_chunks)``);
    empty unless it has at least two entities and at least one relation or modifier. With
    ``pronouns``, pronoun and proper-noun entities and modifiers are elements too (as for the authors)."""
    multiword = _multiword_prepositions(doc)
    in_multiword = {i for first, last in multiword.values() for i in range(first, last + 1)}
    heads = _entity_heads(doc, noun_chunks, in_multiword, pronouns)
    wordnet_pos = _AUTHORS_WORDNET_POS if pronouns else _MODIFIER_WORDNET_POS
    if len(heads) < 2:
        return []
    elements: list[GraphElement] = []
    n_modifiers = n_relations = 0

    def add(first, last, pos, tag_token):
        span = doc[first:last + 1]
        word = "_".join(t.lower_ for t in span)
        elements.append(GraphElement(span.start_char, span.end_char, pos, word, tag_token.tag_, tag_token.idx))

    for root_i, first in heads.items():
        root = doc[root_i]
        if _is_number(root):
            add(root_i, root_i, NUMBER_POS, root)
        elif root.pos_ == "NOUN" or (pronouns and root.pos_ in ("PROPN", "PRON")):
            add(first, root_i, "n", root)
    for token in doc:
        if token.i in in_multiword and token.i not in multiword:
            continue
        dep = token.dep_
        if token.i in multiword:  # the last word of a multi-word preposition
            first, last = multiword[token.i]
            if any(c.dep_ == "pobj" and c.i in heads for c in token.children):
                n_relations += 1
                add(first, last, "p", token)
        elif dep in ("prep", "agent"):
            if token.lower_ in PREPOSITION_WEIGHTS and any(c.dep_ == "pobj" and c.i in heads for c in token.children):
                n_relations += 1
                add(token.i, token.i, "p", token)
        elif token.pos_ == "VERB" and dep not in ("amod", "compound") and _subject_entity(token, heads):
            n_relations += 1
            add(token.i, token.i, "v", token)
        elif dep in _ATTRIBUTE_DEPS and _modifies_entity(token, heads):
            n_modifiers += 1
            pos = NUMBER_POS if _is_number(token) else wordnet_pos.get(token.pos_)
            if pos and dep != "det":
                add(token.i, token.i, pos, token)
    if n_modifiers + n_relations == 0:
        return []
    return elements


def _is_number(token) -> bool:
    """A cardinal ("two", "3", "one" of them); ordinals tagged as adjectives ("first") are adjectives."""
    return token.pos_ == "NUM" or (token.like_num and token.pos_ != "ADJ")


def _modifies_entity(token, heads) -> bool:
    """A determiner/number/adjective of an entity, directly, through a conjunction ("black and
    white cat"), a compound ("double decker bus"), an adverb ("very large dog") or a copula ("the
    dog is brown")."""
    head = token.head
    dep = token.dep_
    if dep == "conj":
        if token.pos_ != "ADJ" or head.dep_ != "amod":
            return False
        head = head.head
    elif dep == "advmod":
        if token.pos_ != "ADV" or head.pos_ != "ADJ":
            return False
        head = head.head
    elif dep == "acomp":
        return token.pos_ == "ADJ" and any(c.dep_ in _SUBJECT_DEPS and c.i in heads for c in head.children)
    if head.i in heads:
        return True
    return head.dep_ == "compound" and head.head.i in heads
