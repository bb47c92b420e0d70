"""Photo-like JPEG training data for the data benchmark: the synthetic world's scenes as camera-sized JPEGs.

Real corpora are JPEG photos of 256-640 px, whose decoding is what limits a loader; the synthetic world's
64 px PNGs decode in a fraction of that. Each scene is drawn at the image height, centred on a wider
canvas, shaded by a smooth random colour field (lighting, background) and overlaid with grain at two
scales, so the JPEG carries a photo's entropy (about 100 KB at 640x480, quality 90, 4:2:0) rather
than a flat drawing's. The same samples are written as WebDataset shards and as a CSV table:

    out_dir/images/000000.jpg ...       the images
    out_dir/train.csv                   image,caption (paths relative to the table)
    out_dir/shards/train-000000.tar     000000.jpg, 000000.txt, 000000.json per sample
    out_dir/jpeg_world.json             the writer's arguments and the mean file size

Deterministic from the seed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tarfile
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from fsc_clip_hf.data.synthetic import COLOURS, SHAPES
from fsc_clip_hf.data.synthetic.render import render_scene
from fsc_clip_hf.data.synthetic.scenes import CAPTION_PREFIXES, describe, sample_scene

_OBJECT_COUNTS = (1, 2, 2, 3)
_META = "jpeg_world.json"


@dataclass
class JpegWorld:
    root: str
    num_images: int
    width: int
    height: int
    quality: int
    mean_bytes: float

    @property
    def table(self) -> str:
        return os.path.join(self.root, "train.csv")

    @property
    def shards(self) -> str:
        return os.path.join(self.root, "shards", "train-*.tar")

    @property
    def image_files(self) -> list[str]:
        return [os.path.join(self.root, "images", f"{i:06d}.jpg") for i in range(self.num_images)]


def photo_like(scene_image: Image.Image, width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """``scene_image`` (square, side <= height) centred on a ``width x height`` canvas with shading and grain."""
    canvas = np.empty((height, width, 3), dtype=np.float32)
    canvas[:] = np.asarray(scene_image.getpixel((0, 0)), dtype=np.float32)
    side = scene_image.width
    left, top = (width - side) // 2, (height - side) // 2
    canvas[top:top + side, left:left + side] = np.asarray(scene_image, dtype=np.float32)
    field = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((width, height),
                                                                                    Image.Resampling.BICUBIC)
    mid = Image.fromarray(rng.integers(0, 256, (height // 8, width // 8), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BILINEAR)
    pixels = (0.7 * canvas + 0.3 * np.asarray(field, dtype=np.float32)
              + 0.15 * (np.asarray(mid, dtype=np.float32)[..., None] - 128)
              + rng.normal(0.0, 6.0, (height, width, 1)).astype(np.float32))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    archive.addfile(info, io.BytesIO(data))


def write_jpeg_world(out_dir: str, num_images: int = 1000, width: int = 640, height: int = 480, quality: int = 90,
                     seed: int = 0, shard_size: int = 250) -> JpegWorld:
    """Write ``num_images`` photo-like JPEGs with captions as shards and a CSV (layout: module docstring)."""
    if width < height:
        raise ValueError(f"write_jpeg_world: width {width} < height {height}; landscape images only")
    rng, pixels_rng = random.Random(seed), np.random.default_rng(seed)
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "shards"), exist_ok=True)
    rows, archive, total = [], None, 0
    for i in range(num_images):
        if i % shard_size == 0:
            if archive is not None:
                archive.close()
            archive = tarfile.open(os.path.join(out_dir, "shards", f"train-{i // shard_size:06d}.tar"), "w",
                                   format=tarfile.USTAR_FORMAT)
        scene = sample_scene(rng, rng.choice(_OBJECT_COUNTS), pairs)
        caption = describe(scene, prefix=rng.choice(CAPTION_PREFIXES), inverted=rng.random() < 0.5)
        image = photo_like(render_scene(scene, height, rng), width, height, pixels_rng)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        data = buffer.getvalue()
        total += len(data)
        key = f"{i:06d}"
        with open(os.path.join(out_dir, "images", key + ".jpg"), "wb") as f:
            f.write(data)
        rows.append({"image": f"images/{key}.jpg", "caption": caption})
        _add_member(archive, key + ".jpg", data)
        _add_member(archive, key + ".txt", caption.encode())
        _add_member(archive, key + ".json", json.dumps({"key": key, "caption": caption}).encode())
    if archive is not None:
        archive.close()
    with open(os.path.join(out_dir, "train.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["image", "caption"])
        writer.writeheader()
        writer.writerows(rows)
    world = JpegWorld(out_dir, num_images, width, height, quality, total / max(num_images, 1))
    meta = {k: v for k, v in asdict(world).items() if k != "root"}
    with open(os.path.join(out_dir, _META), "w", encoding="utf-8") as f:
        json.dump({**meta, "seed": seed}, f)
    return world


def load_or_write_jpeg_world(out_dir: str, num_images: int, width: int, height: int, quality: int,
                             seed: int = 0) -> JpegWorld:
    """The world already in ``out_dir`` if it was written with these arguments, else a new one there."""
    try:
        with open(os.path.join(out_dir, _META), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        meta = {}
    if meta.get("seed") == seed and (meta.get("num_images"), meta.get("width"), meta.get("height"),
                                     meta.get("quality")) == (num_images, width, height, quality):
        return JpegWorld(out_dir, num_images, width, height, quality, meta["mean_bytes"])
    return write_jpeg_world(out_dir, num_images, width, height, quality, seed)
