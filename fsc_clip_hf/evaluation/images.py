"""Where a benchmark image comes from, and how to open it.

Test items name their images by an image source; the embedding cache is keyed by ``source.key``, so an
image used by several items, subsets or benchmarks (COCO val2017 serves SugarCrepe, VALSE and What'sUp)
is embedded once per run. Three kinds of source:

* :class:`ImageFile`: a file on disk, optionally cropped to a box (ARO's VG sets, CREPE); ``.npy`` files
  hold BGR frames (EqBen's YouCook2 part);
* :class:`TarMember`: a member of an uncompressed tar (the ``clip-benchmark/wds_*`` shards), read by
  offset so that a shard is never unpacked;
* :class:`ImageBytes`: encoded bytes held in memory (Winoground loaded as a Hugging Face dataset),
  keyed by their SHA-1;
* :class:`ZipMember`: a member of a zip archive (ELEVATER's releases), read from its local header.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
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
        with open(self.zip_path, "rb") as handle:
            handle.seek(self.header_offset)
            header = handle.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise ValueError(f"{self.key}: no zip member header at offset {self.header_offset}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            handle.seek(self.header_offset + 30 + name_length + extra_length)
            data = handle.read(self.compress_size)
        if self.compress_type == zipfile.ZIP_DEFLATED:
            data = zlib.decompress(data, -zlib.MAX_WBITS)
        elif self.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{self.key}: zip compression method {self.compress_type} is not supported")
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")


ImageSource = ImageFile | TarMember | ImageBytes | ZipMember
