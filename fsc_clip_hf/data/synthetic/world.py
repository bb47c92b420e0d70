"""Writing the synthetic world to disk in the layouts the real sources and evaluations read.

    out_dir/world.json                       SyntheticWorld metadata
    out_dir/processor/                       CLIPProcessor (word-level CLIPTokenizer + CLIPImageProcessor)
    out_dir/images/train/000000.png ...      training images
    out_dir/train.jsonl                      {"image": "images/train/000000.png", "caption": ...}
    out_dir/train-shards/train-000000.tar    the same samples as WebDataset (png, txt, json)
    out_dir/eval/compositional.jsonl         {"image", "caption", "negatives": [...], "subset", "objects", "relations"}
    out_dir/eval/zeroshot/<task>/            classnames.txt, templates.txt, test.jsonl {"image", "label"}
    out_dir/eval/retrieval.jsonl             {"image", "captions": [...]}
    out_dir/validation/...                   the same layout, other scenes: for choosing the world and the
                                             steps, never reported by the demo
    (eval image paths are relative to their split's folder)

Every (colour, shape) pair is trained; the evaluation splits hold new scenes (combinations of pairs,
places and relations) of the same pairs. Everything is a function of the seed: the same arguments give
byte-identical files.
"""

from __future__ import annotations

import io
import json
import os
import random
import tarfile
from dataclasses import asdict, dataclass, field

from transformers import CLIPImageProcessorPil, CLIPProcessor

from .render import render_scene
from .scenes import (
    CAPTION_PREFIXES,
    COLOURS,
    COMPOSITIONAL_SUBSETS,
    RELATIONS,
    SHAPES,
    Scene,
    Thing,
    compositional_negative,
    describe,
    sample_scene,
    vocabulary,
)
from .tokenizer import save_word_tokenizer

# Object-count mix of the scenes: one, two or three objects.
_OBJECT_COUNTS = (1, 2, 2, 3)
# The prompts are the captions' own phrases: a shape is named with each colour and a colour with each
# shape (averaged over these templates), so no prompt word is one that training never saw.
ZEROSHOT_TEMPLATES = {
    "shape": tuple(f"a {colour} {{c}}" for colour in COLOURS),
    "colour": tuple(f"a {{c}} {shape}" for shape in SHAPES),
}
EVAL_SPLITS = ("eval", "validation")  # test (reported) and validation (for choices) folders


@dataclass
class SyntheticWorld:
    """What a written world holds; ``load_synthetic_world`` reads it back from ``world.json``."""

    root: str
    seed: int
    image_size: int
    num_train: int
    num_test: int
    colours: list[str]
    shapes: list[str]
    relations: list[str]
    vocabulary: list[str]
    vocab_size: int
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int
    compositional_subsets: list[str] = field(default_factory=lambda: list(COMPOSITIONAL_SUBSETS))

    @property
    def processor_dir(self) -> str:
        return os.path.join(self.root, "processor")

    @property
    def train_jsonl(self) -> str:
        return os.path.join(self.root, "train.jsonl")

    @property
    def train_shards(self) -> str:
        """Glob of the WebDataset shards."""
        return os.path.join(self.root, "train-shards", "train-*.tar")

    @property
    def eval_dir(self) -> str:
        """The test split, the one the demo reports."""
        return os.path.join(self.root, "eval")

    @property
    def validation_dir(self) -> str:
        """The validation split, for choosing settings; same layout as ``eval_dir``."""
        return os.path.join(self.root, "validation")


def load_synthetic_world(out_dir: str) -> SyntheticWorld:
    with open(os.path.join(out_dir, "world.json"), encoding="utf-8") as f:
        meta = json.load(f)
    return SyntheticWorld(root=out_dir, **meta)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_jsonl(path: str, rows) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def _add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # fixed metadata: byte-identical shards
    archive.addfile(info, io.BytesIO(data))


