"""SugarCrepe REPLACE-style negatives: change one scene-graph element to a WordNet alternative or
another preposition, inflected and capitalised like the original."""

from __future__ import annotations

from .inflection import INFLECTED_TAGS, inflect, match_case
from .prepositions import PREPOSITION_CUMULATIVE_WEIGHTS, PREPOSITIONS
from .scene_graph import scene_graph
from .wordnet_lexicon import weighted_pick

PREPOSITION_POS = "p"
_PREPOSITION_INDEX = {p: i for i, p in enumerate(PREPOSITIONS)}
_SAMPLES_PER_ELEMENT = 2
_FIELDS = 5  # start, end, pos, lemma, tag


def candidates_key(pos: str, lemma: str) -> str:
    """Key of a candidate list in a lexicon table ("n:dog")."""
    return f"{pos}:{lemma}"


def replace_candidates(doc, noun_chunks, lexicon) -> list:
    """The editable elements of a parsed caption, flat: ``start, end, pos, lemma, tag`` of each
    (character span, WordNet pos or "p", lemma whose candidate list to draw from, Penn tag to
    inflect like). Only elements that have at least one candidate are kept."""
    plan = []
    for element in scene_graph(doc, noun_chunks):
        if element.pos == PREPOSITION_POS:
            plan += [element.start, element.end, PREPOSITION_POS, element.word.replace("_", " "), element.tag]
            continue
        inflected = element.tag in INFLECTED_TAGS
        lemma = lexicon.base_form(element.word, element.pos, inflected)
        start = element.start
        if (lemma is None or not lexicon.candidates(lemma, element.pos)[0]) and element.root_start != start:
            # A compound WordNet does not know ("laptop keyboard"): replace its head word alone.
            start = element.root_start
            lemma = lexicon.base_form(doc.text[start:element.end], element.pos, inflected)
        if lemma is not None and lexicon.candidates(lemma, element.pos)[0]:
            plan += [start, element.end, element.pos, lemma, element.tag]
    return plan


def sample_replace(caption: str, elements: list, candidates_of, rng) -> str | None:
    """Draw up to two candidates per element (by weight, without replacement), then return one of
    the resulting captions at random; None when no element yields a different caption.

    ``candidates_of(pos, lemma)`` gives ``(words, cumulative_weights)``. Only the draws that end up
    used are made: choosing uniformly among the (element, draw number) slots first, then making
    that element's draws, gives the same distribution as drawing everything and choosing after.
    """
    pools = {}  # element offset -> (words, cumulative weights, indices never to draw)
    slots = []  # (element offset, draw number)
    for e in range(0, len(elements), _FIELDS):
        pos, lemma = elements[e + 2], elements[e + 3]
        if pos == PREPOSITION_POS:
            own = _PREPOSITION_INDEX.get(lemma)
            pool = (PREPOSITIONS, PREPOSITION_CUMULATIVE_WEIGHTS, [] if own is None else [own])
        else:
            pool = (*candidates_of(pos, lemma), [])
        pools[e] = pool
        available = len(pool[0]) - len(pool[2])
        slots.extend((e, j) for j in range(min(_SAMPLES_PER_ELEMENT, available)))
    draws: dict[int, list[int]] = {}
    while slots:
        e, j = slots.pop(rng.randrange(len(slots)))
        words, cumulative, never = pools[e]
        drawn = draws.setdefault(e, [])
        while len(drawn) <= j:
            drawn.append(weighted_pick(rng, cumulative, sorted(never + drawn)))
        start, end, pos, _, tag = elements[e:e + _FIELDS]
        word = words[drawn[j]]
        original = caption[start:end]
        surface = match_case(original, word if pos == PREPOSITION_POS else inflect(word, pos, tag))
        if surface.lower() != original.lower():
            return caption[:start] + surface + caption[end:]
    return None
