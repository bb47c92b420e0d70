"""Negative styles (the ``add_random_text_hard_negatives`` option) and the types each one yields."""

from __future__ import annotations

import re

STYLES = ("negclip", "replace", "ngram_shuffle_N (N in 1..5)", "svlc", "fsc-clip")
FSC_CLIP_SHUFFLE_N = 2
# Which cached candidate parts each type reads (all read the tokens).
TYPE_PARTS = {"swap": ("swap",), "replace": ("replace",), "shuffle": (), "svlc": ()}


def parse_style(style: str) -> tuple[tuple[str, ...], int]:
    """``(types, n)`` of a style: the negative types in output order and the shuffle's N-gram size."""
    if style == "negclip":
        return ("swap",), 0
    if style == "replace":
        return ("replace",), 0
    if style == "svlc":
        return ("svlc",), 0
    if style == "fsc-clip":
        return ("swap", "replace", "shuffle"), FSC_CLIP_SHUFFLE_N
    match = re.fullmatch(r"ngram_shuffle_([1-5])", style)
    if match:
        return ("shuffle",), int(match.group(1))
    raise ValueError(f"unknown hard-negative style {style!r}; choose one of {', '.join(STYLES)}")


def style_parts(types) -> tuple[str, ...]:
    """The candidate parts (besides tokens) that ``types`` need, in a fixed order."""
    needed = {part for t in types for part in TYPE_PARTS[t]}
    return tuple(p for p in ("swap", "replace") if p in needed)
