"""Paths of the checkout under test."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
FIXTURES = REPO / "tests" / "fixtures"
COCO_STYLE_CAPTIONS = FIXTURES / "coco_style_captions.txt"
