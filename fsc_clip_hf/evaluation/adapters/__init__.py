"""Benchmark adapters: each reads one benchmark's published layout under ``data_root``.

Names (``--benchmarks``) and groups:

* ``comp``: aro, crepe, eqben, imagecode, sugarcrepe, svo_probes, valse, vl_checklist, whatsup,
  winoground, spec (the 11 of the Comp column);
* ``comp12``: the companion study's 12 (its ``comp_avg``, our Comp-12 column): comp without spec, plus
  colorswap and mmvp_vlm;
* ``zs``: imagenet1k and the 20 ELEVATER tasks (the 21 of the ZS column);
* ``retrieval``: coco, flickr30k;
* ``all``: comp + colorswap, mmvp_vlm, sugarcrepe_pp + zs + retrieval;
* ``synthetic``: synthetic/comp, synthetic/zs, synthetic/retrieval (the embedded world; its own suite).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..published import COMP12_TITLES
from .aro import ARO
from .base import Benchmark, MissingData
from .colorswap import ColorSwap
from .crepe import CREPE
from .eqben import EqBen
from .imagecode import ImageCoDe
from .mmvp_vlm import MMVPVLM
from .retrieval import retrieval_benchmarks
from .spec import SPEC
from .sugarcrepe import SugarCrepe
from .sugarcrepe_pp import SugarCrepePP
from .svo_probes import SVOProbes
from .synthetic import synthetic_benchmarks
from .valse import VALSE
from .vl_checklist import VLCheckList
from .whatsup import WhatsUp
from .winoground import Winoground
from .zeroshot import zeroshot_benchmarks

COMPOSITIONALITY = (ARO(), CREPE(), EqBen(), ImageCoDe(), SugarCrepe(), SVOProbes(), VALSE(), VLCheckList(),
                    WhatsUp(), Winoground(), SPEC())
# Compositionality outside Comp: the companion study's two others (Comp-12), and SugarCrepe++.
COMPOSITIONALITY_EXTRA = (ColorSwap(), MMVPVLM(), SugarCrepePP())
ZEROSHOT = tuple(zeroshot_benchmarks())
RETRIEVAL = tuple(retrieval_benchmarks())
SYNTHETIC = tuple(synthetic_benchmarks())

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (*COMPOSITIONALITY, *COMPOSITIONALITY_EXTRA, *ZEROSHOT,
                                                           *RETRIEVAL, *SYNTHETIC)}
# The companion study's 12 benchmarks, whose mean is its comp_avg (its CSV columns are our names).
COMP12 = tuple(COMP12_TITLES)
GROUPS: dict[str, list[str]] = {
    "comp": [b.name for b in COMPOSITIONALITY],
    "comp12": list(COMP12),
    "zs": [b.name for b in ZEROSHOT],
    "retrieval": [b.name for b in RETRIEVAL],
    "synthetic": [b.name for b in SYNTHETIC],
}
GROUPS["all"] = GROUPS["comp"] + [b.name for b in COMPOSITIONALITY_EXTRA] + GROUPS["zs"] + GROUPS["retrieval"]


def resolve_benchmarks(names: str | Iterable[str]) -> list[str]:
    """Benchmark names with groups expanded, in order, each once; a ``ValueError`` names unknown ones."""
    requested = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [name for name in requested if name not in BENCHMARKS and name not in GROUPS]
    if unknown:
        raise ValueError(f"unknown benchmarks {unknown}; known: groups {sorted(GROUPS)}, benchmarks {sorted(BENCHMARKS)}")
    expanded = [member for name in requested for member in GROUPS.get(name, [name])]
    return list(dict.fromkeys(expanded))


def family_size(suite: str, family: str) -> int:
    """How many benchmarks of ``suite`` make up a summary column (11 for Comp, 21 for ZS, ...)."""
    return sum(1 for b in BENCHMARKS.values() if b.suite == suite and b.family == family)


__all__ = ["BENCHMARKS", "COMP12", "GROUPS", "Benchmark", "MissingData", "family_size", "resolve_benchmarks"]
