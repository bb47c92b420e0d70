"""SugarCrepe REPLACE-style negatives: change one scene-graph element to a WordNet alternative,
another preposition or (optionally) another number, inflected and capitalised like the original."""

from __future__ import annotations

from .articles import agree_article
from .inflection import INFLECTED_TAGS, inflect, match_case
from .numbers import number_candidates
from .scene_graph import NUMBER_POS, scene_graph
from .wordnet_lexicon import weighted_pick

PREPOSITION_POS = "p"
# Element kinds whose replacements are spliced in as they are (no inflection, no WordNet).
FIXED_POS = (PREPOSITION_POS, NUMBER_POS)
_SAMPLES_PER_ELEMENT = 2
_FIELDS = 5  # start, end, pos, lemma, tag


def candidates_key(pos: str, lemma: str) -> str:
    """Key of a candidate list in a lexicon table ("n:dog")."""
    return f"{pos}:{lemma}"


def replace_candidates(doc, noun_chunks, lexicon, pronouns: bool = False, numbers: str = "never") -> list:
    """The editable elements of a parsed caption, flat: ``start, end, pos, lemma, tag`` of each
    (character span, WordNet pos, "p" or "#", the key whose candidate list to draw from, Penn tag to
    inflect like). Only elements that have at least one candidate are kept.

    ``lexicon``: ``lookup(word, pos, inflected)`` -> key or None, ``candidates(key, pos)``
    (:class:`~.wordnet_lexicon.WordNetLexicon` or :class:`~.wordnet_senses.AllSensesLexicon`).
    ``pronouns``: pronoun and proper-noun entities are elements (the authors' scene graph).
    ``numbers``: "never" (the authors) or "same_form" (another number, see :mod:`.numbers`).
    """
    plan = []
    for element in scene_graph(doc, noun_chunks, pronouns=pronouns):
        if element.pos == PREPOSITION_POS:
            plan += [element.start, element.end, PREPOSITION_POS, element.word.replace("_", " "), element.tag]
            continue
        if element.pos == NUMBER_POS:
            if numbers == "same_form" and number_candidates(element.word)[0]:
                plan += [element.start, element.end, NUMBER_POS, element.word, element.tag]
            continue
        inflected = element.tag in INFLECTED_TAGS
        lemma = lexicon.lookup(element.word, element.pos, inflected)
        start = element.start
        if (lemma is None or not lexicon.candidates(lemma, element.pos)[0]) and element.root_start != start:
            # A compound WordNet does not know ("laptop keyboard"): replace its head word alone.
            start = element.root_start
            lemma = lexicon.lookup(doc.text[start:element.end], element.pos, inflected)
        if lemma is not None and lexicon.candidates(lemma, element.pos)[0]:
            plan += [start, element.end, element.pos, lemma, element.tag]
    return plan


def sample_replace(caption: str, elements: list, candidates_of, rng, article_agreement: bool = False) -> str | None:
    """Draw up to two candidates per element (by weight, without replacement), then return one of
    the resulting captions at random; None when no element yields a different caption.

    ``candidates_of(pos, lemma, tag)`` gives ``(words, cumulative_weights)``, never the element's
    own word. Only the draws that end up used are made: choosing uniformly among the (element, draw
    number) slots first, then making that element's draws, gives the same distribution as drawing
    everything and choosing after. ``article_agreement``: "a"/"an" before the edit agrees with it.
    """
    pools = {}  # element offset -> (words, cumulative weights)
    slots = []  # (element offset, draw number)
    for e in range(0, len(elements), _FIELDS):
        pos, lemma, tag = elements[e + 2], elements[e + 3], elements[e + 4]
        pools[e] = pool = candidates_of(pos, lemma, tag)
        slots.extend((e, j) for j in range(min(_SAMPLES_PER_ELEMENT, len(pool[0]))))
    draws: dict[int, list[int]] = {}
    while slots:
        e, j = slots.pop(rng.randrange(len(slots)))
        words, cumulative = pools[e]
        drawn = draws.setdefault(e, [])
        while len(drawn) <= j:
            drawn.append(weighted_pick(rng, cumulative, sorted(drawn)))
        start, end, pos, _, tag = elements[e:e + _FIELDS]
        word = words[drawn[j]]
        original = caption[start:end]
        surface = match_case(original, word if pos in FIXED_POS else inflect(word, pos, tag))
        if surface.lower() != original.lower():
            negative = caption[:start] + surface + caption[end:]
            return agree_article(negative, start) if article_agreement else negative
    return None
