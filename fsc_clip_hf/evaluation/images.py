"""Where a benchmark image comes from, and how to open it.

Test items name their images by an image source; the embedding cache is keyed by ``source.key``, so an
image used by several items, subsets or benchmarks (COCO val2017 serves SugarCrepe, VALSE and What'sUp)
is embedded once per run. Four kinds of source:

* :class:`ImageFile`: a file on disk, optionally cropped to a box (ARO's VG sets, CREPE); ``.npy`` files
  hold BGR frames (EqBen's YouCook2 part);
* :class:`TarMember`: a member of an uncompressed tar (the ``clip-benchmark/wds_*`` shards), read by
  offset so that a shard is never unpacked;
* :class:`ImageBytes`: encoded bytes held in memory (Winoground loaded as a Hugging Face dataset),
  keyed by their SHA-1;
* :class:`ZipMember`: a member of a zip archive (ELEVATER's releases), read from its local header.

Images are decoded as open_clip's evaluation does (``convert("RGB")``), for scores comparable with the
published ones, with one exception: 16-bit greyscale is rescaled to 8 bits as in training, where
``convert`` would clip it to a white image. Files are opened as in training: regular files only, under
the size cap, header first (``fsc_clip_hf.data.images``); a member is read only up to the cap.
"""

from __future__ import annotations

import hashlib
import struct
import sys
import zipfile
import zlib
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


def _within_cap(key: str, size: int) -> None:
    if size > DEFAULT_MAX_BYTES:
        raise BadSample("file_too_large", f"{key}: {size} bytes, cap {DEFAULT_MAX_BYTES}")


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
        _within_cap(self.key, self.size)
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


@dataclass(frozen=True)
class ZipMember:
    """A file inside a zip archive, located by its local header (``zipfile.ZipInfo.header_offset``).

    Opening reads that header and the member's bytes only: the archive's central directory (50,000
    entries for ImageNet's) is parsed once, when the benchmark is read, never per image, and no open
    archive is shared between DataLoader workers.
    """

    zip_path: str
    name: str
    header_offset: int
    compress_size: int
    compress_type: int = zipfile.ZIP_STORED

    @property
    def key(self) -> str:
        return f"{self.zip_path}::{self.name}"

    def open(self) -> Image.Image:
        _within_cap(self.key, self.compress_size)
        regular_file(self.zip_path, max_bytes=sys.maxsize)
        with open(self.zip_path, "rb") as handle:
            handle.seek(self.header_offset)
            header = handle.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise ValueError(f"{self.key}: no zip member header at offset {self.header_offset}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            handle.seek(self.header_offset + 30 + name_length + extra_length)
            data = handle.read(self.compress_size)
        if self.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            data = inflater.decompress(data, DEFAULT_MAX_BYTES + 1)  # a deflate bomb stops at the cap
            _within_cap(self.key, len(data))
        elif self.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{self.key}: zip compression method {self.compress_type} is not supported")
        return _decode(data)


ImageSource = ImageFile | TarMember | ImageBytes | ZipMember
