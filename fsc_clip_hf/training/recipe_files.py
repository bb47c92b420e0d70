"""Recipe files found by name: a path as given, or a bare name in the recipes folder.

A light module (no torch, no transformers): ``recipes/train.py`` reads a recipe's ``cpu_kernels`` through it
before anything heavy is imported (``fsc_clip_hf.cpu_kernels``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

RECIPE_SUFFIX = ".yaml"


def recipe_folders(recipes_dir: str | Path | None = None) -> list[Path]:
    """Where a bare recipe name is looked for: ``recipes_dir`` (the folder of ``recipes/train.py``, which
    passes it), then ``./recipes``."""
    folders = [Path(recipes_dir)] if recipes_dir is not None else []
    return [*folders, Path.cwd() / "recipes"]


def resolve_recipe(name: str, recipes_dir: str | Path | None = None) -> Path:
    """A path as given, or a bare name (``laioncoco_b32`` or ``laioncoco_b32.yaml``) in :func:`recipe_folders`."""
    names = [name] if name.endswith(RECIPE_SUFFIX) else [name, name + RECIPE_SUFFIX]
    folders = recipe_folders(recipes_dir)
    for candidate in [Path(n) for n in names] + [folder / n for folder in folders for n in names]:
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob(f"*{RECIPE_SUFFIX}")})
    where = " nor in ".join(str(folder) for folder in folders if folder.is_dir()) or "any recipes folder"
    raise FileNotFoundError(f"recipe {name!r} not found as a path nor in {where}; known recipes: {', '.join(known)}")


def peek_recipe(argv: list[str], recipes_dir: str | Path | None = None) -> dict | None:
    """The mapping of the recipe ``--config`` names on the command line, read as it is, or None (no recipe, or
    one that cannot be read: parsing the command reports that with the file named)."""
    for index, token in enumerate(argv):
        name, _, value = token.partition("=")
        if name == "--config":
            try:
                recipe = yaml.safe_load(resolve_recipe(value or argv[index + 1], recipes_dir).read_text())
            except (IndexError, OSError, yaml.YAMLError):
                return None
            return recipe if isinstance(recipe, dict) else None
    return None
