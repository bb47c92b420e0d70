"""Negative options: the authors' every-sense replacements (checked against NLTK), numbers, corpus
vocabulary, modifier-reorder swaps, a/an agreement, and their path from the training arguments."""

import json
import random
import re

import pytest
from helpers.repo import COCO_STYLE_CAPTIONS

from fsc_clip_hf.negatives import HardNegativeGenerator
from fsc_clip_hf.negatives.articles import agree_article, indefinite_article
from fsc_clip_hf.negatives.numbers import number_candidates
from fsc_clip_hf.negatives.replace import sample_replace
from fsc_clip_hf.negatives.svlc import WORD_LISTS
from fsc_clip_hf.negatives.vocabulary import Vocabulary, caption_words

EPOCHS = range(40)
COLOURS = {w for group in WORD_LISTS["colour"] for w in group}


def negatives(gen, caption, kind=None, epochs=EPOCHS):
    k = gen.types.index(kind) if kind else 0
    return [gen([caption], epoch=e)[k][0] for e in epochs]


# --------------------------------------------------------------------------- every sense (the authors)


def _authors_table(word, pos, memo=None):
    """The authors' replacement weights, the slow way on NLTK's objects: every sense of
    ``wn.synsets``, antonyms of all its lemmas, lemmas of hyponyms of hyponyms of grandparents
    (adjectives through derivationally related nouns and back); each lemma reached weighs
    max(1, count) of the first lemma of its name the process ever counted (``memo``, name -> count:
    their count cache is keyed by name and only kept names are counted), pointer sets iterated in
    offset order; synonyms (by name) dropped."""
    from collections import Counter

    from nltk.corpus import wordnet as wn

    def related(synset, symbol):
        return sorted(set(synset._related(symbol)), key=lambda s: s.offset())

    def cousins(synset):
        return [lemma for parent in related(synset, "@") for grandparent in related(parent, "@")
                for uncle in related(grandparent, "~") for cousin in related(uncle, "~") if cousin != synset
                for lemma in cousin.lemmas()]

    def co_hyponyms(synset):
        if synset.pos() not in ("a", "s"):
            return cousins(synset)
        nouns = sorted({r.synset() for lemma in synset.lemmas() for r in lemma.derivationally_related_forms()
                        if r.synset().pos() == "n"}, key=lambda s: s.offset())
        return [r for noun in nouns for lemma in cousins(noun) for r in lemma.derivationally_related_forms()
                if r.synset() != synset and r.synset().pos() in ("a", "s")]

    memo = {} if memo is None else memo
    synsets = wn.synsets(word, pos=pos)
    synonyms = {lemma.name() for synset in synsets for lemma in synset.lemmas()}
    weights = Counter()
    for synset in synsets:
        for lemma in [a for lemma in synset.lemmas() for a in lemma.antonyms()] + co_hyponyms(synset):
            if lemma.name() not in synonyms:
                weights[lemma.name()] += memo.setdefault(lemma.name(), max(lemma.count(), 1))
    return dict(weights)


@pytest.fixture(scope="module")
def nltk_wordnet():
    nltk = pytest.importorskip("nltk")
    from fsc_clip_hf.negatives import resources

    nltk.data.path.insert(0, str(resources.require_wordnet().parents[1]))


@pytest.fixture(scope="module")
def authors_memo_after_warmup(nltk_wordnet):
    """The authors' count memo after the searches of the shipped warm-up history."""
    from fsc_clip_hf.negatives.wordnet_senses import read_history

    memo = {}
    for word, pos in read_history():
        _authors_table(word, pos, memo)
    return memo


def _weights(lexicon, word, pos):
    words, cumulative = lexicon.candidates(word, pos)
    return {w: c - (cumulative[i - 1] if i else 0) for i, (w, c) in enumerate(zip(words, cumulative))}


@pytest.fixture(scope="module")
def all_senses():
    from fsc_clip_hf.negatives.generator import shared_all_senses

    return shared_all_senses()


WORDS = [("beach", "n"), ("wolves", "n"), ("he", "n"), ("red", "a"), ("white", "a"), ("wooden", "a"),
         ("riding", "v"), ("sitting", "v"), ("quickly", "r"), ("brown", "a"), ("giraffes", "n")]


