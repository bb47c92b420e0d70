"""The README and docs/ point at things that exist: links (with their anchors), recipes, repository paths,
``python -m`` modules; the README's quick-start commands are the Makefile's; the README stays short."""

import re

import pytest
from helpers.repo import REPO

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
MAX_README_LINES = 250

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(r"(?<![\w./-])((?:fsc_clip_hf|tests|recipes|accelerate_configs|docs|model_cards)/[\w./-]*)")
MODULE = re.compile(r"python -m (fsc_clip_hf(?:\.\w+)*)")
CONFIG = re.compile(r"--config ([\w./<>-]+)")


def _prose(path) -> str:
    """The page without its fenced code blocks (links there are examples, not links)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in _prose(path).splitlines() if re.match(r"#{1,6} ", line)}


def _name(path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(f"{target}: no {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {_name(resolved)}")
    assert not broken, f"{_name(page)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_repository_path_module_and_recipe_named_exists(page):
    text = page.read_text(encoding="utf-8")
    missing = []
    for code in CODE.findall(text) + FENCE.findall(text):
        for path in REPO_PATH.findall(code):
            path = path.split("::")[0].rstrip(".,;:")
            if not (REPO / path).exists():
                missing.append(path)
    for module in MODULE.findall(text):
        base = REPO / module.replace(".", "/")
        if not (base.with_suffix(".py").exists() or (base / "__main__.py").exists()):
            missing.append(f"python -m {module}")
    for recipe in CONFIG.findall(text):
        if re.fullmatch(r"[a-z0-9_]+(\.yaml)?", recipe) and not (REPO / "recipes" / recipe).with_suffix(".yaml").exists():
            missing.append(f"--config {recipe}")
    assert not missing, f"{_name(page)} names what is not there: {sorted(set(missing))}"


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_the_readme_recipe_table_names_only_recipes_that_exist():
    section = _section(README.read_text(encoding="utf-8"), "Train a published recipe")
    named = set(re.findall(r"`([a-z0-9]+(?:_[a-z0-9]+)+)`", section))
    assert len(named) >= 18, named  # the 12 published rows and the 6 baselines
    assert not {n for n in named if not (REPO / "recipes" / f"{n}.yaml").exists()}


def _make_rule(target: str) -> tuple[list[str], list[str]]:
    """A Makefile target's prerequisites and its commands, with the Makefile's variables filled in."""
    makefile = (REPO / "Makefile").read_text()
    values = dict(re.findall(r"^(\w+) \??:?= (.*)$", makefile, re.MULTILINE))
    rule = re.search(rf"^{target}:(.*)\n((?:\t.*\n)*)", makefile, re.MULTILINE)
    assert rule, f"the Makefile has no '{target}' target"

    def fill(line: str) -> str:
        while "$(" in line:
            line = re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], line)
        return line.strip()

    return rule.group(1).split(), [fill(line) for line in rule.group(2).splitlines()]


def test_the_quick_start_commands_are_the_makefiles():
    quick = _section(README.read_text(encoding="utf-8"), "Quick start")
    block = FENCE.search(quick).group(0)
    commands = re.findall(r"^(make \w+)", block, re.MULTILINE)
    assert commands == ["make demo", "make test"]
    for command in commands:
        target = command.split()[1]
        prerequisites, lines = _make_rule(target)
        assert "install" in prerequisites
        row = re.search(rf"^\| `{command}` \| `([^`]+)` \|", quick, re.MULTILINE)
        assert row, f"the quick-start table has no row for {command}"
        assert lines == [row.group(1)], f"{command} runs {lines}, the README says {row.group(1)!r}"


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"
