"""Small files in the published layouts for the data tests: images of every odd kind, tar shards."""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import zlib

import numpy as np
from PIL import Image


def image_bytes(mode: str = "RGB", size=(24, 20), fmt: str = "PNG", colour=None) -> bytes:
    """An encoded image; pixel values vary so that PNG / JPEG compress something real."""
    w, h = size
    ramp = (np.arange(w * h).reshape(h, w) * 7 % 251).astype(np.uint8)
    if mode == "I;16":
        image = Image.fromarray(ramp.astype("<u2") * 257)
    elif mode in ("L", "1"):
        image = Image.fromarray(ramp).convert(mode)
    else:
        rgb = Image.fromarray(np.stack([ramp, ramp[::-1], np.full_like(ramp, colour or 90)], -1))
        image = rgb.convert(mode) if mode != "P" else rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    data = image_bytes(size=(64, 48), fmt="JPEG")
    return data[: len(data) // 2]


def write_tar(path: str, samples: list[tuple[str, dict[str, bytes]]], cut: int | None = None) -> str:
    """Write ``[(key, {ext: bytes})]`` as a tar; ``cut`` truncates the file to that many bytes."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tarfile.open(path, "w") as archive:
        for key, fields in samples:
            for ext, data in fields.items():
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    if cut is not None:
        with open(path, "r+b") as f:
            f.truncate(cut)
    return path


def good_sample(key: str, caption: str, **extra) -> tuple[str, dict[str, bytes]]:
    meta = {"key": key, "caption": caption, **extra}
    return key, {"jpg": image_bytes(fmt="JPEG"), "txt": caption.encode(), "json": json.dumps(meta).encode()}


def write_jsonl(path: str, rows: list[dict]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    return path


def write_image(path: str, data: bytes | None = None) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if data is not None else image_bytes())
    return path