@pytest.mark.parametrize("word,pos", WORDS)
def test_every_sense_table_of_a_fresh_search_equals_the_authors(nltk_wordnet, word, pos):
    from fsc_clip_hf.negatives.generator import shared_all_senses

    ours = _weights(shared_all_senses("word"), word, pos)
    assert ours == _authors_table(word, pos) and ours


@pytest.mark.parametrize("word,pos", WORDS)
def test_every_sense_table_after_the_warmup_equals_the_authors_process(all_senses, authors_memo_after_warmup,
                                                                        word, pos):
    # A copy: each word is searched as the first one after the warm-up.
    ours = _weights(all_senses, word, pos)
    assert ours == _authors_table(word, pos, dict(authors_memo_after_warmup)) and ours


def test_the_process_memo_lowers_the_colour_weight_the_fresh_search_gives(all_senses):
    from fsc_clip_hf.negatives.generator import shared_all_senses

    fresh = shared_all_senses("word")
    assert _weights(fresh, "white", "a")["black"] == 416  # black.a.01, reached first in white's own search

    def colour_share(weights):
        return sum(w for word, w in weights.items() if word in COLOURS) / sum(weights.values())

    for colour in ("red", "white", "black", "yellow", "gray"):  # to half or less for white, black, yellow
        assert colour_share(_weights(all_senses, colour, "a")) < 0.75 * colour_share(_weights(fresh, colour, "a"))


def test_the_shipped_warmup_is_the_replace_searches_of_the_caption_fixture():

    from fsc_clip_hf.negatives import resources
    from fsc_clip_hf.negatives.generator import shared_wordnet
    from fsc_clip_hf.negatives.wordnet_senses import AllSensesLexicon, read_history

    lexicon = AllSensesLexicon(shared_wordnet(), resources.require_wordnet())
    searches, search = {}, lexicon._search

    def logged(word, pos):
        searches.setdefault((word, pos), None)
        return search(word, pos)

    lexicon._search = logged
    gen = HardNegativeGenerator(style="replace", seed=0)
    gen._wordnet = lexicon
    captions = COCO_STYLE_CAPTIONS.read_text().split("\n")
    gen.build_candidates([c for c in captions if c.strip()])
    assert read_history() == list(searches) and len(searches) > 500


def test_every_sense_distribution_differs_from_the_first_sense(all_senses):
    """Colours reach far beyond colours through the other senses of "blue" and "white"."""
    from fsc_clip_hf.negatives.generator import shared_wordnet

    def colour_share(words, cumulative):
        weights = [c - (cumulative[i - 1] if i else 0) for i, c in enumerate(cumulative)]
        return sum(w for word, w in zip(words, weights) if word in COLOURS) / sum(weights)

    for colour in ("blue", "green"):
        assert colour_share(*shared_wordnet().candidates(colour, "a")) > 0.9
        assert colour_share(*all_senses.candidates(colour, "a")) < 0.2
    assert "Canis_aureus" in all_senses.candidates("dog", "n")[0]  # names keep their case
    assert "canis_aureus" not in shared_wordnet().candidates("dog", "n")[0]


def test_pronouns_and_proper_nouns_replaced_only_for_every_sense():
    caption = "He is holding a phone next to a dog in Paris."
    authors = [n for n in negatives(HardNegativeGenerator(style="replace", seed=0), caption) if n]
    first = [n for n in negatives(HardNegativeGenerator(style="replace", seed=0, replace_senses="first"), caption)
             if n]
    assert any(not n.startswith("He ") for n in authors) and any("Paris" not in n for n in authors)
    assert all(n.startswith("He ") and "Paris" in n for n in first)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("senses", ["all", "first"])
def test_numbers_never_replaced_by_default(senses):
    gen = HardNegativeGenerator(style="replace", seed=0, replace_senses=senses)
    caption = "Two dogs chase 3 cats and one bird in a park."
    outs = [n for n in negatives(gen, caption) if n]
    assert outs and all(n.startswith("Two ") and " 3 " in n and " one " in n for n in outs)


