"""Published results the report compares a model with, read from ``published_data/`` (sources named in
its README):

* the 12 released FSC-CLIP runs (``fsc_clip_extended_results.csv`` of GitHub ``ytaek-oh/fsc-clip``): every
  benchmark of Comp, and Comp, ZS, I2T / T2I Ret;
* the 202 models of the authors' companion study (``results.csv`` and ``individual_results.csv`` of
  GitHub ``ytaek-oh/vl_compo``): pretrained CLIPs of many families and the compositionality fine-tunes
  (NegCLIP, CE-CLIP, DAC, CLoVe, ...), per benchmark and per subset, on its 12 compositionality
  benchmarks (10 of Comp's 11, no SPEC, plus ColorSwap and MMVP-VLM) and their mean ``comp_avg``
  (Comp-12), with ZS (``21_tasks_avg``), its 21 tasks (``subsets["elevator"]``, keyed by ELEVATER's
  config names) and retrieval.

Scores are percentages, keyed by the benchmark titles of the adapters (``"ARO"``, ..., ``"SPEC"``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "published_data"

# Benchmark names of the CSV columns -> titles of the adapters, in the order of the Comp column.
TITLES = {"aro": "ARO", "crepe": "CREPE", "eqben": "EqBen", "imagecode": "ImageCoDe", "sugarcrepe": "SugarCrepe",
          "svo_probes": "SVO-Probes", "valse": "VALSE", "vl_checklist": "VL-CheckList", "whatsup": "What'sUp",
          "winoground": "Winoground", "spec": "SPEC"}
# The benchmarks every published model has: Comp without SPEC (the 202-model study did not run SPEC).
SHARED_BENCHMARKS = tuple(title for title in TITLES.values() if title != "SPEC")
# The companion study's 12 (its comp_avg, our Comp-12): Comp's without SPEC, plus ColorSwap and MMVP-VLM;
# CSV column -> title, in the CSV's (alphabetical) column order.
COMP12_TITLES = dict(sorted({**{key: title for key, title in TITLES.items() if key != "spec"},
                             "colorswap": "ColorSwap", "mmvp_vlm": "MMVP-VLM"}.items()))
# Subset names of the 202-model study that differ from the adapters' reported subsets.
SUBSET_NAMES = {"aro": {"VG_Attribute": "VG_Attribution"}, "imagecode": {"videos": "video"}}

# (CLIP, Pretrained_Finetined, Arch) of the extended results -> recipe name.
_RECIPES = {"openai_coco": "coco", "openai_cc3m": "cc3m", "openai_laioncoco": "laioncoco",
            "dcxl_laioncoco": "dcxl_laioncoco"}
_ARCHS = {"ViT-B-32": "b32", "ViT-B-16": "b16", "ViT-L-14": "l14"}


@dataclass(frozen=True)
class PublishedModel:
    """One published model: its name, family, summary columns and per-benchmark scores."""

    name: str
    family: str
    zs: float | None
    i2t_r1: float | None
    t2i_r1: float | None
    benchmarks: dict[str, float]
    comp: float | None = None  # the 11-benchmark Comp, where published (FSC-CLIP runs)
    comp12: float | None = None  # the companion study's 12-benchmark mean (comp_avg), where published
    subsets: dict[str, dict[str, float]] = field(default_factory=dict)  # benchmark name -> reported subset -> score

    def shared_comp(self) -> float | None:
        """The mean over the 10 benchmarks every published model has (Comp without SPEC)."""
        values = [self.benchmarks.get(title) for title in SHARED_BENCHMARKS]
        return None if any(value is None for value in values) else sum(values) / len(values)


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(value: str | None) -> float | None:
    return float(value) if value not in (None, "", "nan") else None


@cache
def fsc_clip_runs() -> dict[str, PublishedModel]:
    """The 12 released FSC-CLIP runs by recipe name (``coco_b32``, ``coco_b32_lora``, ...)."""
    runs = {}
    for row in _rows("fsc_clip_extended_results.csv"):
        recipe = f"{_RECIPES[row['Pretrained_Finetined']]}_{_ARCHS[row['Arch']]}"
        recipe += "_lora" if row["CLIP"].endswith("lora") else ""
        runs[recipe] = PublishedModel(
            name=recipe, family="FSC-CLIP", zs=_number(row["ZS"]), i2t_r1=_number(row["I2T Ret"]),
            t2i_r1=_number(row["T2I Ret"]), comp=_number(row["Comp"]),
            benchmarks={title: _number(row[key]) for key, title in TITLES.items()})
    return runs


@cache
def vl_compo_models() -> tuple[PublishedModel, ...]:
    """The 202 models of the companion study, with their per-subset scores (adapter subset names;
    EqBen's ``eqbenag::text`` becomes ``eqbenag/text`` as the adapter reports it)."""
    models = []
    for row, subsets, tasks in zip(_rows("vl_compo_results.csv"), _rows("vl_compo_individual_results.csv"),
                                   _rows("vl_compo_zeroshot_results.csv"), strict=True):
        if not (row["arch"], row["pretrained"]) == (subsets["arch"], subsets["pretrained"]) == (tasks["arch"],
                                                                                                tasks["pretrained"]):
            raise ValueError(f"published_data: the vl_compo files disagree at {row['arch']} {row['pretrained']}")
        subsets = {**subsets, **tasks}
        per_subset: dict[str, dict[str, float]] = {}
        for column, value in subsets.items():
            if "::" in column:
                benchmark, subset = column.split("::", 1)
                subset = SUBSET_NAMES.get(benchmark, {}).get(subset, subset).replace("::", "/")
                per_subset.setdefault(benchmark, {})[subset] = float(value)
        models.append(PublishedModel(
            name=f"{row['arch']} {row['pretrained']}", family=row["family"], zs=_number(row["21_tasks_avg"]),
            i2t_r1=_number(row["i2t_avg"]), t2i_r1=_number(row["t2i_avg"]),
            benchmarks={title: _number(row[key]) for key, title in {**TITLES, **COMP12_TITLES}.items() if key in row},
            comp12=_number(row["comp_avg"]), subsets=per_subset))
    return tuple(models)


def published_model(name: str) -> PublishedModel:
    """A model of the companion study by ``"<arch> <pretrained>"``, e.g. ``"ViT-B-32 openai"``."""
    for model in vl_compo_models():
        if model.name == name:
            return model
    raise KeyError(f"no published model {name!r}")


# The reference models the report names: the base model of most recipes, and NegCLIP (coco_b32's
# counterpart fine-tuned with hard negatives on COCO).
REFERENCE_MODELS = {"openai ViT-B/32": "ViT-B-32 openai", "NegCLIP (COCO)": "NegCLIP coco-ft"}
# The model family of the companion study that fine-tunes CLIP for compositionality.
COMPOSITIONAL_FAMILY = "StructuredCLIP"
