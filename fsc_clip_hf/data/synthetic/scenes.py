"""Scenes of the synthetic world: objects, their layout, English captions about them, and what a caption means.

A scene holds 1-3 objects, each a (colour, shape) in one cell of a 2x2 grid; no two objects share both.
Two objects are linked by a spatial relation ("to the left of", "above", ...); a third one is placed
next to the second. Captions are plain English noun phrases and relations, so that a spaCy-based
negative generator parses them like real captions, and :func:`caption_holds` reads them back: it is the
world's semantics, under which "A to the left of B" and "B to the right of A" say the same thing.

Every word of every caption, prompt and test negative is in :func:`vocabulary`, and every one of them
is trained: the zero-shot prompts are the captions' own wording.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field

# Distinct hues; no colour name starts with a vowel, so "a" is always the right article. 10 colours x 6
# shapes: two captions of a batch of 64 then rarely differ only in which colour goes with which shape, so
# contrastive pretraining leaves binding to be learned (with 6 x 4 the base already bound 99 % of the
# swaps and no fine-tune could show anything).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 39, 40), "green": (44, 160, 44), "blue": (31, 90, 220), "yellow": (240, 200, 20),
    "purple": (140, 70, 190), "black": (25, 25, 25), "pink": (245, 130, 200), "brown": (130, 80, 30),
    "grey": (135, 135, 135), "cyan": (30, 205, 215),
}
SHAPES = ("circle", "square", "triangle", "star", "cross", "diamond")
# relation -> (its inverse, grid step (dx, dy) from the subject's cell to the object's cell)
RELATIONS: dict[str, tuple[str, tuple[int, int]]] = {
    "to the left of": ("to the right of", (1, 0)),
    "to the right of": ("to the left of", (-1, 0)),
    "above": ("below", (0, 1)),
    "below": ("above", (0, -1)),
}
CAPTION_PREFIXES = ("", "there is ")
# Binding (swap_att, swap_obj), relation (swap_rel) and vocabulary (replace_*) tests; see compositional_negative.
COMPOSITIONAL_SUBSETS = ("swap_att", "swap_obj", "swap_rel", "replace_att", "replace_obj")


@dataclass(frozen=True)
class Thing:
    """One object; ``cell`` is its (column, row) in the 2x2 layout grid (row 0 at the top)."""

    colour: str
    shape: str
    cell: tuple[int, int]

    def phrase(self, article: str = "a") -> str:
        return f"{article} {self.colour} {self.shape}"


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


def holds(relation: str, subject: tuple[int, int], obj: tuple[int, int]) -> bool:
    """Whether ``relation`` is true of two cells: the grid step between them is the relation's."""
    dx, dy = RELATIONS[relation][1]
    return (obj[0] - subject[0], obj[1] - subject[1]) == (dx, dy)


_PHRASE = rf"(?:a|the) ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)})"
_CLAUSE = re.compile(rf"{_PHRASE} ({'|'.join(RELATIONS)}) {_PHRASE}")
_SINGLE = re.compile(_PHRASE)


def caption_holds(caption: str, scene: Scene) -> bool:
    """The world's semantics: every object the caption names is in the scene and every relation it
    states holds between their cells. Raises ValueError for text outside the captions' grammar."""
    body = caption
    for prefix in sorted(CAPTION_PREFIXES, key=len, reverse=True):
        if prefix and body.startswith(prefix):
            body = body[len(prefix):]
            break
    cells = {(t.colour, t.shape): t.cell for t in scene.things}
    clauses = body.split(" and ")
    if len(clauses) == 1 and _SINGLE.fullmatch(body):
        return tuple(_SINGLE.fullmatch(body).groups()) in cells
    for clause in clauses:
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(f"not a caption of the synthetic world: {caption!r}")
        c1, s1, rel, c2, s2 = match.groups()
        if (c1, s1) not in cells or (c2, s2) not in cells or not holds(rel, cells[(c1, s1)], cells[(c2, s2)]):
            return False
    return True


def _pair(rng: random.Random, allowed, taken: set) -> tuple[str, str]:
    while True:
        pair = rng.choice(allowed)
        if pair not in taken:
            return pair


def sample_scene(rng: random.Random, num_objects: int, pairs: list[tuple[str, str]]) -> Scene:
    """A random scene of ``num_objects`` objects whose (colour, shape) come from ``pairs``.

    Two objects sit in adjacent cells of a 2x2 grid as the relation says; a third takes the free
    cell adjacent to the second. No two objects share colour and shape, so every phrase is unambiguous.
    """
    taken: set = set()

    def thing(cell):
        colour, shape = _pair(rng, pairs, taken)
        taken.add((colour, shape))
        return Thing(colour, shape, cell)

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
    """A caption of a two-object scene that is false of it in the way ``subset`` names, or None where
    such a caption would not test that (the check of every one: :func:`caption_holds`).

    The swaps need objects differing in both colour and shape: with one shared, exchanging the other
    only exchanges the two objects' places, a relation test in disguise.
    """
    a, b = scene.things[0], scene.things[1]
    s, rel, o = scene.relations[0]
    colours = [c for c in COLOURS if c not in (a.colour, b.colour)]
    shapes = [x for x in SHAPES if x not in (a.shape, b.shape)]
    target = rng.randint(0, 1)

    def caption(first: Thing, second: Thing, relation: str = rel) -> str:
        return describe(Scene((first, second), ((s, relation, o),)))

    if subset in ("swap_att", "swap_obj") and (a.colour == b.colour or a.shape == b.shape):
        return None
    if subset == "swap_att":
        return caption(Thing(b.colour, a.shape, a.cell), Thing(a.colour, b.shape, b.cell))
    if subset == "swap_obj":
        return caption(Thing(a.colour, b.shape, a.cell), Thing(b.colour, a.shape, b.cell))
    if subset == "swap_rel":
        return caption(a, b, RELATIONS[rel][0])
    if subset == "replace_att":  # a colour absent from the scene
        new = [Thing(rng.choice(colours), t.shape, t.cell) for t in (a, b)]
        return caption(new[0], b) if target == 0 else caption(a, new[1])
    if subset == "replace_obj":  # a shape absent from the scene
        new = [Thing(t.colour, rng.choice(shapes), t.cell) for t in (a, b)]
        return caption(new[0], b) if target == 0 else caption(a, new[1])
    raise ValueError(f"unknown compositional subset {subset!r}")


def vocabulary() -> list[str]:
    """Every word the world's captions use; prompts and test negatives use no other."""
    words = set()
    for text in [*COLOURS, *SHAPES, *RELATIONS, *CAPTION_PREFIXES, "a the and"]:
        words.update(text.split())
    return sorted(words)