def test_numbers_same_form():
    gen = HardNegativeGenerator(style="replace", seed=0, replace_numbers="same_form")
    caption = "Two dogs chase 3 cats and one bird in a park."
    outs = [n for n in negatives(gen, caption, epochs=range(80)) if n]
    first_words = {n.split()[0] for n in outs} - {"Two"}
    digits = {n.split()[3] for n in outs if n.startswith("Two dogs chase ")} - {"3", "cats"}
    assert first_words and first_words <= {"Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"}
    assert digits and all(d.isdigit() and 2 <= int(d) <= 9 for d in digits)
    assert all(" one " in n for n in outs)  # the noun after "one" is singular: never replaced
    assert number_candidates("1990") == ((), ()) and number_candidates("1") == ((), ())
    assert len(number_candidates("42")[0]) == 89 and "42" not in number_candidates("42")[0]


# --------------------------------------------------------------------------- corpus vocabulary


def test_corpus_vocabulary_restricts_replacements(tmp_path):
    corpus = ["a man riding a horse on the beach", "a woman walking a dog in the park",
              "two girls riding bikes near the ocean", "a boy standing under a tree with a cat"]
    source = tmp_path / "train.jsonl"
    source.write_text("".join(json.dumps({"caption": c}) + "\n" for c in corpus))
    vocabulary = Vocabulary.load(source)
    assert caption_words("A T-shirt's colour, 2 dogs") == ["a", "t-shirt's", "colour", "2", "dogs"]
    assert "riding" in vocabulary and "in front of" not in vocabulary and len(vocabulary) == 23
    gen = HardNegativeGenerator(style="replace", seed=0, vocabulary=vocabulary)
    caption = "A man riding a horse on the beach."
    outs = [n for n in negatives(gen, caption) if n]
    assert len(set(outs)) >= 5
    for negative in outs:
        assert all(vocabulary.counts.get(w) for w in caption_words(negative)), negative
    unrestricted = [n for n in negatives(HardNegativeGenerator(style="replace", seed=0), caption) if n]
    assert any(not all(vocabulary.counts.get(w) for w in caption_words(n)) for n in unrestricted)
    saved = Vocabulary.load(vocabulary.save(tmp_path / "vocab.json"), min_count=2)
    assert saved.counts == vocabulary.counts and "riding" in saved and "horse" not in saved


# --------------------------------------------------------------------------- swaps of one noun's modifiers


def test_swap_skips_reordering_one_nouns_modifiers():
    caption = "a small yellow star next to a big red circle."
    reorders = {"a yellow small star next to a big red circle.", "a small yellow star next to a red big circle."}
    authors = set(negatives(HardNegativeGenerator(style="negclip", seed=0), caption))
    checked = negatives(HardNegativeGenerator(style="negclip", seed=0, swap_skip_modifier_reorder=True), caption)
    assert authors & reorders
    assert all(n is not None for n in checked) and not set(checked) & reorders
    assert "a small red star next to a big yellow circle." in checked  # across nouns: a real negative
    same = "The cat is small and grey."  # two adjectives of one subject, nothing else to swap
    assert set(negatives(HardNegativeGenerator(style="negclip", seed=0, swap_skip_modifier_reorder=True), same)) \
        == {None}


# --------------------------------------------------------------------------- a / an


@pytest.mark.parametrize("word,article", [("orange", "an"), ("apple", "an"), ("hour", "an"), ("unicorn", "a"),
                                          ("umbrella", "an"), ("one-way", "a"), ("SUV", "an"), ("TV", "a"),
                                          ("8", "an"), ("18", "an"), ("1", "a"), ("European", "a"), ("horse", "a")])
def test_indefinite_article(word, article):
    assert indefinite_article(word) == article


