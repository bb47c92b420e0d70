"""The command lines' parser: every option is named with underscores, as transformers does
(``--output_dir``), and answers to the dashed spelling too (``--output-dir``).

A leaf module: it imports nothing of the package, so any layer's command can use it.
"""

from __future__ import annotations

import argparse


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose long options take underscores and accept dashes as well:
    ``add_argument("--data_root")`` also answers to ``--data-root``. Sub-command parsers inherit it."""

    def add_argument(self, *names, **kwargs):
        return super().add_argument(*with_dashed_aliases(names), **kwargs)

    def add_argument_group(self, *args, **kwargs):
        group = super().add_argument_group(*args, **kwargs)
        group.add_argument = _aliasing(group.add_argument)
        return group

    def add_mutually_exclusive_group(self, **kwargs):
        group = super().add_mutually_exclusive_group(**kwargs)
        group.add_argument = _aliasing(group.add_argument)
        return group


def with_dashed_aliases(names) -> list[str]:
    """``("--data_root",)`` -> ``["--data_root", "--data-root"]``; positional and short names unchanged."""
    out = list(names)
    for name in names:
        if name.startswith("--") and "_" in name[2:]:
            alias = "--" + name[2:].replace("_", "-")
            if alias not in out:
                out.append(alias)
    return out


def _aliasing(add_argument):
    def add(*names, **kwargs):
        return add_argument(*with_dashed_aliases(names), **kwargs)

    return add
