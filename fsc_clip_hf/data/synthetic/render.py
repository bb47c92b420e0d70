"""Drawing scenes with PIL: a 2x2 grid of cells, each object jittered inside its cell.

Sizes are absolute (a "large" object is always about 0.75 of a cell, a "small" one 0.4), so size is
a property of the object, not of the layout. Drawn at 2x and downsampled for smooth edges.
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw

from .scenes import COLOURS, Scene, Thing

_SUPERSAMPLE = 2
_RADIUS = {"small": 0.2, "large": 0.375}  # radius as a fraction of the cell side
_BACKGROUND = (236, 236, 232)


def _regular_polygon(cx, cy, r, n, start_deg, inner=None):
    points = []
    steps = 2 * n if inner else n
    for i in range(steps):
        angle = math.radians(start_deg + 360.0 * i / steps)
        radius = inner * r if inner and i % 2 else r
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _draw_thing(draw: ImageDraw.ImageDraw, thing: Thing, cx: float, cy: float, r: float, fill) -> None:
    if thing.shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif thing.shape == "square":
        h = 0.85 * r
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=fill)
    elif thing.shape == "triangle":
        draw.polygon(_regular_polygon(cx, cy + 0.15 * r, 1.1 * r, 3, -90), fill=fill)
    elif thing.shape == "star":
        draw.polygon(_regular_polygon(cx, cy, 1.1 * r, 5, -90, inner=0.45), fill=fill)
    elif thing.shape == "diamond":
        w = 0.7 * r
        draw.polygon([(cx, cy - r), (cx + w, cy), (cx, cy + r), (cx - w, cy)], fill=fill)
    elif thing.shape == "hexagon":
        draw.polygon(_regular_polygon(cx, cy, r, 6, 0), fill=fill)
    else:
        raise ValueError(f"unknown shape {thing.shape!r}")


def render_scene(scene: Scene, image_size: int, rng: random.Random) -> Image.Image:
    """The scene as an RGB image (image_size, image_size); small colour and position jitter from ``rng``."""
    side = image_size * _SUPERSAMPLE
    tint = rng.randint(-8, 8)
    image = Image.new("RGB", (side, side), tuple(v + tint for v in _BACKGROUND))
    draw = ImageDraw.Draw(image)
    cell = side / 2
    for thing in scene.things:
        r = _RADIUS[thing.size] * cell
        slack = cell / 2 - 1.1 * r  # how far the centre may move and keep the object inside its cell
        cx = (thing.cell[0] + 0.5) * cell + rng.uniform(-slack, slack)
        cy = (thing.cell[1] + 0.5) * cell + rng.uniform(-slack, slack)
        fill = tuple(max(0, min(255, v + rng.randint(-12, 12))) for v in COLOURS[thing.colour])
        _draw_thing(draw, thing, cx, cy, r, fill)
    return image.resize((image_size, image_size), Image.Resampling.BOX)
