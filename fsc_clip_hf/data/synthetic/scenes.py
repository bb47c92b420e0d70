"""Scenes of the synthetic world: objects, their layout, and English captions about them.

A scene holds 1-3 objects, each a (size, colour, shape) at a position. Two objects are linked by a
spatial relation ("to the left of", "above", ...); a third one is placed next to the second.
Captions are plain English noun phrases and relations, so that a spaCy-based negative generator
parses them like real captions.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 39, 40), "green": (44, 160, 44), "blue": (31, 90, 220), "yellow": (240, 200, 20),
    "purple": (140, 70, 190), "orange": (250, 130, 20), "pink": (240, 120, 190), "black": (25, 25, 25),
}
SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon")
SIZES = ("small", "large")
# relation -> (its inverse, grid step (dx, dy) from the subject's cell to the object's cell)
RELATIONS: dict[str, tuple[str, tuple[int, int]]] = {
    "to the left of": ("to the right of", (1, 0)),
    "to the right of": ("to the left of", (-1, 0)),
    "above": ("below", (0, 1)),
    "below": ("above", (0, -1)),
}
CAPTION_PREFIXES = ("", "a picture of ", "an image of ", "there is ")
COMPOSITIONAL_SUBSETS = ("swap_att", "swap_obj", "swap_rel", "replace_att", "replace_obj")


@dataclass(frozen=True)
class Thing:
    """One object; ``cell`` is its (column, row) in the 2x2 layout grid."""

    size: str
    colour: str
    shape: str
    cell: tuple[int, int]

    def phrase(self, article: str = "a") -> str:
        return f"{article} {self.size} {self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """Objects plus the relations between them: (subject index, relation, object index)."""

    things: tuple[Thing, ...]
    relations: tuple[tuple[int, str, int], ...] = field(default=())

    def to_json(self) -> dict:
        return {"objects": [asdict(t) for t in self.things], "relations": [list(r) for r in self.relations]}


def describe(scene: Scene, prefix: str = "", inverted: bool = False) -> str:
    """An English caption; ``inverted`` states the first relation from the other object's side."""
    things = scene.things
    if not scene.relations:
        return prefix + things[0].phrase()
    s, rel, o = scene.relations[0]
    if inverted:
        s, rel, o = o, RELATIONS[rel][0], s
    text = f"{prefix}{things[s].phrase()} {rel} {things[o].phrase()}"
    for s2, rel2, o2 in scene.relations[1:]:
        anchor = things[o2]
        text += f" and {things[s2].phrase()} {rel2} the {anchor.colour} {anchor.shape}"
    return text


def held_out_pairs(rng: random.Random, count: int = 8) -> list[tuple[str, str]]:
    """(colour, shape) combinations kept out of training; each colour and shape stays seen elsewhere."""
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    rng.shuffle(pairs)
    chosen, per_colour, per_shape = [], {}, {}
    for colour, shape in pairs:
        if per_colour.get(colour, 0) < 1 and per_shape.get(shape, 0) < 2:
            chosen.append((colour, shape))
            per_colour[colour] = per_colour.get(colour, 0) + 1
            per_shape[shape] = per_shape.get(shape, 0) + 1
        if len(chosen) == count:
            break
    return sorted(chosen)


def _attributes(rng: random.Random, allowed, taken: set) -> tuple[str, str, str]:
    while True:
        colour, shape = rng.choice(allowed)
        if (colour, shape) not in taken:
            return rng.choice(SIZES), colour, shape


def sample_scene(rng: random.Random, num_objects: int, pairs: list[tuple[str, str]]) -> Scene:
    """A random scene of ``num_objects`` objects whose (colour, shape) come from ``pairs``.

    Two objects sit in adjacent cells of a 2x2 grid as the relation says; a third takes the free
    cell adjacent to the second. No two objects share colour and shape, so every phrase is unambiguous.
    """
    taken: set = set()

    def thing(cell):
        size, colour, shape = _attributes(rng, pairs, taken)
        taken.add((colour, shape))
        return Thing(size, colour, shape, cell)

    if num_objects == 1:
        return Scene((thing((rng.randint(0, 1), rng.randint(0, 1))),))
    rel = rng.choice(list(RELATIONS))
    dx, dy = RELATIONS[rel][1]
    # Subject cell such that the object's cell stays inside the grid.
    sx = rng.randint(max(0, -dx), min(1, 1 - dx))
    sy = rng.randint(max(0, -dy), min(1, 1 - dy))
    a, b = thing((sx, sy)), thing((sx + dx, sy + dy))
    if num_objects == 2:
        return Scene((a, b), ((0, rel, 1),))
    options = [(r, (b.cell[0] - d[0], b.cell[1] - d[1])) for r, (_, d) in RELATIONS.items()]
    free = [(r, cell) for r, cell in options if cell not in (a.cell, b.cell) and 0 <= min(cell) and max(cell) <= 1]
    rel2, cell = rng.choice(free)
    return Scene((a, b, thing(cell)), ((0, rel, 1), (2, rel2, 1)))


def compositional_negative(scene: Scene, subset: str, rng: random.Random) -> str | None:
    """A caption that contradicts a two-object scene in the way ``subset`` names, or None if impossible."""
    a, b = scene.things[0], scene.things[1]
    s, rel, o = scene.relations[0]
    colours = [c for c in COLOURS if c not in (a.colour, b.colour)]
    shapes = [x for x in SHAPES if x not in (a.shape, b.shape)]
    target = rng.randint(0, 1)

    def caption(first: Thing, second: Thing, relation: str = rel) -> str:
        return describe(Scene((first, second), ((s, relation, o),)))

    if subset == "swap_att":
        if a.colour == b.colour:
            return None
        return caption(Thing(a.size, b.colour, a.shape, a.cell), Thing(b.size, a.colour, b.shape, b.cell))
    if subset == "swap_obj":
        if a.shape == b.shape:
            return None
        return caption(Thing(a.size, a.colour, b.shape, a.cell), Thing(b.size, b.colour, a.shape, b.cell))
    if subset == "swap_rel":
        return caption(a, b, RELATIONS[rel][0])
    if subset == "replace_att":
        if rng.random() < 0.5:  # colour replaced by one absent from the scene
            new = [Thing(t.size, rng.choice(colours), t.shape, t.cell) for t in (a, b)]
        else:  # size flipped
            new = [Thing(SIZES[1 - SIZES.index(t.size)], t.colour, t.shape, t.cell) for t in (a, b)]
        return caption(new[0], b) if target == 0 else caption(a, new[1])
    if subset == "replace_obj":
        new = [Thing(t.size, t.colour, rng.choice(shapes), t.cell) for t in (a, b)]
        return caption(new[0], b) if target == 0 else caption(a, new[1])
    raise ValueError(f"unknown compositional subset {subset!r}")


def vocabulary() -> list[str]:
    """Every word the world's captions, prompts and class names use."""
    words = set()
    texts = list(COLOURS) + list(SHAPES) + list(SIZES) + list(RELATIONS) + list(CAPTION_PREFIXES)
    texts += ["a an the and", "a photo of a drawing of a shape", "something coloured object", "on a plain background"]
    for text in texts:
        words.update(text.split())
    return sorted(words)
