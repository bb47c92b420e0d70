"""Training-image augmentation: open_clip's train transform, on PIL, seeded per sample.

The authors train on open_clip's `image_transform(is_train=True)`: torchvision's
`RandomResizedCrop(size, scale=(0.9, 1.0), ratio=(3/4, 4/3), interpolation=BICUBIC)` straight to the
square input (no centre crop), then normalisation; evaluation keeps resize + centre crop.
torchvision cannot be imported beside the CPU torch used here, so the crop is written on PIL with
torchvision's sampling rule: up to 10 draws of an area share (uniform in `scale`) and an aspect ratio
(log-uniform in `ratio`); the first that fits gives the box, at a uniform position; if none fits,
the central crop of the largest box within the ratio bounds (the whole image when its own ratio is
inside them). A box covering at least 90 % of the area is at least 0.9 times as elongated as the
image, so an image more elongated than (4/3) / 0.9 ≈ 1.48 (a 3:2 photo, a 16:9 frame) never fits a
draw and always gets that central box, whatever its area share (3:2: 89 %). The box is cut out and resized with PIL's bicubic
filter, as torchvision does for PIL images.

Draws come from a `random.Random` seeded for each sample (the collator derives the seed from the run's
seed, the epoch and the sample), so a crop does not depend on the worker that made it or on where a
resumed run restarted.
"""

from __future__ import annotations

import math
import random

from PIL import Image

TRAIN_TRANSFORMS = ("open_clip", "eval")
# open_clip's AugmentationCfg defaults and torchvision's RandomResizedCrop ratio.
OPEN_CLIP_SCALE = (0.9, 1.0)
OPEN_CLIP_RATIO = (3 / 4, 4 / 3)


def random_resized_crop_box(width: int, height: int, rng: random.Random, scale=OPEN_CLIP_SCALE,
                            ratio=OPEN_CLIP_RATIO) -> tuple[int, int, int, int]:
    """torchvision's `RandomResizedCrop.get_params` rule: the crop box `(left, top, width, height)`."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = rng.randint(0, height - h)
            left = rng.randint(0, width - w)
            return left, top, w, h
    # Central fallback.
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        w, h = int(round(height * max(ratio))), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


class RandomResizedCrop:
    """`transform(image, seed)` → the `size × size` training view of a PIL image (open_clip's train crop).

    Args:
        size: the model's square input side (the image processor's crop size).
        scale, ratio: the bounds of the crop's area share and aspect ratio.
    """

    def __init__(self, size: int, scale=OPEN_CLIP_SCALE, ratio=OPEN_CLIP_RATIO):
        self.size, self.scale, self.ratio = size, tuple(scale), tuple(ratio)

    def __call__(self, image: Image.Image, seed: int) -> Image.Image:
        left, top, w, h = random_resized_crop_box(*image.size, random.Random(seed), self.scale, self.ratio)
        return image.crop((left, top, left + w, top + h)).resize((self.size, self.size), Image.Resampling.BICUBIC)

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio}, bicubic)"


def build_train_transform(name: str, size: int) -> RandomResizedCrop | None:
    """`train_transform` option → the collator's transform (None: train on the evaluation transform)."""
    if name not in TRAIN_TRANSFORMS:
        raise ValueError(f"train_transform={name!r}; expected one of {TRAIN_TRANSFORMS}")
    return RandomResizedCrop(size) if name == "open_clip" else None
