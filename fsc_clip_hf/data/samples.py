"""One raw sample to a usable (RGB image, clean caption) pair, counting what was dropped or repaired."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .captions import clean_caption
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE, decode_image, image_source_name
from .skips import BadSample, SkipStats


@dataclass
class ImageLimits:
    """Acceptance limits for decoded images (see ``images.decode_image``)."""

    min_side: int = DEFAULT_MIN_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS
    draft_size: int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES


def prepare_sample(image, caption, stats: SkipStats, limits: ImageLimits,
                   skip: str | None = None, detail: str = "") -> tuple[Image.Image, str] | None:
    """Decode and validate one sample; None (and one count under its reason) when it is unusable.

    ``skip`` is a reason already known upstream (a record that could not even be assembled).
    """
    stats.seen()
    if skip:
        stats.count(skip, detail)
        return None
    try:
        caption, repair = clean_caption(caption)
        image, converted = decode_image(image, min_side=limits.min_side, max_pixels=limits.max_pixels,
                                        max_bytes=limits.max_bytes, draft_size=limits.draft_size)
    except BadSample as bad:
        stats.count(bad.reason, f"{detail or image_source_name(image)}: {bad.detail}")
        return None
    if repair:
        stats.count(repair, caption)
    if converted:
        stats.count("image_mode_converted", image_source_name(image) if not detail else detail)
    return image, caption
