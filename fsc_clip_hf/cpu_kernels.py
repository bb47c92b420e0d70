"""CPU kernels pinned for results that do not depend on the CPU (the ``cpu_kernels`` option).

On a CPU, torch picks its vector kernels (ATen's) and MKL its matrix products for the instructions the
processor has (AVX2, AVX-512, ...). Sums then round differently from one CPU to the next, and over the
thousands of steps of the demo the last digits of its table differ between machines. ``portable`` pins
both to their AVX2 code paths (``PINS``), which MKL documents as giving the same results on every Intel
CPU with AVX2 (AVX-512 ones included): the demo's weights were bit for bit the same on an AVX-512 Xeon
pinned so and emulating an AVX2 one (docs/demo.md; no physical AVX2-only CPU has run it yet). MKL ignores ``MKL_CBWR`` on other vendors' CPUs, so an AMD CPU may still print other
digits; a CPU without AVX2 (or not x86-64) is left unpinned, and says so. ``native`` (the default) lets
each library pick the fastest. Each reads its setting once, when it loads, so the pins are set in the
environment before torch is imported (``recipes/train.py`` does it first thing, reading the option from
the command line or the recipe). A leaf module: it imports nothing, torch least of all.
"""

from __future__ import annotations

import os
import sys

CPU_KERNELS = ("native", "portable")
# What "portable" sets: ATen's AVX2 kernels; MKL's AVX2 branch with its conditional numerical
# reproducibility (same results on every Intel CPU with AVX2), and its instructions capped at AVX2.
# (oneDNN, which runs the patch-embedding convolution, gave the same bits at AVX-512 and AVX2.)
PINS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
# ATen honours its setting without checking the CPU: on one without these it would die of an illegal
# instruction, so the pins are set only where /proc/cpuinfo lists them.
REQUIRED_FLAGS = {"avx2", "fma"}


def pin(setting: str) -> str | None:
    """Set the environment of ``setting`` for this process and those it starts; why it cannot act, or None.

    The pins act only where torch is not imported yet (a command that starts with them); a setting the
    environment already holds is left as it is (the user's choice wins, and is reported by :func:`in_use`).
    """
    if setting not in CPU_KERNELS:
        raise ValueError(f"cpu_kernels={setting!r}; expected one of {CPU_KERNELS}")
    if setting == "native":
        return None
    if "torch" in sys.modules:
        return "torch was imported before the kernels could be pinned (start a new process to pin them)"
    missing = REQUIRED_FLAGS - _cpu_flags()
    if missing:
        return (f"this CPU lacks {', '.join(sorted(missing))} (or is not x86-64): its native kernels run, and "
                "the digits can differ from an AVX2 machine's")
    for name, value in PINS.items():
        os.environ.setdefault(name, value)
    return None


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next((set(line.split(":", 1)[1].split()) for line in handle if line.startswith("flags")), set())
    except OSError:
        return set()


def in_use() -> dict[str, str]:
    """The kernels this process runs: ATen's capability as torch reports it, and MKL's settings."""
    import torch

    return {"aten": torch.backends.cpu.get_cpu_capability(),
            "mkl_cbwr": os.environ.get("MKL_CBWR", "auto"),
            "mkl_instructions": os.environ.get("MKL_ENABLE_INSTRUCTIONS", "auto")}


def requested(argv: list[str], recipe: dict | None) -> str:
    """``cpu_kernels`` as the command line (``--cpu_kernels X``, ``--cpu-kernels=X``) or else the recipe sets
    it, read before anything is parsed (parsing imports torch)."""
    for index, token in enumerate(argv):
        name, _, value = token.partition("=")
        if name in ("--cpu_kernels", "--cpu-kernels"):
            return value or (argv[index + 1] if index + 1 < len(argv) else "native")
    return str((recipe or {}).get("cpu_kernels") or "native")
