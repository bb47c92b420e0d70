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

Images are decoded as open_clip's evaluation does (``convert("RGB")``), for scores comparable with the
published ones, with one exception: 16-bit greyscale is rescaled to 8 bits as in training, where
``convert`` would clip it to a white image. Files are opened as in training: regular files only, under
the size cap, header first (``fsc_clip_hf.data.images``).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..data.images import DEFAULT_MAX_BYTES, SIXTEEN_BIT_MODES, open_image, regular_file, rescale_high_depth
from ..data.skips import BadSample


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in SIXTEEN_BIT_MODES:
        image = rescale_high_depth(image)
    return image.convert("RGB")


def _decode(source) -> Image.Image:
    with open_image(source) as image:
        return _rgb(image)


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
            regular_file(self.path)
            image = Image.fromarray(np.load(self.path)[:, :, ::-1].copy(), "RGB")
        else:
            image = _decode(self.path)
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
        if self.size > DEFAULT_MAX_BYTES:
            raise BadSample("file_too_large", f"{self.key}: {self.size} bytes, cap {DEFAULT_MAX_BYTES}")
        regular_file(self.tar_path, max_bytes=sys.maxsize)
        with open(self.tar_path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(self.size)
        return _decode(data)


@dataclass(frozen=True)
class ImageBytes:
    """Encoded image bytes held in memory."""

    data: bytes = field(repr=False)

    @property
    def key(self) -> str:
        return "sha1:" + hashlib.sha1(self.data).hexdigest()

    def open(self) -> Image.Image:
        return _decode(self.data)


ImageSource = ImageFile | TarMember | ImageBytes
