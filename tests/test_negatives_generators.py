"""Hard-negative generators: hand examples per type, invariants on COCO-style captions, determinism."""

import random
import re
from collections import Counter

import pytest
from helpers.repo import COCO_STYLE_CAPTIONS

from fsc_clip_hf.negatives import HardNegativeGenerator, parse_style
from fsc_clip_hf.negatives.inflection import inflect, match_case
from fsc_clip_hf.negatives.prepositions import PREPOSITIONS
from fsc_clip_hf.negatives.replace import sample_replace
from fsc_clip_hf.negatives.shuffle import sample_ngram_shuffle
from fsc_clip_hf.negatives.svlc import sample_svlc

EPOCHS = range(30)


def words(text):
    """Word/punctuation multiset used by the swap and shuffle invariants."""
    return Counter(re.findall(r"\w+|[^\w\s]", text))


def replaced_element(gen, caption, negative):
    """The scene-graph element of ``caption`` whose replacement gives ``negative`` (everything
    else untouched, capitalisation kept), or None."""
    elements = gen.candidates([caption])[0]["replace"]
    for start, end in zip(elements[0::5], elements[1::5]):
        head, tail = caption[:start], caption[end:]
        if negative.startswith(head) and negative.endswith(tail) and len(negative) > len(head) + len(tail) - 1:
            new = negative[len(head):len(negative) - len(tail)]
            # A capital stays (a lower-case word may become a proper name: "a Scotland Yard").
            if new and new.lower() != caption[start:end].lower() and (new[0].isupper() or not caption[start].isupper()):
                return caption[start:end], new
    return None


@pytest.fixture(scope="module")
def fsc():
    return HardNegativeGenerator(style="fsc-clip", seed=0)


@pytest.fixture(scope="module")
def coco_captions():
    return COCO_STYLE_CAPTIONS.read_text().splitlines()


def per_epoch(gen, caption, kind):
    k = gen.types.index(kind)
    return [gen([caption], epoch=e)[k][0] for e in EPOCHS]


# --------------------------------------------------------------------------- styles


def test_styles_and_types():
    assert parse_style("negclip") == (("swap",), 0)
    assert parse_style("replace") == (("replace",), 0)
    assert parse_style("svlc") == (("svlc",), 0)
    assert parse_style("ngram_shuffle_3") == (("shuffle",), 3)
    assert parse_style("fsc-clip") == (("swap", "replace", "shuffle"), 2)
    for bad in ("ngram_shuffle_6", "swap", ""):
        with pytest.raises(ValueError, match="unknown hard-negative style"):
            parse_style(bad)


def test_output_shape_and_none(fsc):
    captions = ["A man riding a horse on the beach.", "Dogs.", ""]
    out = fsc(captions)
    assert len(out) == 3 and all(len(column) == 3 for column in out)
    assert [column[1] for column in out] == [None, None, None]  # nothing to edit in "Dogs."
    assert [column[2] for column in out] == [None, None, None]
    with pytest.raises(TypeError):
        fsc("a single string")


# --------------------------------------------------------------------------- swap


def test_swap_adjectives(fsc):
    negatives = set(per_epoch(fsc, "a white dog on a red sofa", "swap"))
    assert "a red dog on a white sofa" in negatives
    assert "a white sofa on a red dog" in negatives  # the noun kind
    for negative in negatives:
        assert words(negative) == words("a white dog on a red sofa")


def test_swap_plurals_punctuation_and_capitals(fsc):
    caption = "Two dogs chase three cats, while a boy watches."
    negatives = set(per_epoch(fsc, caption, "swap"))
    assert "Two cats chase three dogs, while a boy watches." in negatives
    for negative in negatives:
        assert negative != caption and words(negative) == words(caption)
        assert negative.endswith(".") and negative.count(",") == 1


def test_swap_verbs(fsc):
    caption = "A man is riding a horse and a woman is walking a dog."
    negatives = set(per_epoch(fsc, caption, "swap"))
    assert "A man is walking a horse and a woman is riding a dog." in negatives


