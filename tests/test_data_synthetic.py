"""The synthetic world: deterministic, equal-area shapes, true test negatives, prompts in the captions' words,
eval files, a loadable word-level tokenizer."""

import hashlib
import json
import os
import random
import tarfile

import numpy as np
import pytest
from transformers import CLIPProcessor, CLIPTokenizer

from fsc_clip_hf.data import load_image_text_dataset
from fsc_clip_hf.data.synthetic import (
    COLOURS,
    COMPOSITIONAL_SUBSETS,
    SHAPES,
    caption_holds,
    load_synthetic_world,
    write_synthetic_world,
)
from fsc_clip_hf.data.synthetic.render import render_scene
from fsc_clip_hf.data.synthetic.scenes import RELATIONS, Scene, Thing, describe, sample_scene
from fsc_clip_hf.data.synthetic.tokenizer import build_vocab_and_merges

SMALL = dict(num_train=40, num_test=60, image_size=32, shard_size=16)


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


def _scene(row):
    things = tuple(Thing(o["colour"], o["shape"], tuple(o["cell"])) for o in row["objects"])
    return Scene(things, tuple(tuple(r) for r in row["relations"]))


def test_every_test_negative_is_false_of_its_scene(world):
    """Under the world's semantics (the same relation read from either side), the caption holds and
    every negative does not; a swap exchanges attributes between objects differing in both colour and
    shape, so it is never the two objects trading places."""
    for split in (world.eval_dir, world.validation_dir):
        rows = read_jsonl(os.path.join(split, "compositional.jsonl"))
        assert {r["subset"] for r in rows} == set(COMPOSITIONAL_SUBSETS)
        for row in rows:
            scene = _scene(row)
            assert caption_holds(row["caption"], scene)
            assert not any(caption_holds(negative, scene) for negative in row["negatives"]), row
            if row["subset"] in ("swap_att", "swap_obj"):
                a, b = scene.things
                assert a.colour != b.colour and a.shape != b.shape
                place_swap = describe(Scene((b, a), ((0, row["relations"][0][1], 1),)))
                assert row["negatives"][0] != place_swap


def test_caption_semantics_read_relations_from_either_side():
    scene = Scene((Thing("red", "circle", (0, 0)), Thing("blue", "square", (1, 0))), ((0, "to the left of", 1),))
    assert caption_holds("a red circle to the left of a blue square", scene)
    assert caption_holds("there is a blue square to the right of a red circle", scene)
    assert not caption_holds("a blue square to the left of a red circle", scene)
    assert not caption_holds("a red circle above a blue square", scene)
    assert not caption_holds("a blue circle to the left of a red square", scene)  # attributes swapped
    assert caption_holds("a red circle", scene) and not caption_holds("a red square", scene)
    with pytest.raises(ValueError, match="not a caption"):
        caption_holds("a circle red left of", scene)


def test_shapes_cover_the_same_area():
    """Shape is told by outline, not by the amount of colour: every shape within 5 % of the circle (pixel edges; the old shapes differed 2.2x)."""
    areas = {}
    for shape in SHAPES:
        image = render_scene(Scene((Thing("black", shape, (0, 0)),)), 128, random.Random(0))
        areas[shape] = sum(1 for r, g, b in np.asarray(image).reshape(-1, 3).tolist() if r + g + b < 300)
    assert all(abs(area / areas["circle"] - 1) < 0.05 for area in areas.values()), areas


def test_zero_shot_prompts_use_only_trained_words(world):
    trained = {word for row in read_jsonl(world.train_jsonl) for word in row["caption"].split()}
    for task, classes in (("shape", SHAPES), ("colour", list(COLOURS))):
        with open(os.path.join(world.eval_dir, "zeroshot", task, "templates.txt")) as f:
            templates = f.read().splitlines()
        prompt_words = {word for t in templates for c in classes for word in t.replace("{c}", c).split()}
        assert prompt_words <= trained, prompt_words - trained
    assert trained <= set(world.vocabulary)


def test_validation_and_test_splits_hold_different_scenes(world):
    test = read_jsonl(os.path.join(world.eval_dir, "retrieval.jsonl"))
    validation = read_jsonl(os.path.join(world.validation_dir, "retrieval.jsonl"))
    assert len(test) == len(validation) == 60
    assert [r["captions"] for r in test] != [r["captions"] for r in validation]


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
    assert len(retrieval) == 60 and all(len(r["captions"]) >= 2 for r in retrieval)
    for task, classes in (("shape", SHAPES), ("colour", list(COLOURS))):
        folder = os.path.join(eval_dir, "zeroshot", task)
        with open(os.path.join(folder, "classnames.txt")) as f:
            assert f.read().split() == list(classes)
        with open(os.path.join(folder, "templates.txt")) as f:
            assert all("{c}" in line for line in f.read().splitlines())
        rows = read_jsonl(os.path.join(folder, "test.jsonl"))
        assert len(rows) == 60 and {r["label"] for r in rows} == set(range(len(classes)))
        assert all(os.path.exists(os.path.join(eval_dir, r["image"])) for r in rows)


def test_tokenizer_and_processor_load_and_round_trip(world):
    tokenizer = CLIPTokenizer.from_pretrained(world.processor_dir)
    processor = CLIPProcessor.from_pretrained(world.processor_dir)
    assert tokenizer.model_max_length == 77 and len(tokenizer) == world.vocab_size
    assert tokenizer.eos_token_id == world.vocab_size - 1 == world.pad_token_id
    assert tokenizer.bos_token_id == world.vocab_size - 2
    caption = "there is a red circle to the left of a blue square and a green star above the blue square"
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
        assert steps[rel] == (dx, dy) and set(steps) == set(RELATIONS)
        assert describe(scene).startswith(a.phrase())
        assert caption_holds(describe(scene), scene) and caption_holds(describe(scene, inverted=True), scene)


def test_generation_is_fast(tmp_path):
    import time

    start = time.perf_counter()
    write_synthetic_world(str(tmp_path / "w"), num_train=500, num_test=50, image_size=64)
    assert time.perf_counter() - start < 15  # ~700 images at 64x64 in a few seconds on one core
