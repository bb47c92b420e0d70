"""The package's layers (docs/architecture.md) and the one place each option is declared.

The import graph is read from the source (every import, also those inside functions): no cycle among the
package's modules, and each layer imports only the layers below it.
"""

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.repo import REPO
from helpers.world import local_run

from fsc_clip_hf.options import OBJECTIVE, Bounds, option, recorded_options
from fsc_clip_hf.training.arguments import FSCTrainingArguments
from fsc_clip_hf.training.recipes import RecipeError, build_parser, parse_command

PACKAGE = REPO / "fsc_clip_hf"
# Layer of each top-level name of the package, lowest first; a module may import its own layer and those
# below. The old paths fsc_clip_hf.wise_ft and fsc_clip_hf.convert_open_clip forward to the release.
LAYERS = {
    "base": {"argparsing", "paths", "lazy", "options", "cpu_kernels"},
    "core": {"modeling", "losses", "distributed", "gradient_cache", "processor", "image_processing", "tokenizer",
             "lora", "data", "negatives", "evaluation"},
    "release": {"release", "wise_ft", "convert_open_clip"},
    "run": {"training", "cli"},
}
ORDER = list(LAYERS)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports (``from x import y`` counts ``x.y`` when that is a module)."""
    files = {module_name(path): path for path in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                              for alias in node.names]
            else:
                continue
            for candidate in candidates:
                while candidate and candidate not in files:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> str | None:
    top = module.split(".")[1] if "." in module else None
    return next((layer for layer, names in LAYERS.items() if top in names), None)


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """"a -> b" for each import of a higher layer (the package's own __init__ is lazy and exempt)."""
    found = []
    for module, targets in graph.items():
        if module == "fsc_clip_hf":
            continue
        for target in targets:
            if target != "fsc_clip_hf" and ORDER.index(layer_of(target)) > ORDER.index(layer_of(module)):
                found.append(f"{module} ({layer_of(module)}) -> {target} ({layer_of(target)})")
    return sorted(found)


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(m for m in import_graph() if m != "fsc_clip_hf" and layer_of(m) is None)
    assert not unplaced, f"add these to a layer in LAYERS and docs/architecture.md: {unplaced}"


def test_no_import_cycle_among_the_package_modules():
    assert cycles(import_graph()) == []


def test_each_layer_imports_only_the_layers_below():
    assert layer_violations(import_graph()) == []


def test_the_checks_catch_the_old_cycle_through_the_parser():
    """negatives/resources.py once imported cli.py for its ArgumentParser: both checks must say so."""
    graph = import_graph()
    graph["fsc_clip_hf.negatives.resources"].add("fsc_clip_hf.cli.train")
    assert any("fsc_clip_hf.negatives.resources" in component for component in cycles(graph))
    assert "fsc_clip_hf.negatives.resources (core) -> fsc_clip_hf.cli.train (run)" in layer_violations(graph)


@pytest.mark.parametrize("module, loaded", [
    ("fsc_clip_hf", {"fsc_clip_hf", "fsc_clip_hf.lazy"}),
    ("fsc_clip_hf.negatives.styles", {"fsc_clip_hf", "fsc_clip_hf.lazy", "fsc_clip_hf.negatives",
                                      "fsc_clip_hf.negatives.styles"}),
    ("fsc_clip_hf.data.skips", {"fsc_clip_hf", "fsc_clip_hf.lazy", "fsc_clip_hf.data", "fsc_clip_hf.data.skips"}),
])
def test_package_namespaces_import_nothing_until_used(module, loaded):
    """The package namespaces load their public names on first use: importing one module (the spaCy
    installer, a data helper) imports none of its siblings."""
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('fsc_clip_hf')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert set(ast.literal_eval(done.stdout.strip())) == loaded


# ---------------------------------------------------------------------------------------------
# An option is one edit: declared once, it reaches --help, recipe.yaml and the checks before a run.


@dataclasses.dataclass
class WithDummy(FSCTrainingArguments):
    dummy_weight: float = option(0.25, "A dummy loss weight.", group=OBJECTIVE, recorded=True, bounds=Bounds(0))


def test_a_new_option_appears_in_its_help_group():
    helptext = build_parser(WithDummy).format_help()
    objective = helptext.split("objective:", 1)[1].split("\n\n", 1)[0]
    assert "--dummy_weight" in objective and "A dummy loss weight." in objective


def test_a_new_option_is_recorded_and_checked(tmp_path):
    assert "dummy_weight" in recorded_options(WithDummy)
    with pytest.raises(RecipeError, match=r"the command line: dummy_weight: -1.0 is negative \(allowed: >= 0\)"):
        parse_command(["--train_data", "x.csv", "--output_dir", str(tmp_path), "--dummy_weight", "-1"],
                      arguments=WithDummy)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("train_data: x.csv\nloss_name: clip\ndummy_weight: 2\n")
    assert parse_command(["--config", str(recipe), "--output_dir", str(tmp_path)], arguments=WithDummy).args.dummy_weight == 2.0


@pytest.mark.slow
def test_a_new_option_reaches_the_release_recipe(world, tmp_path):
    """One training step with the dummy option; final/recipe.yaml records it (about 10 s)."""
    from fsc_clip_hf.training.pipeline import run_training, save_final

    argv = local_run(world, tmp_path / "out", "--max_steps", "1", "--loss_name", "clip", "--dummy_weight", "0.75")
    command = parse_command(argv, arguments=WithDummy)
    final = Path(save_final(run_training(command.args)))
    assert yaml.safe_load((final / "recipe.yaml").read_text())["dummy_weight"] == 0.75
