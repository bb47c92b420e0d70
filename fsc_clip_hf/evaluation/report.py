"""The evaluation report: ``results.json``, ``results.md`` and ``comp_vs_zs.png``.

``results.md`` follows the seed's results table (recipe | Comp | ZS | I2T Ret | T2I Ret) with the
published FSC-CLIP rows below the model's, then the per-benchmark table (with coco_b32's published
figures), every subset, the zero-shot tasks, the retrieval recalls, the synthetic world when evaluated,
and what was missing or failed. ``comp_vs_zs.png`` places the model among the published points.
"""

from __future__ import annotations

import json
import os

from .adapters import COMPOSITIONALITY, GROUPS
from .adapters.retrieval import RECALLS
from .adapters.zeroshot import TASK_METRICS
from .published import COCO_B32_BENCHMARKS, FSC_CLIP_RESULTS, REFERENCE_MODELS
from .zeroshot_metrics import metric_label

FILES = ("results.json", "results.md", "comp_vs_zs.png")
_FAMILY_LABELS = {"comp": "benchmarks", "zs": "tasks", "retrieval": "sets"}


def write_report(results: dict, output_dir: str) -> dict[str, str]:
    """Write the three report files into ``output_dir``; returns ``{file name: path}``."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in FILES}
    with open(paths["results.json"], "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    with open(paths["results.md"], "w", encoding="utf-8") as handle:
        handle.write(markdown_report(results))
    plot_comp_vs_zs(results, paths["comp_vs_zs.png"])
    return paths


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
    lines = [f"# Evaluation of `{model}`", ""]
    lines += _table(["recipe", "Comp", "ZS", "I2T Ret", "T2I Ret"],
                    [[f"**{model}**", *(_cell(summary.get(k)) for k in ("comp", "zs", "i2t_r1", "t2i_r1"))]]
                    + [[f"{recipe} (published)", *map(_cell, values)] for recipe, values in FSC_CLIP_RESULTS.items()])
    lines += [f"Averages of this model: {coverage_line(results['coverage'])}. Comp, ZS and Ret are comparable "
              "with the published rows only when they cover all of them.", ""]

    lines += ["## Compositionality benchmarks", ""]
    titles = [benchmark.title for benchmark in COMPOSITIONALITY]
    lines += _table(["model", *titles], [[f"**{model}**", *(_cell(results["benchmarks"].get(t)) for t in titles)],
                                         ["coco_b32 (published)", *(_cell(COCO_B32_BENCHMARKS[t]) for t in titles)]])
    details = results["details"]
    rows = [[record["title"], subset, _cell(value)] for name, record in details.items() if record["family"] == "comp"
            and record["suite"] == "published" for subset, value in record["subsets"].items()]
    if rows:
        lines += ["### Subsets", ""] + _table(["benchmark", "subset", "score"], rows)

    tasks = [name for name in GROUPS["zs"] if name in details]
    if tasks:
        lines += ["## Zero-shot classification", ""]
        lines += _table(["task", "metric", "score", "top-1", "top-5"],
                        [[details[t]["title"], metric_label(TASK_METRICS[t]), _cell(details[t]["score"]),
                          *(_cell(details[t]["subsets"].get(k)) for k in ("top1", "top5"))] for t in tasks])
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


def _synthetic_section(results: dict) -> list[str]:
    synthetic = results["synthetic"]
    summary = synthetic["summary"]
    lines = ["## Synthetic world", ""]
    lines += _table(["model", "Comp", "ZS", "I2T R@1", "T2I R@1"],
                    [[f"**{results['model']}**", *(_cell(summary.get(k)) for k in ("comp", "zs", "i2t_r1", "t2i_r1"))]])
    rows = [[name, subset, _cell(value)] for name, record in results["details"].items()
            if record["suite"] == "synthetic" for subset, value in record["subsets"].items()]
    return lines + _table(["benchmark", "subset", "score"], rows)


def plot_comp_vs_zs(results: dict, path: str) -> None:
    """Comp against ZS: the 12 published FSC-CLIP runs, the published ZS of the pretrained CLIP and of
    NegCLIP (vertical lines: their Comp is not published), and this model when both are measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic = results.get("synthetic", {}).get("summary", {})
    panels = 2 if {"comp", "zs"} <= synthetic.keys() else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 5), squeeze=False)
    ax = axes[0][0]
    placed: list[tuple[float, float]] = []
    for recipe, (comp, zs, _, _) in FSC_CLIP_RESULTS.items():
        ax.scatter(zs, comp, color="tab:blue", s=30, label="FSC-CLIP (published)" if recipe == "coco_b32" else None)
        # A label next to an already labelled point goes below its own point, not on top of the other.
        crowded = any(abs(zs - x) < 0.8 and abs(comp - y) < 0.15 for x, y in placed)
        ax.annotate(recipe, (zs, comp), textcoords="offset points", xytext=(4, -9 if crowded else 3), fontsize=6,
                    color="tab:blue")
        placed.append((zs, comp))
    for (name, reference), color in zip(REFERENCE_MODELS.items(), ("tab:gray", "tab:orange")):
        ax.axvline(reference["zs"], color=color, linestyle="--", linewidth=1,
                   label=f"{name}: ZS {reference['zs']} (Comp not published)")
    summary, coverage = results["summary"], results["coverage"]
    if {"comp", "zs"} <= summary.keys():
        label = (f"{results['model']} (Comp {coverage['comp']['evaluated']}/{coverage['comp']['of']}, "
                 f"ZS {coverage['zs']['evaluated']}/{coverage['zs']['of']})")
        ax.scatter(summary["zs"], summary["comp"], marker="*", s=220, color="tab:red", label=label, zorder=3)
    else:
        ax.text(0.02, 0.02, f"{results['model']}: Comp and ZS not both measured", transform=ax.transAxes, fontsize=8)
    ax.set_xlabel("ZS: mean zero-shot top-1 over 21 tasks (%)")
    ax.set_ylabel("Comp: mean over 11 compositionality benchmarks (%)")
    ax.set_title("Compositionality vs. zero-shot accuracy")
    ax.grid(alpha=0.3)
    ax.margins(0.15)
    # Below the axes: inside, it would hide whichever published point sits in its corner.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    if panels == 2:
        ax = axes[0][1]
        ax.scatter(synthetic["zs"], synthetic["comp"], marker="*", s=220, color="tab:red")
        ax.annotate(str(results["model"]), (synthetic["zs"], synthetic["comp"]), textcoords="offset points",
                    xytext=(6, 6), fontsize=8)
        ax.set_xlabel("synthetic ZS (%)")
        ax.set_ylabel("synthetic Comp (%)")
        ax.set_title("Synthetic world")
        ax.grid(alpha=0.3)
        ax.margins(0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
