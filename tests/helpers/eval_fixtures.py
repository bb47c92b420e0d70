"""A CLIP stand-in whose similarities a test can compute by hand, and helpers to write benchmark files.

``ColourCLIP`` embeds an image as its mean (red, green, blue) and a caption as its counts of the words
"red", "green" and "blue" (plus 1e-3, 2e-3, 3e-3, so that no vector is zero). A red image therefore
prefers any caption that says "red" over one that says "blue"; captions with the same colour words tie,
and a tie counts as wrong. It also counts what it embedded, for the cache and multi-process tests.
"""

import json
import os
from collections import Counter

import numpy as np
import torch
from PIL import Image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
COLOUR_WORDS = ("red", "green", "blue")


class ColourProcessor:
    def __call__(self, images=None, text=None, **kwargs):
        if images is not None:
            means = [torch.from_numpy(np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(0) / 255 + 1e-4)
                     for image in images]
            return {"pixel_values": torch.stack(means)}
        counts = [[Counter(t.lower().replace(",", " ").split())[w] + 1e-3 * (i + 1) for i, w in enumerate(COLOUR_WORDS)]
                  for t in text]
        return {"input_ids": torch.tensor(counts), "attention_mask": torch.ones(len(text), 3)}


class ColourCLIP:
    training = False

    def __init__(self):
        self.images_embedded = 0
        self.texts_embedded = 0

    def eval(self):
        return self

    def get_image_features(self, pixel_values):
        self.images_embedded += len(pixel_values)
        return pixel_values

    def get_text_features(self, input_ids, attention_mask=None):
        self.texts_embedded += len(input_ids)
        return input_ids


def colours(red=0, green=0, blue=0, prefix="a") -> str:
    """A caption with the given numbers of colour words (its ColourCLIP direction)."""
    return " ".join([prefix, *["red"] * red, *["green"] * green, *["blue"] * blue, "thing"])


def image(path, colour=RED, size=(8, 8)):
    """A solid image (PNG, or JPEG at full quality for .jpg paths)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    picture = Image.new("RGB", size, colour)
    picture.save(path, quality=100) if str(path).endswith((".jpg", ".jpeg")) else picture.save(path)
    return str(path)


def halves(path, left=RED, right=BLUE, size=(16, 8)):
    """An image whose left half is ``left`` and right half ``right``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    picture = Image.new("RGB", size, left)
    picture.paste(Image.new("RGB", (size[0] // 2, size[1]), right), (size[0] // 2, 0))
    picture.save(path, quality=100) if str(path).endswith((".jpg", ".jpeg")) else picture.save(path)
    return str(path)


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle)


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_synthetic_eval(root):
    """A tiny eval folder in the synthetic world's layout; hand-computed scores in test_eval_suite."""
    image(root / "images" / "red.png", RED)
    image(root / "images" / "blue.png", BLUE)
    image(root / "images" / "green.png", GREEN)
    write_jsonl(root / "compositional.jsonl", [
        {"image": "images/red.png", "caption": "a red square", "negatives": ["a blue square"], "subset": "swap_att"},
        {"image": "images/blue.png", "caption": "a blue square", "negatives": ["a square blue"], "subset": "swap_att"},
        {"image": "images/green.png", "caption": "green", "negatives": ["red", "blue"], "subset": "replace_att"},
    ])
    folder = root / "zeroshot" / "colour"
    write_text(folder / "classnames.txt", "red\ngreen\nblue\n")
    write_text(folder / "templates.txt", "a {c} shape\na photo of {c}\n")
    write_jsonl(folder / "test.jsonl", [{"image": "images/red.png", "label": 0},
                                        {"image": "images/blue.png", "label": 1}])
    write_jsonl(root / "retrieval.jsonl", [{"image": "images/red.png", "captions": ["red", "a red thing"]},
                                           {"image": "images/blue.png", "captions": ["red blue red"]}])
    return str(root)
