"""Word-order perturbations of ARO's COCO-Order and Flickr30k-Order.

ARO builds these test sets at load time: each caption competes with four scrambled versions of itself,

1. its nouns shuffled among themselves and its adjectives among themselves,
2. every other word shuffled (nouns and adjectives stay in place),
3. the words shuffled inside each consecutive trigram,
4. the trigrams shuffled as units,

all lower-cased, stripped of some punctuation and cut to 30 words. Part-of-speech tags come from a
spaCy tagger (Penn tags NN*/JJ*). The shuffles are seeded per caption, so a run is reproducible; the
published numbers used other random draws (and NLTK's tokenizer for the trigram shuffles), so scores
match the paper's protocol, not its exact test items.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}
ADJECTIVE_TAGS = {"JJ", "JJR", "JJS"}
MAX_WORDS = 30
_PUNCTUATION = re.compile(r'[.!"()*#:;~]')


def normalise_caption(text: str, max_words: int = MAX_WORDS) -> str:
    """Lower-case, punctuation ``.!"()*#:;~`` to spaces, single spaces, at most ``max_words`` words."""
    words = _PUNCTUATION.sub(" ", text.lower()).split()
    return " ".join(words[:max_words])


def _shuffle_positions(words: list[str], positions: list[int], rng: random.Random) -> None:
    values = [words[i] for i in positions]
    rng.shuffle(values)
    for position, value in zip(positions, values):
        words[position] = value


def _trigrams(words: list[str]) -> list[list[str]]:
    return [words[start:start + 3] for start in range(0, len(words), 3)]


def perturb(tokens: Sequence[str], tags: Sequence[str], rng: random.Random) -> list[str]:
    """The four perturbations of one tokenised caption (raw text, before normalisation)."""
    nouns = [i for i, tag in enumerate(tags) if tag in NOUN_TAGS]
    adjectives = [i for i, tag in enumerate(tags) if tag in ADJECTIVE_TAGS]
    others = [i for i in range(len(tokens)) if i not in set(nouns) | set(adjectives)]

    nouns_and_adjectives = list(tokens)
    _shuffle_positions(nouns_and_adjectives, nouns, rng)
    _shuffle_positions(nouns_and_adjectives, adjectives, rng)

    all_but = list(tokens)
    _shuffle_positions(all_but, others, rng)

    within = []
    for trigram in _trigrams(list(tokens)):
        rng.shuffle(trigram)
        within.extend(trigram)

    across = _trigrams(list(tokens))
    rng.shuffle(across)
    return [" ".join(words) for words in (nouns_and_adjectives, all_but, within, [w for t in across for w in t])]


def order_test_options(captions: Sequence[str], seed: int = 0, spacy_model: str = "en_core_web_sm",
                       batch_size: int = 256) -> list[list[str]]:
    """For each caption: ``[caption, 4 perturbations]``, all normalised (the true caption first)."""
    import spacy

    from ...negatives.resources import require_spacy

    nlp = spacy.load(require_spacy(spacy_model), disable=["parser", "ner", "lemmatizer"])
    options = []
    for index, doc in enumerate(nlp.pipe(captions, batch_size=batch_size)):
        # One generator per caption (seeded by position and text): the draws do not depend on
        # which other captions are in the run.
        rng = random.Random(f"{seed}:{index}:{captions[index]}")
        tokens, tags = [t.text for t in doc], [t.tag_ for t in doc]
        options.append([normalise_caption(text) for text in (captions[index], *perturb(tokens, tags, rng))])
    return options
