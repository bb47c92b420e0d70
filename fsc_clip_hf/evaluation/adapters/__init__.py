"""Benchmark adapters: each reads one benchmark's published layout under ``data_root``.

Names (``--benchmarks``) and groups:

* ``comp``: aro, crepe, eqben, imagecode, sugarcrepe, svo_probes, valse, vl_checklist, whatsup,
  winoground, spec (the 11 of the Comp column);
* ``zs``: imagenet1k and the 20 ELEVATER tasks (the 21 of the ZS column);
* ``retrieval``: coco, flickr30k;
* ``all``: comp + zs + retrieval;
* ``synthetic``: synthetic/comp, synthetic/zs, synthetic/retrieval (the embedded world; its own suite).
"""

from __future__ import annotations

from collections.abc import Iterable

from .aro import ARO
from .base import Benchmark, MissingData
from .crepe import CREPE
from .eqben import EqBen
from .imagecode import ImageCoDe
from .retrieval import retrieval_benchmarks
from .spec import SPEC
from .sugarcrepe import SugarCrepe
from .svo_probes import SVOProbes
from .synthetic import synthetic_benchmarks
from .valse import VALSE
from .vl_checklist import VLCheckList
from .whatsup import WhatsUp
from .winoground import Winoground
from .zeroshot import zeroshot_benchmarks

COMPOSITIONALITY = (ARO(), CREPE(), EqBen(), ImageCoDe(), SugarCrepe(), SVOProbes(), VALSE(), VLCheckList(),
                    WhatsUp(), Winoground(), SPEC())
ZEROSHOT = tuple(zeroshot_benchmarks())
RETRIEVAL = tuple(retrieval_benchmarks())
SYNTHETIC = tuple(synthetic_benchmarks())

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (*COMPOSITIONALITY, *ZEROSHOT, *RETRIEVAL, *SYNTHETIC)}
GROUPS: dict[str, list[str]] = {
    "comp": [b.name for b in COMPOSITIONALITY],
    "zs": [b.name for b in ZEROSHOT],
    "retrieval": [b.name for b in RETRIEVAL],
    "synthetic": [b.name for b in SYNTHETIC],
}
GROUPS["all"] = GROUPS["comp"] + GROUPS["zs"] + GROUPS["retrieval"]


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


__all__ = ["BENCHMARKS", "GROUPS", "Benchmark", "MissingData", "family_size", "resolve_benchmarks"]
