"""`make benchmark` runs every CPU benchmark part of recipes/benchmark.py."""

import re

from helpers.repo import REPO


def test_make_benchmark_runs_every_benchmark_part():
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"^benchmark:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert rule, "no benchmark rule"
    run = re.findall(r"recipes/benchmark\.py (\w+)", rule.group(1))
    parts = sorted(path.stem for path in (REPO / "recipes" / "benchmarks").glob("[!_]*.py"))
    assert sorted(run) == parts
    # The CPU evaluation and step figures are measured with the options docs/benchmarks.md names.
    for part in ("eval", "step"):
        options = re.search(rf"^BENCHMARK_{part.upper()}_CPU := (.*)$", makefile, re.MULTILINE).group(1)
        assert f"recipes/benchmark.py {part} {options}" in (REPO / "docs" / "benchmarks.md").read_text()
