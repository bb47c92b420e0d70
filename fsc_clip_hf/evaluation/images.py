"""Where a benchmark image comes from, and how to open it.

Test items name their images by an image source; the embedding cache is keyed by ``source.key``, so an
image used by several items, subsets or benchmarks (COCO val2017 serves SugarCrepe, VALSE and What'sUp)
is embedded once per run. Three kinds of source:

* :class:`ImageFile`: a file on disk, optionally cropped to a box (ARO's VG sets, CREPE); ``.npy`` files
  hold BGR frames (EqBen's YouCook2 part);
* :class:`TarMember`: a member of an uncompressed tar (the ``clip-benchmark/wds_*`` shards), read by
  offset so that a shard is never unpacked;
* :class:`ImageBytes`: encoded bytes held in memory (Winoground loaded as a Hugging Face dataset),
  keyed by their SHA-1.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class ImageFile:
    """An image file; ``box`` = (left, top, right, bottom) in pixels crops it (PIL's convention)."""

    path: str
    box: tuple[float, float, float, float] | None = None

    @property
    def key(self) -> str:
        return self.path if self.box is None else f"{self.path}#crop={','.join(f'{v:g}' for v in self.box)}"

    def open(self) -> Image.Image:
        if self.path.endswith(".npy"):
            # EqBen stores its YouCook2 frames as BGR arrays.
            image = Image.fromarray(np.load(self.path)[:, :, ::-1].copy(), "RGB")
        else:
            with Image.open(self.path) as handle:
                image = handle.convert("RGB")
        return image if self.box is None else image.crop(self.box)


@dataclass(frozen=True)
class TarMember:
    """A file inside an uncompressed tar, located by the byte offset of its data."""

    tar_path: str
    name: str
    offset: int
    size: int

    @property
    def key(self) -> str:
        return f"{self.tar_path}::{self.name}"

    def open(self) -> Image.Image:
        with open(self.tar_path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(self.size)
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")


@dataclass(frozen=True)
class ImageBytes:
    """Encoded image bytes held in memory."""

    data: bytes = field(repr=False)

    @property
    def key(self) -> str:
        return "sha1:" + hashlib.sha1(self.data).hexdigest()

    def open(self) -> Image.Image:
        with Image.open(io.BytesIO(self.data)) as image:
            return image.convert("RGB")


ImageSource = ImageFile | TarMember | ImageBytes
