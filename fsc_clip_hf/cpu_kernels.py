"""CPU kernels pinned for results that do not depend on the CPU (the ``cpu_kernels`` option).

On a CPU, torch picks its vector kernels (ATen's) and MKL and oneDNN theirs for the instructions the
processor has (AVX2, AVX-512, ...). Sums then round differently from one CPU to the next, and over the
thousands of steps of the demo the last digits of its table differ between machines. ``portable`` pins
each library to a code path every x86-64 CPU with AVX2 runs the same way (``PINS``); ``native`` (the
default) lets each pick the fastest. Each library reads its setting once, when it loads, so the pins are
set in the environment before torch is imported (``recipes/train.py`` does it first thing, reading the
option from the command line or the recipe). A leaf module: it imports nothing, torch least of all.
"""

from __future__ import annotations

import os
import sys

CPU_KERNELS = ("native", "portable")
# What "portable" sets: ATen's AVX2 kernels; MKL's conditional numerical reproducibility in its
# vendor-neutral mode; oneDNN's kernels capped at AVX2.
PINS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2"}


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
    for name, value in PINS.items():
        os.environ.setdefault(name, value)
    return None


def in_use() -> dict[str, str]:
    """The kernels this process runs: ATen's capability as torch reports it, and MKL's and oneDNN's settings."""
    import torch

    return {"aten": torch.backends.cpu.get_cpu_capability(),
            "mkl_cbwr": os.environ.get("MKL_CBWR", "auto"),
            "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "auto")}


def requested(argv: list[str], recipe: dict | None) -> str:
    """``cpu_kernels`` as the command line (``--cpu_kernels X``, ``--cpu-kernels=X``) or else the recipe sets
    it, read before anything is parsed (parsing imports torch)."""
    for index, token in enumerate(argv):
        name, _, value = token.partition("=")
        if name in ("--cpu_kernels", "--cpu-kernels"):
            return value or (argv[index + 1] if index + 1 < len(argv) else "native")
    return str((recipe or {}).get("cpu_kernels") or "native")
