"""Candidate cache: precompute CLI, disk round trip, caption readers, pickling."""

import json
import pickle
from pathlib import Path

import pytest

from fsc_clip_hf.negatives import HardNegativeGenerator
from fsc_clip_hf.negatives.__main__ import main as cli
from fsc_clip_hf.negatives.cache import CandidateStore, caption_key, read_captions

FIXTURE = Path(__file__).parent / "fixtures" / "coco_style_captions.txt"


@pytest.fixture(scope="module")
def captions():
    return FIXTURE.read_text().splitlines()[:24]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory, captions):
    """A cache written by the CLI from a .jsonl file, with two worker processes."""
    root = tmp_path_factory.mktemp("negcache")
    source = root / "captions.jsonl"
    source.write_text("".join(json.dumps({"caption": c, "image": f"{i}.png"}) + "\n" for i, c in enumerate(captions)))
    out = root / "cache"
    assert cli(["precompute", "--input", str(source), "--output", str(out), "--num_proc", "2",
                "--style", "fsc-clip", "--batch_size", "8"]) == 0
    return out


def test_cache_round_trip(cache_dir, captions):
    meta = json.loads((cache_dir / "manifest.json").read_text())
    assert meta["num_captions"] == len(captions) and meta["parts"] == ["swap", "replace"]
    fresh = HardNegativeGenerator(style="fsc-clip", seed=3)
    cached = HardNegativeGenerator(style="fsc-clip", seed=3, cache_dir=cache_dir)
    for epoch in (0, 1):
        assert cached(captions, epoch=epoch) == fresh(captions, epoch=epoch)
    # Everything came from the cache: no parse, no WordNet look-up in this generator.
    assert cached._parser is None and cached._wordnet is None and not cached._memory
    # A caption outside the cache is parsed and kept in memory.
    extra = "A boy flying a red kite on a windy hill."
    assert cached([extra]) == fresh([extra])
    assert extra in cached._memory


def test_cache_serves_other_styles_with_the_same_parts(cache_dir, captions):
    for style in ("negclip", "replace", "ngram_shuffle_3", "svlc"):
        cached = HardNegativeGenerator(style=style, seed=0, cache_dir=cache_dir)
        assert cached(captions) == HardNegativeGenerator(style=style, seed=0)(captions)


def test_cache_lookup_misses_and_missing_parts(cache_dir, tmp_path, captions):
    store = CandidateStore(cache_dir)
    assert len(store) == len(captions)
    found = store.lookup([captions[0], "not in the cache", captions[1]])
    assert found[0] is not None and found[1] is None and found[2] is not None
    assert caption_key("a") == caption_key("a") != caption_key("b")
    source = tmp_path / "c.txt"
    source.write_text("\n".join(captions[:3]) + "\n")
    assert cli(["precompute", "--input", str(source), "--output", str(tmp_path / "swap_only"), "--style", "negclip"]) == 0
    with pytest.raises(ValueError, match="lacks"):
        HardNegativeGenerator(style="fsc-clip", cache_dir=tmp_path / "swap_only")
    with pytest.raises(FileNotFoundError, match="precompute"):
        HardNegativeGenerator(style="negclip", cache_dir=tmp_path)


def test_read_captions_formats(tmp_path):
    (tmp_path / "a.txt").write_text("one caption\n\nanother caption\n")
    (tmp_path / "a.csv").write_text('image,text\n1.png,"a dog, running"\n2.png,a cat\n')
    (tmp_path / "a.jsonl").write_text('{"text": "x y"}\n\n{"text": "z"}\n')
    assert read_captions(tmp_path / "a.txt") == ["one caption", "another caption"]
    assert read_captions(tmp_path / "a.csv", "text") == ["a dog, running", "a cat"]
    assert read_captions(tmp_path / "a.jsonl", "text") == ["x y", "z"]
    with pytest.raises(KeyError):
        read_captions(tmp_path / "a.csv", "caption")


def test_generator_pickles_for_dataloader_workers(cache_dir, captions):
    gen = HardNegativeGenerator(style="fsc-clip", seed=5, cache_dir=cache_dir)
    expected = gen(captions[:6], epoch=4)
    clone = pickle.loads(pickle.dumps(gen))
    assert clone(captions[:6], epoch=4) == expected
