"""Safe image decoding: any stored image (bytes, path, ``datasets`` Image dict) to an RGB PIL image.

Every failure raises ``BadSample`` with a typed reason instead of an arbitrary PIL/OS error, so the
data pipeline can drop and count the sample. Odd colour modes are converted to RGB and reported
back so they can be counted as repaired.

A path is opened only when it is a regular file under the size cap (``/dev/zero`` would be read
forever, a FIFO would block, a multi-GB file would fill the memory), and only the header is read
before the declared size is checked. The evaluation opens its images the same way
(``evaluation/images.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageOps

from .skips import BadSample

# Below this side length an image carries no usable content (tracking pixels, icons, spacer gifs).
DEFAULT_MIN_SIDE = 10
# Cap on the *declared* size, checked from the header before any pixel is decoded: a 1 kB PNG can
# declare 100k x 100k pixels and exhaust memory when loaded. 40 MP still admits 8000 x 5000 photos.
DEFAULT_MAX_PIXELS = 40_000_000

# Cap on the bytes of one image file or tar member: far above any 40 MP photo (an uncompressed 16-bit
# RGB TIFF of 40 MP is 240 MB), far below the multi-GB file that would exhaust a worker's memory.
DEFAULT_MAX_BYTES = 256 << 20

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
# Greyscale deeper than 8 bits (16-bit PNG opens as "I;16", or "I" in older Pillow) and float images.
SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_HIGH_DEPTH_MODES = SIXTEEN_BIT_MODES | {"F"}


def image_source_name(source) -> str:
    """A short description of where an image comes from, for log messages."""
    if isinstance(source, dict):
        return str(source.get("path") or "<bytes>")
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"<{type(source).__name__}>"


def regular_file(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """The size of ``path`` once it is known to be a regular file of 1 to ``max_bytes`` bytes.

    Raises:
        BadSample: missing_file, not_a_file (a device, FIFO, socket or folder), empty_file,
            file_too_large or unreadable_file.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError as err:
        raise BadSample("missing_file", path) from err
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise BadSample("unreadable_file", f"{path}: {err}") from err
    if not stat.S_ISREG(info.st_mode):
        raise BadSample("not_a_file", path)
    if info.st_size == 0:
        raise BadSample("empty_file", path)
    if info.st_size > max_bytes:
        raise BadSample("file_too_large", f"{path}: {info.st_size} bytes, cap {max_bytes}")
    return info.st_size


@contextlib.contextmanager
def open_image(source, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Image.Image]:
    """Open lazily (header only) from bytes, a path, or a ``{"bytes", "path"}`` dict; a file is closed on exit.

    Raises:
        BadSample: as ``regular_file``, or missing_image, decompression_bomb, undecodable_image.
    """
    if isinstance(source, dict):
        source = source["bytes"] if source.get("bytes") is not None else source.get("path")
    if source is None or (isinstance(source, str) and not source):
        raise BadSample("missing_image")
    with contextlib.ExitStack() as stack:
        if isinstance(source, (bytes, bytearray, memoryview)):
            if len(source) == 0:
                raise BadSample("empty_file", "0 bytes")
            if len(source) > max_bytes:
                raise BadSample("file_too_large", f"{len(source)} bytes, cap {max_bytes}")
            stream = io.BytesIO(source)
        elif isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            regular_file(path, max_bytes)
            try:
                stream = stack.enter_context(open(path, "rb"))
            except OSError as err:
                raise BadSample("unreadable_file", f"{path}: {err}") from err
        else:
            raise BadSample("missing_image", f"unsupported image value of type {type(source).__name__}")
        try:
            with warnings.catch_warnings():
                # PIL warns (and above 2x its own limit raises) on huge declared sizes; we apply our own cap.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(stream)
        except Image.DecompressionBombError as err:
            raise BadSample("decompression_bomb", str(err)) from err
        except Exception as err:  # hostile input makes PIL's parsers raise many types; none may stop a run
            raise BadSample("undecodable_image", f"{type(err).__name__}: {err}") from err
        yield image


def rescale_high_depth(image: Image.Image) -> Image.Image:
    """A 16-bit (or float) greyscale image as 8-bit greyscale, its range rescaled: ``convert("L")`` would
    clip every value above 255 to white."""
    values = np.asarray(image, dtype=np.float32)
    top = float(values.max()) if values.size else 0.0
    if image.mode == "F":
        low = float(values.min()) if values.size else 0.0
        values = (values - low) * (255.0 / max(top - low, 1e-6))
    elif top > 255:
        values = values / 257.0
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))  # 2-D uint8: mode L


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparent areas become white, high bit depths are rescaled."""
    if image.mode in _HIGH_DEPTH_MODES:
        image = rescale_high_depth(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def decode_image(
    source,
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    draft_size: int | None = None,
) -> tuple[Image.Image, bool]:
    """Decode ``source`` to a fully loaded RGB image.

    Args:
        source: encoded bytes, a file path, a ``{"bytes": ..., "path": ...}`` dict (the ``datasets``
            Image storage form) or an already decoded PIL image.
        min_side: smallest accepted width/height, in pixels.
        max_pixels: largest accepted declared width*height (decompression-bomb guard).
        max_bytes: largest accepted encoded size (a file is opened only if it is a regular file this small).
        draft_size: if set, JPEGs are decoded at the smallest DCT scale whose shorter side stays
            >= draft_size (2-8x faster for big photos that will be resized down anyway).

    Returns:
        (image, converted): the RGB image (H, W, 3) and whether a colour-mode conversion happened.

    Raises:
        BadSample: with reason missing_image, missing_file, not_a_file, empty_file, file_too_large,
            unreadable_file, undecodable_image, truncated_image, image_too_small or decompression_bomb.
    """
    if isinstance(source, Image.Image):
        return _decode(source, min_side, max_pixels, draft_size)
    with open_image(source, max_bytes) as image:
        return _decode(image, min_side, max_pixels, draft_size)


def _decode(image: Image.Image, min_side: int, max_pixels: int, draft_size: int | None) -> tuple[Image.Image, bool]:
    width, height = image.size
    if width * height > max_pixels:
        raise BadSample("decompression_bomb", f"{width}x{height} declared, cap {max_pixels} pixels")
    if min(width, height) < min_side:
        raise BadSample("image_too_small", f"{width}x{height}, minimum side {min_side}")
    if draft_size is not None and image.format == "JPEG":
        image.draft("RGB", (draft_size, draft_size))
    try:
        image.load()
        image = _upright(image)
        converted = image.mode != "RGB"
        return _to_rgb(image), converted
    except Image.DecompressionBombError as err:
        raise BadSample("decompression_bomb", str(err)) from err
    except OSError as err:
        truncated = "truncated" in str(err) or "broken data stream" in str(err)
        raise BadSample("truncated_image" if truncated else "undecodable_image", str(err)) from err
    except Exception as err:  # as in open_image: decoders raise ValueError, SyntaxError, struct.error, ...
        raise BadSample("undecodable_image", f"{type(err).__name__}: {err}") from err


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a malformed EXIF block leaves the pixels as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except (KeyError, ValueError, TypeError, SyntaxError, struct.error):
        return image