def test_article_agreement_in_replace_swap_and_svlc():
    lexicon = lambda pos, lemma, tag: (("orange",), (1,))  # noqa: E731
    rng = random.Random(0)
    assert sample_replace("A red couch", [2, 5, "a", "red", "JJ"], lexicon, rng) == "A orange couch"
    assert sample_replace("A red couch", [2, 5, "a", "red", "JJ"], lexicon, rng, article_agreement=True) == \
        "An orange couch"
    assert agree_article("a man and a elephant", 12) == "a man and an elephant"
    assert agree_article("banana split", 0) == "banana split"
    swapped = set(negatives(HardNegativeGenerator(style="negclip", seed=0, article_agreement=True),
                            "an old man and a young woman."))
    assert "a young man and an old woman." in swapped and "an young man and a old woman." not in swapped
    svlc = HardNegativeGenerator(style="svlc", seed=0, article_agreement=True)
    outs = negatives(svlc, "a red car next to a red bus.")
    assert outs and all(not re.search(r"\ba [aeiou]", n) and not re.search(r"\ban [^aeiou]", n) for n in outs if n)


def test_article_agreement_on_coco_style_replacements():
    """About 4 % of the authors' replace negatives break a/an; none with the option."""

    captions = COCO_STYLE_CAPTIONS.read_text().splitlines()[:150]

    def broken(outs):
        return sum(bool(re.search(r"\b(a [aeiou]\w|an [bcdfgjklmnpqrstvwxyz]\w)", n, re.IGNORECASE))
                   for n in outs if n)

    plain = HardNegativeGenerator(style="replace", seed=0)(captions)[0]
    fixed = HardNegativeGenerator(style="replace", seed=0, article_agreement=True)(captions)[0]
    before = broken(c for c in captions)
    assert broken(plain) > before and broken(fixed) <= before


# --------------------------------------------------------------------------- captions that must not crash


def test_bad_captions_never_crash_the_generator():
    gen = HardNegativeGenerator(style="fsc-clip", seed=0)
    huge = " ".join(["a red circle"] * 400_000)  # 5.2 M characters: spaCy refuses over 1 M (E088)
    out = gen(["\ud83d a red circle next to a blue square", huge, "\x00\x07", "a dog\udc80 on a sofa"])
    assert len(out) == 3 and all(len(column) == 4 for column in out)
    assert out[2][1] is not None  # the bounded caption is shuffled like any other


# --------------------------------------------------------------------------- from the training arguments


def test_training_arguments_reach_the_generator(tmp_path):
    from fsc_clip_hf.training.arguments import FSCTrainingArguments
    from fsc_clip_hf.training.pipeline import build_negative_generator

    source = tmp_path / "train.jsonl"
    source.write_text(json.dumps({"image": "a.png", "text": "a man riding a horse on the beach"}) + "\n")
    args = FSCTrainingArguments(output_dir=str(tmp_path / "out"), add_random_text_hard_negatives="fsc-clip",
                                train_data=str(source), caption_column="text", replace_senses="first",
                                replace_count_memo="word", replace_numbers="same_form", replace_vocabulary="corpus",
                                swap_skip_modifier_reorder=True, negatives_article_agreement=True)
    gen = build_negative_generator(args)
    assert (gen.replace_senses, gen.replace_count_memo, gen.replace_numbers, gen.swap_skip_modifier_reorder,
            gen.article_agreement) == ("first", "word", "same_form", True, True)
    assert "horse" in gen.vocabulary and "dog" not in gen.vocabulary
    defaults = build_negative_generator(FSCTrainingArguments(output_dir=str(tmp_path / "o"),
                                                             add_random_text_hard_negatives="fsc-clip"))
    assert defaults.options() == {"replace_senses": "all", "replace_count_memo": "process", "replace_numbers": "never",
                                  "vocabulary": "wordnet",
                                  "swap_skip_modifier_reorder": False, "article_agreement": False}
    with pytest.raises(ValueError, match="replace_vocabulary_file"):
        build_negative_generator(FSCTrainingArguments(output_dir=str(tmp_path / "o"), replace_vocabulary="corpus",
                                                      add_random_text_hard_negatives="replace",
                                                      train_data="laioncoco_100k"))
    with pytest.raises(ValueError, match="replace_senses"):
        HardNegativeGenerator(style="replace", replace_senses="most")
    with pytest.raises(ValueError, match="replace_count_memo"):
        HardNegativeGenerator(style="replace", replace_count_memo="worker")
