"""One naming style on every command line: options with underscores, as transformers names them, and
the dashed spelling accepted as an alias."""

import argparse
import importlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from helpers.repo import REPO

from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.training.recipes import build_parser

# Every command line of the project: (how it is run, the module whose main parses it).
ENTRY_POINTS = {
    "recipes/eval.py": "fsc_clip_hf.cli.evaluate",
    "python -m fsc_clip_hf.evaluation.download": "fsc_clip_hf.evaluation.download.__main__",
    "python -m fsc_clip_hf.release.convert_open_clip": "fsc_clip_hf.release.convert_open_clip.__main__",
    "python -m fsc_clip_hf.release.wise_ft": "fsc_clip_hf.release.wise_ft",
    "python -m fsc_clip_hf.release": "fsc_clip_hf.release.__main__",
    "python -m fsc_clip_hf.negatives": "fsc_clip_hf.negatives.__main__",
    "python -m fsc_clip_hf.negatives.resources": "fsc_clip_hf.negatives.resources",
    "recipes/make_model_cards.py": "recipes/make_model_cards.py",
    **{f"recipes/benchmark.py {path.stem}": f"recipes/benchmarks/{path.name}"
       for path in sorted((REPO / "recipes" / "benchmarks").glob("[!_]*.py"))},
}
# recipes/train.py parses with configs.build_parser (tested below); these only dispatch to others.
DISPATCHERS = {"recipes/train.py", "recipes/eval.py", "recipes/benchmark.py"}


class _Captured(Exception):
    def __init__(self, parser):
        self.parser = parser


def _module(target: str):
    if target.endswith(".py"):
        sys.path[:0] = [str(REPO / "recipes"), str(REPO)]
        spec = importlib.util.spec_from_file_location(Path(target).stem + "_cli_under_test", REPO / target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def _parser_of(target: str, monkeypatch) -> argparse.ArgumentParser:
    def capture(self, args=None, namespace=None):
        raise _Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
    monkeypatch.setattr(sys, "argv", ["prog", "--help"])
    main = _module(target).main
    with pytest.raises(_Captured) as captured:
        main(["--help"]) if main.__code__.co_argcount else main()
    return captured.value.parser


def _parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def _style_problems(parser) -> list[str]:
    problems = []
    for sub in _parsers(parser):
        for action in sub._actions:
            longs = [name for name in action.option_strings if name.startswith("--")]
            if not longs or longs == ["--help"]:
                continue
            canonical = [name for name in longs if "-" not in name[2:]]
            if not canonical:
                problems.append(f"{sub.prog}: {longs[0]} has no underscore spelling")
            for name in canonical:
                if "_" in name and f"--{name[2:].replace('_', '-')}" not in longs:
                    problems.append(f"{sub.prog}: {name} has no dashed alias")
    return problems


@pytest.mark.parametrize("command", sorted(ENTRY_POINTS))
def test_every_command_line_uses_underscores_and_accepts_dashes(command, monkeypatch):
    assert _style_problems(_parser_of(ENTRY_POINTS[command], monkeypatch)) == []


def test_the_training_command_line_too():
    assert _style_problems(build_parser()) == []


def test_every_entry_point_is_checked():
    """A new command line (a ``__main__`` module or a script with ``main``) must join ENTRY_POINTS."""
    found = set()
    for path in [*(REPO / "fsc_clip_hf").rglob("*.py"), *(REPO / "recipes").rglob("*.py")]:
        text = path.read_text()
        if "__name__ == \"__main__\"" not in text and path.name != "__main__.py" and "def main(" not in text:
            continue
        if "ArgumentParser" not in text and "parse_args" not in text:
            continue
        relative = path.relative_to(REPO).as_posix()
        found.add(relative if relative.startswith("recipes/") else
                  re.sub(r"/", ".", relative[:-3]))
    checked = {target for target in ENTRY_POINTS.values()}
    unchecked = {target for target in found - checked
                 if target not in DISPATCHERS and target not in ("fsc_clip_hf.cli", "fsc_clip_hf.training.recipes")}
    assert unchecked == set()


def test_a_dashed_alias_reaches_the_same_option():
    parser = ArgumentParser()
    parser.add_argument("--data_root", default="x")
    group = parser.add_argument_group("g")
    group.add_argument("--skip_images", action="store_true")
    args = parser.parse_args(["--data-root", "y", "--skip-images"])
    assert args.data_root == "y" and args.skip_images
