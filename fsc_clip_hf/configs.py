"""YAML recipes with command-line overrides, parsed into `FSCTrainingArguments`.

`--config laioncoco_b32.yaml` (a bare file name resolves inside `recipes/`) sets the defaults; any
option on the command line overrides it (`--learning_rate 1e-5`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from transformers import HfArgumentParser

from .training_args import FSCTrainingArguments

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


def resolve_recipe(name: str) -> Path:
    """A path as given, or a bare file name inside `recipes/`."""
    path = Path(name)
    if path.exists():
        return path
    candidate = RECIPES_DIR / name
    if candidate.exists():
        return candidate
    known = sorted(p.name for p in RECIPES_DIR.glob("*.yaml")) if RECIPES_DIR.is_dir() else []
    raise FileNotFoundError(f"recipe {name!r} not found as a path nor in {RECIPES_DIR}; known recipes: {known}")


def load_recipe(name: str) -> dict:
    """The recipe's options as a dict, checked against the known option names."""
    path = resolve_recipe(name)
    try:
        options = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"recipe {path}: not valid YAML: {error}") from error
    if not isinstance(options, dict):
        raise ValueError(f"recipe {path}: expected a mapping of option: value, got {type(options).__name__}")
    known = {field.name for field in dataclasses.fields(FSCTrainingArguments)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"recipe {path}: unknown options {unknown}")
    return options


def parse_args(argv: list[str] | None = None) -> FSCTrainingArguments:
    """`[--config RECIPE] [--option value ...]` → arguments; the command line wins over the recipe."""
    parser = HfArgumentParser(FSCTrainingArguments)
    parser.add_argument("--config", help="YAML recipe: a path, or a file name inside recipes/")
    known, _ = parser.parse_known_args(argv)
    if known.config:
        # YAML 1.1 reads "5e-6" as a string; argparse converts string defaults with the option's type.
        parser.set_defaults(**load_recipe(known.config))
    # The first item is the arguments; a second, the namespace holding --config.
    return parser.parse_args_into_dataclasses(args=argv)[0]
