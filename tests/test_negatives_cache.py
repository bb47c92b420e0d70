"""Candidate cache: precompute CLI, disk round trip, caption readers, pickling."""

import json
import pickle

import pytest
from helpers.repo import COCO_STYLE_CAPTIONS

from fsc_clip_hf.negatives import HardNegativeGenerator
from fsc_clip_hf.negatives.__main__ import main as cli
from fsc_clip_hf.negatives.cache import CandidateStore, caption_key
from fsc_clip_hf.negatives.corpus import read_captions
from fsc_clip_hf.negatives.precompute import precompute


@pytest.fixture(scope="module")
def captions():
    return COCO_STYLE_CAPTIONS.read_text().splitlines()[:24]


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
    with pytest.raises(ValueError, match="caption_column='caption' not found"):
        read_captions(tmp_path / "a.csv", "caption")


def test_generator_pickles_for_dataloader_workers(cache_dir, captions):
    gen = HardNegativeGenerator(style="fsc-clip", seed=5, cache_dir=cache_dir)
    expected = gen(captions[:6], epoch=4)
    clone = pickle.loads(pickle.dumps(gen))
    assert clone(captions[:6], epoch=4) == expected


# --------------------------------------------------------------------------- atomic, resumable, checked


def test_cache_records_candidate_options(tmp_path, captions):
    source = tmp_path / "c.txt"
    source.write_text("\n".join(captions[:4]) + "\n")
    assert cli(["precompute", "--input", str(source), "--output", str(tmp_path / "first"),
                "--replace_senses", "first", "--replace_numbers", "same_form"]) == 0
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    assert manifest["options"] == {"replace_senses": "first", "replace_count_memo": "process",
                                   "replace_numbers": "same_form"}
    cached = HardNegativeGenerator(cache_dir=tmp_path / "first", replace_senses="first", replace_numbers="same_form")
    assert cached(captions[:4]) == HardNegativeGenerator(replace_senses="first", replace_numbers="same_form")(
        captions[:4])
    with pytest.raises(ValueError, match="replace_senses='first' \\(asked for 'all'\\)"):
        HardNegativeGenerator(cache_dir=tmp_path / "first", replace_numbers="same_form")
    with pytest.raises(ValueError, match="replace_count_memo='process' \\(asked for 'word'\\)"):
        HardNegativeGenerator(cache_dir=tmp_path / "first", replace_senses="first", replace_count_memo="word",
                              replace_numbers="same_form")


def test_damaged_cache_is_refused_with_the_file_named(tmp_path, captions):
    import shutil

    source = tmp_path / "c.txt"
    source.write_text("\n".join(captions[:4]) + "\n")
    precompute(source, tmp_path / "cache", style="negclip")
    arrow = next((tmp_path / "cache" / "captions").glob("*.arrow"))
    with open(arrow, "r+b") as handle:
        handle.truncate(arrow.stat().st_size // 2)
    with pytest.raises(ValueError, match=r"damaged: captions/.*\.arrow"):
        HardNegativeGenerator(style="negclip", cache_dir=tmp_path / "cache")
    shutil.rmtree(tmp_path / "cache")
    precompute(source, tmp_path / "cache", style="negclip")
    (tmp_path / "cache" / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="not a complete hard-negative cache"):
        HardNegativeGenerator(style="negclip", cache_dir=tmp_path / "cache")


def test_interrupted_precompute_keeps_the_old_cache_and_resumes(tmp_path, captions, monkeypatch):
    import fsc_clip_hf.negatives.precompute as writer

    old_source, source = tmp_path / "old.txt", tmp_path / "new.txt"
    old_source.write_text("\n".join(captions[:3]) + "\n")
    source.write_text("\n".join(captions[:12]) + "\n")
    out = tmp_path / "cache"
    precompute(old_source, out, style="negclip")
    parsed = []
    real_rows = writer._candidate_rows

    def counting(batch, **kwargs):
        parsed.extend(batch["caption"])
        if len(parsed) > 8:
            raise KeyboardInterrupt  # killed while the third chunk is parsed
        return real_rows(batch, **kwargs)

    monkeypatch.setattr(writer, "_candidate_rows", counting)
    with pytest.raises(KeyboardInterrupt):
        precompute(source, out, style="negclip", chunk_size=4, batch_size=4)
    # The previous cache is whole and still served.
    assert len(CandidateStore(out)) == 3 and (tmp_path / ".cache.partial").is_dir()
    parsed.clear()
    monkeypatch.setattr(writer, "_candidate_rows", lambda batch, **kw: parsed.extend(batch["caption"]) or real_rows(
        batch, **kw))
    precompute(source, out, style="negclip", chunk_size=4, batch_size=4)
    assert parsed == captions[8:12]  # the two finished chunks were not parsed again
    assert len(CandidateStore(out)) == 12 and not (tmp_path / ".cache.partial").exists()
    fresh = HardNegativeGenerator(style="negclip", seed=1)
    assert HardNegativeGenerator(style="negclip", seed=1, cache_dir=out)(captions[:12]) == fresh(captions[:12])
    # Another job in the same place starts clean.
    (tmp_path / ".cache.partial" / "chunks").mkdir(parents=True)
    (tmp_path / ".cache.partial" / "job.json").write_text("{}")
    precompute(old_source, out, style="negclip")
    assert len(CandidateStore(out)) == 3
    (tmp_path / "not_a_cache").mkdir()
    (tmp_path / "not_a_cache" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a hard-negative cache"):
        precompute(old_source, tmp_path / "not_a_cache", style="negclip")
    assert (tmp_path / "not_a_cache" / "notes.txt").read_text() == "mine"


def test_precompute_stores_normalised_captions_and_their_vocabulary(tmp_path):
    source = tmp_path / "c.txt"
    source.write_text("fish &amp; chips on a plate\nA dog on a sofa\n")
    out = precompute(source, tmp_path / "cache", style="negclip")
    assert CandidateStore(out).lookup(["fish & chips on a plate"])[0] is not None
    vocabulary = json.loads((out / "vocabulary.json").read_text())["counts"]
    assert vocabulary["a"] == 3 and vocabulary["fish"] == 1 and "amp" not in vocabulary