def test_swap_nothing_to_swap(fsc):
    assert per_epoch(fsc, "A dog.", "swap")[0] is None


# --------------------------------------------------------------------------- replace


def test_replace_hand_example(fsc):
    caption = "A man riding a horse on the beach."
    negatives = [n for n in per_epoch(fsc, caption, "replace") if n]
    assert len(negatives) == len(EPOCHS)
    replaced = [replaced_element(fsc, caption, n) for n in negatives]
    assert all(replaced), negatives
    # Over the epochs several elements get edited: objects, the verb, the preposition.
    assert {old for old, _ in replaced} <= {"man", "riding", "horse", "on", "beach"}
    assert len({old for old, _ in replaced}) >= 3


def test_replace_multiword_preposition(fsc):
    caption = "A cat sleeping on top of a laptop."
    prefix, suffix = "A cat sleeping ", " a laptop."
    negatives = [n for n in per_epoch(fsc, caption, "replace") if n]
    swapped_prepositions = [n[len(prefix):-len(suffix)] for n in negatives
                            if n.startswith(prefix) and n.endswith(suffix)]
    assert swapped_prepositions, negatives
    for preposition in swapped_prepositions:
        assert preposition in PREPOSITIONS and preposition != "on top of"


def test_replace_keeps_plural_and_tense():
    # The first sense: every sense reaches mass nouns ("dogs" -> "capacitance") that have no plural.
    gen = HardNegativeGenerator(style="replace", seed=0, replace_senses="first")
    caption = "Two dogs are chasing three cats in the park."
    negatives = [n for n in per_epoch(gen, caption, "replace") if n]
    assert negatives
    for negative in negatives:
        old, new = replaced_element(gen, caption, negative)
        if old in ("dogs", "cats"):
            assert new.endswith("s") or new.endswith(("men", "ren", "ice", "eese", "ee", "ep")), (old, new)
        if old == "chasing":
            assert new.split()[0].endswith("ing"), (old, new)


def test_replace_inflection_and_capitals_with_a_stub_lexicon():
    lexicon = {("n", "man"): (("woman",), (1,)), ("v", "ride"): (("walk",), (1,)),
               ("p", "near"): (("behind", "under"), (1, 2))}
    rng = random.Random(0)
    assert sample_replace("Men at work", [0, 3, "n", "man", "NNS"], lambda p, l, t: lexicon[(p, l)], rng) == \
        "Women at work"
    assert sample_replace("A boy rode a horse", [6, 10, "v", "ride", "VBD"],
                          lambda p, l, t: lexicon[(p, l)], rng) == "A boy walked a horse"
    assert sample_replace("STOP near the sign", [5, 9, "p", "near", "IN"], lambda p, l, t: lexicon[(p, l)],
                          rng).split()[1] in ("behind", "under")
    assert inflect("ice_cream", "n", "NNS") == "ice creams"
    assert inflect("pick_up", "v", "VBG") == "picking up"
    assert inflect("small", "a", "JJR") == "smaller"
    assert match_case("Dog", "cat") == "Cat" and match_case("DOG", "cat") == "CAT" and match_case("dog", "cat") == "cat"


def test_replace_needs_two_entities(fsc):
    assert per_epoch(fsc, "Two horses standing next to each other.", "replace")[0] is None


# --------------------------------------------------------------------------- shuffle


def test_ngram_shuffle_keeps_words_and_final_punctuation():
    gen = HardNegativeGenerator(style="ngram_shuffle_2", seed=1)
    caption = "A man riding a horse on the beach."
    negatives = [gen([caption], epoch=e)[0][0] for e in EPOCHS]
    assert all(n and n != caption and words(n) == words(caption) for n in negatives)
    assert all(" ." not in n for n in negatives)  # no space before punctuation
    # "A man", "riding a", "horse on", "the beach" move as units.
    assert all("A man" in n and "the beach" in n for n in negatives)
    assert any(not n.endswith(".") for n in negatives)  # the full stop is put back anywhere


