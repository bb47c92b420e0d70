"""The evaluation report: ``results.json``, ``results.md`` and ``comp_vs_zs.png``.

``results.md`` follows the seed's results table (recipe | Comp | ZS | I2T Ret | T2I Ret) with the
published FSC-CLIP rows and the reference models (pretrained openai ViT-B/32, NegCLIP) below the model's,
then the per-benchmark table beside the published figures of coco_b32 and the reference models, every
subset with its item and skip counts beside openai ViT-B/32's published figure, the zero-shot tasks, the
retrieval recalls, the synthetic world when evaluated, and what was missing or failed.
``comp_vs_zs.png`` places the model among the published points: the 12 FSC-CLIP runs and the 202 models
of the authors' companion study (``fsc_clip_hf.evaluation.published``), all on the benchmarks they share.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

from .adapters import COMPOSITIONALITY, GROUPS
from .adapters.retrieval import RECALLS
from .adapters.synthetic import COMP_LABEL as SYNTHETIC_COMP_LABEL
from .adapters.zeroshot import TASK_BY_NAME
from .metrics.zeroshot import metric_label
from .published import (
    COMPOSITIONAL_FAMILY,
    REFERENCE_MODELS,
    SHARED_BENCHMARKS,
    fsc_clip_runs,
    published_model,
    vl_compo_models,
)

FILES = ("results.json", "results.md", "comp_vs_zs.png")
_FAMILY_LABELS = {"comp": "benchmarks", "zs": "tasks", "retrieval": "sets"}


def write_report(results: dict, output_dir: str) -> dict[str, str]:
    """Write the three report files into ``output_dir``; returns ``{file name: path}``."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in FILES}
    with open(paths["results.json"], "w", encoding="utf-8") as handle:
        # JSON has no NaN: a value that is not a number is written as null (the suite already reports
        # a benchmark without a finite score as failed).
        json.dump(_finite(results), handle, indent=2, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
    with open(paths["results.md"], "w", encoding="utf-8") as handle:
        handle.write(markdown_report(results))
    plot_comp_vs_zs(results, paths["comp_vs_zs.png"])
    return paths


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _cell(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def coverage_line(coverage: dict) -> str:
    """E.g. "Comp over 9 of 11 benchmarks, ZS over 21 of 21 tasks, Ret over 2 of 2 sets"."""
    names = {"comp": "Comp", "zs": "ZS", "retrieval": "Ret"}
    return ", ".join(f"{names[f]} over {c['evaluated']} of {c['of']} {_FAMILY_LABELS[f]}" for f, c in coverage.items())


def markdown_report(results: dict) -> str:
    model, summary = results["model"], results["summary"]
    references = {label: published_model(name) for label, name in REFERENCE_MODELS.items()}
    lines = [f"# Evaluation of `{model}`", ""]
    lines += _table(["recipe", "Comp", "ZS", "I2T Ret", "T2I Ret"],
                    [[f"**{model}**", *(_cell(summary.get(k)) for k in ("comp", "zs", "i2t_r1", "t2i_r1"))]]
                    + [[f"{recipe} (published)", *map(_cell, (run.comp, run.zs, run.i2t_r1, run.t2i_r1))]
                       for recipe, run in fsc_clip_runs().items()]
                    + [[f"{label} (published)", "–", *map(_cell, (ref.zs, ref.i2t_r1, ref.t2i_r1))]
                       for label, ref in references.items()])
    lines += [f"Averages of this model: {coverage_line(results['coverage'])}. Comp, ZS and Ret are comparable "
              "with the published rows only when they cover all of them. The reference models' figures are from "
              "the authors' companion study (github.com/ytaek-oh/vl_compo), which has no SPEC, hence no Comp.", ""]

    lines += ["## Compositionality benchmarks", ""]
    titles = [benchmark.title for benchmark in COMPOSITIONALITY]
    published_rows = [("coco_b32 (published)", fsc_clip_runs()["coco_b32"].benchmarks),
                      *((f"{label} (published)", ref.benchmarks) for label, ref in references.items())]
    lines += _table(["model", *titles], [[f"**{model}**", *(_cell(results["benchmarks"].get(t)) for t in titles)]]
                    + [[label, *(_cell(scores.get(t)) for t in titles)] for label, scores in published_rows])
    details = results["details"]
    openai = published_model(REFERENCE_MODELS["openai ViT-B/32"]).subsets
    rows = [[record["title"], subset, _cell(value), _cell(openai.get(name, {}).get(subset))]
            for name, record in details.items() if record["family"] == "comp" and record["suite"] == "published"
            for subset, value in record["subsets"].items()]
    if rows:
        lines += ["### Subsets", ""] + _table(["benchmark", "subset", "score", "openai ViT-B/32 (published)"], rows)
    counts = [[record["title"], str(record["items"]), _skipped(record.get("counts", {})), record.get("item_set") or ""]
              for record in details.values() if record["suite"] == "published" and record["family"] == "comp"]
    if counts:
        lines += ["### Items scored and skipped", "", "Per subset in `results.json` (`details.<name>.counts`).", ""]
        lines += _table(["benchmark", "items", "skipped", "item set"], counts)

    tasks = [name for name in GROUPS["zs"] if name in details]
    if tasks:
        lines += ["## Zero-shot classification", ""]
        published = openai.get("elevator", {})
        lines += _table(["task", "metric", "score", "top-1", "top-5", "openai ViT-B/32 (published)"],
                        [[details[t]["title"], metric_label(TASK_BY_NAME[t].metric), _cell(details[t]["score"]),
                          *(_cell(details[t]["subsets"].get(k)) for k in ("top1", "top5")),
                          _cell(published.get(TASK_BY_NAME[t].config))] for t in tasks])
    if results["retrieval"]:
        lines += ["## Retrieval", ""]
        lines += _table(["set", *(r.replace("_r", " R@").upper() for r in RECALLS)],
                        [[details[name]["title"], *(_cell(values.get(r)) for r in RECALLS)]
                         for name, values in results["retrieval"].items()])
    if "synthetic" in results:
        lines += _synthetic_section(results)
    for key, heading in (("missing", "Missing data"), ("failed", "Failed")):
        if results[key]:
            lines += [f"## {heading}", ""] + [f"- `{name}`: {message}" for name, message in results[key].items()] + [""]
    notes = [f"- `{name}`: {note}" for name, record in details.items() for note in record["notes"]]
    if notes:
        lines += ["## Notes", ""] + notes + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _skipped(counts: dict) -> str:
    """``"3 image_absent, 1 malformed"`` from the per-subset counts of a benchmark."""
    reasons: dict[str, int] = {}
    for count in counts.values():
        for reason, number in count["skipped"].items():
            reasons[reason] = reasons.get(reason, 0) + number
    return ", ".join(f"{number} {reason}" for reason, number in sorted(reasons.items())) or "0"


def _synthetic_section(results: dict) -> list[str]:
    synthetic = results["synthetic"]
    summary = synthetic["summary"]
    lines = ["## Synthetic world", ""]
    lines += _table(["model", SYNTHETIC_COMP_LABEL, "ZS", "I2T R@1", "T2I R@1"],
                    [[f"**{results['model']}**", *(_cell(summary.get(k)) for k in ("comp", "zs", "i2t_r1", "t2i_r1"))]])
    rows = [[name, subset, _cell(value)] for name, record in results["details"].items()
            if record["suite"] == "synthetic" for subset, value in record["subsets"].items()]
    return lines + _table(["benchmark", "subset", "score"], rows)


def shared_comp(results: dict) -> float | None:
    """The model's mean over the 10 benchmarks every published model has (Comp without SPEC), or None."""
    values = [results["benchmarks"].get(title) for title in SHARED_BENCHMARKS]
    return None if any(value is None for value in values) else sum(values) / len(values)


def plot_comp_vs_zs(results: dict, path: str, curve: Sequence[tuple[str, dict]] = ()) -> None:
    """Compositionality against ZS: the 202 models of the authors' companion study (compositionality
    fine-tunes and the openai CLIPs named), the 12 published FSC-CLIP runs, and this model when it has
    every benchmark. The vertical axis is the mean over the 10 benchmarks all of them were scored on
    (Comp without SPEC), so that every point is on the same footing.

    ``curve``: ``(label, results)`` of variants of this model (a WiSE-FT sweep), joined by a line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic = results.get("synthetic", {}).get("summary", {})
    panels = 2 if {"comp", "zs"} <= synthetic.keys() else 1
    fig, axes = plt.subplots(1, panels, figsize=(7.5 * panels, 6), squeeze=False)
    ax = axes[0][0]
    others = [m for m in vl_compo_models() if m.family != COMPOSITIONAL_FAMILY and m.shared_comp() is not None]
    ax.scatter([m.zs for m in others], [m.shared_comp() for m in others], s=8, color="lightgray",
               label=f"{len(others)} pretrained CLIP-style models (vl_compo)")
    tuned = [m for m in vl_compo_models() if m.family == COMPOSITIONAL_FAMILY]
    ax.scatter([m.zs for m in tuned], [m.shared_comp() for m in tuned], s=22, color="tab:orange",
               label="compositionality fine-tunes: NegCLIP, CE-CLIP, DAC, ... (vl_compo)")
    for m in tuned:
        ax.annotate(m.name, (m.zs, m.shared_comp()), textcoords="offset points", xytext=(3, 3), fontsize=5.5,
                    color="tab:orange")
    base = published_model(REFERENCE_MODELS["openai ViT-B/32"])  # the base model of most recipes
    ax.scatter(base.zs, base.shared_comp(), s=30, color="black", label="openai ViT-B/32 (vl_compo)")
    placed: list[tuple[float, float]] = []
    for recipe, run in fsc_clip_runs().items():
        comp = run.shared_comp()
        ax.scatter(run.zs, comp, color="tab:blue", s=30, label="FSC-CLIP (published)" if recipe == "coco_b32" else None)
        # A label next to an already labelled point goes below its own point, not on top of the other.
        crowded = any(abs(run.zs - x) < 0.8 and abs(comp - y) < 0.15 for x, y in placed)
        ax.annotate(recipe, (run.zs, comp), textcoords="offset points", xytext=(4, -9 if crowded else 3), fontsize=6,
                    color="tab:blue")
        placed.append((run.zs, comp))
    summary, coverage, comp = results["summary"], results["coverage"], shared_comp(results)
    if comp is not None and "zs" in summary:
        label = f"{results['model']} (ZS {coverage['zs']['evaluated']}/{coverage['zs']['of']})"
        ax.scatter(summary["zs"], comp, marker="*", s=220, color="tab:red", label=label, zorder=3)
    else:
        ax.text(0.02, 0.02, f"{results['model']}: not all of the 10 benchmarks and ZS measured", transform=ax.transAxes,
                fontsize=8)
    _draw_curve(ax, [(label, variant["summary"].get("zs"), shared_comp(variant)) for label, variant in curve])
    ax.set_xlabel("ZS: mean over 21 zero-shot tasks, each with its ELEVATER metric (%)")
    ax.set_ylabel("Comp without SPEC: mean over 10 compositionality benchmarks (%)")
    ax.set_title("Compositionality vs. zero-shot accuracy")
    ax.grid(alpha=0.3)
    ax.margins(0.1)
    # Below the axes: inside, it would hide whichever published point sits in its corner.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    if panels == 2:
        ax = axes[0][1]
        ax.scatter(synthetic["zs"], synthetic["comp"], marker="*", s=220, color="tab:red")
        ax.annotate(str(results["model"]), (synthetic["zs"], synthetic["comp"]), textcoords="offset points",
                    xytext=(6, 6), fontsize=8)
        _draw_curve(ax, [(label, (summary := variant.get("synthetic", {}).get("summary", {})).get("zs"),
                          summary.get("comp")) for label, variant in curve])
        ax.set_xlabel("synthetic ZS (%)")
        ax.set_ylabel(f"synthetic {SYNTHETIC_COMP_LABEL} (%)")
        ax.set_title("Synthetic world")
        ax.grid(alpha=0.3)
        ax.margins(0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def _draw_curve(ax, points: list[tuple[str, float | None, float | None]]) -> None:
    """``(label, zs, comp)`` of variants of the model, joined in order; those missing a value are left out."""
    points = [(label, zs, comp) for label, zs, comp in points if zs is not None and comp is not None]
    if points:
        ax.plot([zs for _, zs, _ in points], [comp for *_, comp in points], marker="o", markersize=4, linewidth=1,
                color="tab:red", zorder=2)
        for label, zs, comp in points:
            ax.annotate(label, (zs, comp), textcoords="offset points", xytext=(4, 4), fontsize=6, color="tab:red")
