"""The synthetic world: deterministic, held-out combinations, eval files, a loadable word-level tokenizer."""

import hashlib
import json
import os
import random
import tarfile

import pytest
from transformers import CLIPProcessor, CLIPTokenizer

from fsc_clip_hf.data import load_image_text_dataset
from fsc_clip_hf.data.synthetic import (
    COLOURS,
    COMPOSITIONAL_SUBSETS,
    SHAPES,
    load_synthetic_world,
    write_synthetic_world,
)
from fsc_clip_hf.data.synthetic.scenes import describe, sample_scene
from fsc_clip_hf.data.synthetic.tokenizer import build_vocab_and_merges

SMALL = dict(num_train=40, num_test=24, image_size=32, shard_size=16)


def tree_digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_synthetic_world(str(root), seed=0, **SMALL)
    return load_synthetic_world(str(root))


def test_same_seed_same_bytes_other_seed_differs(world, tmp_path):
    write_synthetic_world(str(tmp_path / "again"), seed=0, **SMALL)
    write_synthetic_world(str(tmp_path / "other"), seed=1, **SMALL)
    assert tree_digest(world.root) == tree_digest(tmp_path / "again")
    assert tree_digest(world.root) != tree_digest(tmp_path / "other")


def test_training_data_in_both_published_layouts(world):
    rows = read_jsonl(world.train_jsonl)
    assert len(rows) == 40 and rows[0]["image"] == "images/train/000000.png"
    assert all(os.path.exists(os.path.join(world.root, r["image"])) for r in rows)
    shards = sorted(os.listdir(os.path.join(world.root, "train-shards")))
    assert shards == ["train-000000.tar", "train-000001.tar", "train-000002.tar"]
    with tarfile.open(os.path.join(world.root, "train-shards", shards[0])) as archive:
        assert archive.getnames()[:3] == ["000000.png", "000000.txt", "000000.json"]
    from_jsonl = load_image_text_dataset(world.train_jsonl, shuffle_buffer=0)
    from_shards = load_image_text_dataset(world.train_shards, shuffle_buffer=0)
    captions = sorted(r["caption"] for r in rows)
    assert sorted(s["caption"] for s in from_jsonl.dataset) == captions
    assert sorted(s["caption"] for s in from_shards.dataset) == captions
    image = next(iter(from_shards.dataset))["image"]
    assert image.size == (32, 32) and image.mode == "RGB"


def test_held_out_combinations_never_trained_but_tested(world):
    held = {tuple(p) for p in world.held_out}
    assert len(held) == 8
    trained = set()
    for shard in sorted(os.listdir(os.path.join(world.root, "train-shards"))):
        with tarfile.open(os.path.join(world.root, "train-shards", shard)) as archive:
            for member in archive:
                if member.name.endswith(".json"):
                    meta = json.load(archive.extractfile(member))
                    trained |= {(o["colour"], o["shape"]) for o in meta["objects"]}
    assert not trained & held
    tested = " ".join(r["captions"][0] for r in read_jsonl(os.path.join(world.eval_dir, "retrieval.jsonl")))
    assert any(f"{c} {s}" in tested for c, s in held)
    # every colour and every shape is still seen in training, only some pairs are not
    assert {c for c, _ in trained} == set(COLOURS) and {s for _, s in trained} == set(SHAPES)


def test_eval_sets(world):
    eval_dir = world.eval_dir
    compositional = read_jsonl(os.path.join(eval_dir, "compositional.jsonl"))
    assert {r["subset"] for r in compositional} == set(COMPOSITIONAL_SUBSETS)
    for row in compositional:
        assert os.path.exists(os.path.join(eval_dir, row["image"]))
        assert len(row["negatives"]) == 1 and row["negatives"][0] != row["caption"]
        if row["subset"] in ("swap_att", "swap_obj"):  # swaps keep the multiset of words
            assert sorted(row["negatives"][0].split()) == sorted(row["caption"].split())
    retrieval = read_jsonl(os.path.join(eval_dir, "retrieval.jsonl"))
    assert len(retrieval) == 24 and all(len(r["captions"]) >= 2 for r in retrieval)
    for task, classes in (("shape", SHAPES), ("colour", list(COLOURS))):
        folder = os.path.join(eval_dir, "zeroshot", task)
        with open(os.path.join(folder, "classnames.txt")) as f:
            assert f.read().split() == list(classes)
        with open(os.path.join(folder, "templates.txt")) as f:
            assert all("{c}" in line for line in f.read().splitlines())
        rows = read_jsonl(os.path.join(folder, "test.jsonl"))
        assert len(rows) == 24 and {r["label"] for r in rows} == set(range(len(classes)))
        assert all(os.path.exists(os.path.join(eval_dir, r["image"])) for r in rows)


def test_tokenizer_and_processor_load_and_round_trip(world):
    tokenizer = CLIPTokenizer.from_pretrained(world.processor_dir)
    processor = CLIPProcessor.from_pretrained(world.processor_dir)
    assert tokenizer.model_max_length == 77 and len(tokenizer) == world.vocab_size
    assert tokenizer.eos_token_id == world.vocab_size - 1 == world.pad_token_id
    assert tokenizer.bos_token_id == world.vocab_size - 2
    caption = "there is a small red circle to the left of a large blue square and a green star above the blue square"
    ids = tokenizer(caption)["input_ids"]
    assert len(ids) == len(caption.split()) + 2  # one token per word
    assert tokenizer.decode(ids, skip_special_tokens=True) == caption
    # words outside the world still tokenize (byte-level pieces) and round-trip
    odd = "a zebra, café & 42 ellipses!"
    decoded = tokenizer.decode(tokenizer(odd)["input_ids"], skip_special_tokens=True)
    assert decoded.replace(" ", "") == odd.replace(" ", "")
    assert processor.image_processor.crop_size["height"] == 32
    # the vocab.json / merges.txt pair alone is enough
    os.makedirs(os.path.join(world.root, "bare"), exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        os.link(os.path.join(world.processor_dir, name), os.path.join(world.root, "bare", name))
    assert CLIPTokenizer.from_pretrained(os.path.join(world.root, "bare"))(caption)["input_ids"] == ids


def test_word_level_merges_for_arbitrary_words():
    words = ["left", "large", "blue", "blur", "eel", "sleek", "lullaby", "a", "ab", "ba"]
    vocab, merges = build_vocab_and_merges(words)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    assert all(len(tokenizer.tokenize(w)) == 1 for w in words)


def test_captions_describe_the_layout():
    rng = random.Random(3)
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    for _ in range(200):
        scene = sample_scene(rng, 3, pairs)
        a, b, c = scene.things
        assert len({(t.colour, t.shape) for t in scene.things}) == 3
        assert len({a.cell, b.cell, c.cell}) == 3
        s, rel, o = scene.relations[0]
        dx, dy = b.cell[0] - a.cell[0], b.cell[1] - a.cell[1]
        steps = {"to the left of": (1, 0), "to the right of": (-1, 0), "above": (0, 1), "below": (0, -1)}
        assert steps[rel] == (dx, dy)
        assert describe(scene).startswith(a.phrase())


def test_generation_is_fast(tmp_path):
    import time

    start = time.perf_counter()
    write_synthetic_world(str(tmp_path / "w"), num_train=500, num_test=50, image_size=64)
    assert time.perf_counter() - start < 15  # ~2000 images at 64x64 in a few seconds on one core