def test_ngram_shuffle_rejects_identity_and_single_ngram():
    # Every order of "dog dog" reads the same: rejected 10 times, no negative.
    assert sample_ngram_shuffle("dog dog", [0, 3, 0, 4, 7, 0], 1, random.Random(0)) is None
    # "dog dog." is a single bigram once the final full stop is set aside.
    assert sample_ngram_shuffle("dog dog.", [0, 3, 0, 4, 7, 0, 7, 8, 1], 2, random.Random(0)) is None
    # Moving only the final full stop to the front reads the same: never returned.
    tokens = [0, 1, 0, 2, 5, 0, 6, 10, 0, 10, 11, 1]  # "a dog runs."
    outs = {sample_ngram_shuffle("a dog runs.", tokens, 3, random.Random(s)) for s in range(20)}
    assert outs == {None}


# --------------------------------------------------------------------------- svlc


def test_svlc_replaces_every_occurrence_in_one_list():
    gen = HardNegativeGenerator(style="svlc", seed=0)
    caption = "Red car next to a red bus."
    negatives = {gen([caption], epoch=e)[0][0] for e in EPOCHS}
    colour_changes = [n for n in negatives if n.endswith(" bus.") and "car next to" in n]
    assert colour_changes
    for negative in colour_changes:
        first, second = negative.split()[0], negative.split()[5]
        assert first == second.capitalize() and first != "Red"
    assert gen(["Nothing matches here."])[0][0] is None


def test_svlc_keeps_number_and_synonyms_apart():
    tokens = [0, 1, 0, 2, 6, 0, 7, 10, 0]  # "a grey cat"
    outs = {sample_svlc("a grey cat", tokens, random.Random(s)) for s in range(50)}
    assert "a gray cat" not in outs and all(o != "a grey cat" for o in outs)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_negatives_and_epochs_differ(fsc, coco_captions):
    captions = coco_captions[:40]
    again = HardNegativeGenerator(style="fsc-clip", seed=0)
    assert fsc(captions, epoch=2) == again(captions, epoch=2)
    assert fsc(captions, epoch=2) != fsc(captions, epoch=3)
    assert fsc(captions, epoch=2) != HardNegativeGenerator(style="fsc-clip", seed=1)(captions, epoch=2)
    # A caption's negatives do not depend on the batch it comes in.
    alone = [fsc([c], epoch=2) for c in captions[:5]]
    batch = fsc(captions[:5], epoch=2)
    assert [[column[0] for column in a] for a in alone] == [[column[i] for column in batch] for i in range(5)]
    # The swap type is the same whether it comes from negclip or fsc-clip.
    negclip = HardNegativeGenerator(style="negclip", seed=0)
    assert negclip(captions, epoch=2)[0] == fsc(captions, epoch=2)[0]


# --------------------------------------------------------------------------- invariants


def test_invariants_on_coco_style_captions(fsc, coco_captions):
    swap, replace, shuffle = fsc(coco_captions, epoch=0)
    for caption, s, r, h in zip(coco_captions, swap, replace, shuffle):
        for negative in (s, r, h):
            assert negative is None or negative.lower() != caption.lower()
        if s is not None:
            assert words(s) == words(caption), (caption, s)
        if h is not None:
            assert words(h) == words(caption), (caption, h)
        if r is not None:
            assert replaced_element(fsc, caption, r), (caption, r)
    assert sum(s is not None for s in swap) / len(swap) >= 0.97
    assert sum(r is not None for r in replace) / len(replace) >= 0.98
    assert all(h is not None for h in shuffle)


def test_candidates_are_cached_per_caption(fsc, coco_captions, monkeypatch):
    fsc(coco_captions[:10])
    monkeypatch.setattr(fsc, "build_candidates", lambda captions: pytest.fail("parsed again"))
    assert fsc(coco_captions[:10], epoch=7) == fsc(coco_captions[:10], epoch=7)
