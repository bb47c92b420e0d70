"""Drawing scenes with PIL: a 2x2 grid of cells, each object jittered inside its cell.

Every shape covers the same area (that of a circle of radius 0.3 cell), so shape can only be told by
outline, never by the amount of colour. Drawn at 2x and downsampled for smooth edges.
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw

from .scenes import COLOURS, Scene, Thing

_SUPERSAMPLE = 2
_AREA = math.pi * 0.3 ** 2  # of every object, as a fraction of a cell's area
_BACKGROUND = (236, 236, 232)


def _regular_polygon(n: int, start_deg: float, inner: float | None = None) -> list[tuple[float, float]]:
    """Unit-radius outline: a regular n-gon, or with ``inner`` an n-pointed star of that inner radius."""
    steps = 2 * n if inner else n
    radii = [inner if inner and i % 2 else 1.0 for i in range(steps)]
    return [(r * math.cos(math.radians(start_deg + 360.0 * i / steps)),
             r * math.sin(math.radians(start_deg + 360.0 * i / steps))) for i, r in enumerate(radii)]


def _area(points) -> float:
    """Shoelace area of a polygon."""
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]))) / 2


def _centred(points):
    """The polygon moved so that its centroid (of the vertices) is the origin."""
    cx, cy = sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points)
    return [(x - cx, y - cy) for x, y in points]


# Unit outlines scaled to area _AREA (cell side 1); the circle is drawn as an ellipse of that area.
_OUTLINES = {
    "square": _regular_polygon(4, 45),
    "triangle": _centred(_regular_polygon(3, -90)),
    "star": _regular_polygon(5, -90, inner=0.5),
    # Thin arms: a thick cross at this resolution is a blob, told from a square or a circle by no one.
    "cross": [(0.2, 1), (0.2, 0.2), (1, 0.2), (1, -0.2), (0.2, -0.2), (0.2, -1), (-0.2, -1),
              (-0.2, -0.2), (-1, -0.2), (-1, 0.2), (-0.2, 0.2), (-0.2, 1)],
    "diamond": [(0, -1), (0.7, 0), (0, 1), (-0.7, 0)],
}
_OUTLINES = {shape: [(x * math.sqrt(_AREA / _area(p)), y * math.sqrt(_AREA / _area(p))) for x, y in p]
             for shape, p in _OUTLINES.items()}
_CIRCLE_RADIUS = math.sqrt(_AREA / math.pi)


def _extent(shape: str) -> float:
    """The farthest point of the shape from its centre (cell side 1)."""
    if shape == "circle":
        return _CIRCLE_RADIUS
    return max(math.hypot(x, y) for x, y in _OUTLINES[shape])


def _draw_thing(draw: ImageDraw.ImageDraw, thing: Thing, cx: float, cy: float, cell: float, fill) -> None:
    if thing.shape == "circle":
        r = _CIRCLE_RADIUS * cell
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif thing.shape in _OUTLINES:
        draw.polygon([(cx + x * cell, cy + y * cell) for x, y in _OUTLINES[thing.shape]], fill=fill)
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
        slack = cell * (0.5 - _extent(thing.shape)) - 1  # how far the centre may move and keep the object in its cell
        cx = (thing.cell[0] + 0.5) * cell + rng.uniform(-slack, slack)
        cy = (thing.cell[1] + 0.5) * cell + rng.uniform(-slack, slack)
        fill = tuple(max(0, min(255, v + rng.randint(-12, 12))) for v in COLOURS[thing.colour])
        _draw_thing(draw, thing, cx, cy, cell, fill)
    return image.resize((image_size, image_size), Image.Resampling.BOX)