def _write_image(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _write_training_set(out_dir, rng, count, pairs, image_size, shard_size) -> None:
    rows, shard_dir = [], os.path.join(out_dir, "train-shards")
    os.makedirs(shard_dir, exist_ok=True)
    archive = None
    for i in range(count):
        if i % shard_size == 0:
            if archive is not None:
                archive.close()
            shard = os.path.join(shard_dir, f"train-{i // shard_size:06d}.tar")
            archive = tarfile.open(shard, "w", format=tarfile.USTAR_FORMAT)
        scene = sample_scene(rng, rng.choice(_OBJECT_COUNTS), pairs)
        caption = describe(scene, prefix=rng.choice(CAPTION_PREFIXES), inverted=rng.random() < 0.5)
        data = _png(render_scene(scene, image_size, rng))
        key, rel = f"{i:06d}", f"images/train/{i:06d}.png"
        _write_image(os.path.join(out_dir, rel), data)
        rows.append({"image": rel, "caption": caption})
        _add_member(archive, key + ".png", data)
        _add_member(archive, key + ".txt", caption.encode())
        _add_member(archive, key + ".json", json.dumps({"key": key, "caption": caption, **scene.to_json()}).encode())
    if archive is not None:
        archive.close()
    _write_jsonl(os.path.join(out_dir, "train.jsonl"), rows)


def _write_eval_sets(eval_dir, rng, count, pairs, image_size) -> None:
    """One evaluation split: ``count`` scenes (retrieval, and compositional items from the two-object ones)
    and ``count`` single-object zero-shot images."""
    compositional, retrieval = [], []
    for i in range(count):
        scene = sample_scene(rng, rng.choice(_OBJECT_COUNTS), pairs)
        rel = f"images/test-{i:06d}.png"
        _write_image(os.path.join(eval_dir, rel), _png(render_scene(scene, image_size, rng)))
        captions = [describe(scene), describe(scene, prefix="there is ")]
        if scene.relations:
            captions.append(describe(scene, inverted=True))
        retrieval.append({"image": rel, "captions": captions})
        if len(scene.things) == 2:
            for subset in COMPOSITIONAL_SUBSETS:
                negative = compositional_negative(scene, subset, rng)
                if negative is not None:
                    compositional.append({"image": rel, "caption": describe(scene), "negatives": [negative],
                                          "subset": subset, **scene.to_json()})
    _write_jsonl(os.path.join(eval_dir, "compositional.jsonl"), compositional)
    _write_jsonl(os.path.join(eval_dir, "retrieval.jsonl"), retrieval)

    # Zero-shot: single objects cycling over every (colour, shape), labelled by shape and by colour.
    all_pairs = list(pairs)
    rng.shuffle(all_pairs)
    labels = {"shape": [], "colour": []}
    for i in range(count):
        colour, shape = all_pairs[i % len(all_pairs)]
        scene = Scene((Thing(colour, shape, (rng.randint(0, 1), rng.randint(0, 1))),))
        rel = f"images/zeroshot-{i:06d}.png"
        _write_image(os.path.join(eval_dir, rel), _png(render_scene(scene, image_size, rng)))
        labels["shape"].append({"image": rel, "label": SHAPES.index(shape)})
        labels["colour"].append({"image": rel, "label": list(COLOURS).index(colour)})
    for task, classnames in (("shape", list(SHAPES)), ("colour", list(COLOURS))):
        task_dir = os.path.join(eval_dir, "zeroshot", task)
        os.makedirs(task_dir, exist_ok=True)
        with open(os.path.join(task_dir, "classnames.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(classnames) + "\n")
        with open(os.path.join(task_dir, "templates.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(ZEROSHOT_TEMPLATES[task]) + "\n")
        _write_jsonl(os.path.join(task_dir, "test.jsonl"), labels[task])


def write_synthetic_world(out_dir: str, seed: int = 0, num_train: int = 5000, num_test: int = 400,
                          image_size: int = 64, shard_size: int = 500) -> str:
    """Generate the world into ``out_dir`` (see the module docstring for the layout); returns ``out_dir``.

    Args:
        seed: everything (scenes, jitter) derives from it.
        num_train: training image-caption pairs (JSONL and WebDataset shards of ``shard_size``).
        num_test: scenes (compositional + retrieval sets) and zero-shot images of each evaluation split.
        image_size: side of the square images and of the processor's crop.
    """
    rng = random.Random(seed)
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    _write_training_set(out_dir, rng, num_train, pairs, image_size, shard_size)
    for split in EVAL_SPLITS:
        _write_eval_sets(os.path.join(out_dir, split), rng, num_test, pairs, image_size)

    words = vocabulary()
    processor_dir = os.path.join(out_dir, "processor")
    tokenizer = save_word_tokenizer(words, processor_dir)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": image_size},
                                            crop_size={"height": image_size, "width": image_size})
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(processor_dir)

    meta = asdict(SyntheticWorld(
        root=out_dir, seed=seed, image_size=image_size, num_train=num_train, num_test=num_test,
        colours=list(COLOURS), shapes=list(SHAPES), relations=list(RELATIONS), vocabulary=words,
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    meta.pop("root")  # the folder can move; load_synthetic_world fills it in
    with open(os.path.join(out_dir, "world.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    return out_dir
