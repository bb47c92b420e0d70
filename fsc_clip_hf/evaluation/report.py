"""The evaluation report: ``results.json``, ``results.md`` and ``comp_vs_zs.png``.

``results.md`` follows the seed's results table (recipe | Comp | ZS | I2T Ret | T2I Ret), then Comp-12 and
SugarCrepe++'s ITT and TOT, with the published FSC-CLIP rows and the reference models (pretrained openai
ViT-B/32, NegCLIP) below the model's; then the per-benchmark tables beside the published figures of coco_b32
and the reference models, every subset with its item and skip counts beside openai ViT-B/32's published
figure, the zero-shot tasks, the retrieval recalls, the synthetic world when evaluated, the pages of wrong
items when written (``recipes/eval.py --html``), and what was missing or failed.
``comp_vs_zs.png`` places the model among the published points: against Comp without SPEC, the 12 FSC-CLIP
runs and the 202 models of the authors' companion study (``fsc_clip_hf.evaluation.published``), all on the
benchmarks they share; against Comp-12, the 202 models on the companion study's own 12.
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
    PublishedModel,
    fsc_clip_runs,
    published_model,
    vl_compo_models,
)

FILES = ("results.json", "results.md", "comp_vs_zs.png")
COMPOSITIONAL = ("comp", "comp_extra")  # the families of the compositionality benchmarks
_FAMILY_LABELS = {"comp": "benchmarks", "zs": "tasks", "retrieval": "sets"}


def write_report(results: dict, output_dir: str, pages: dict[str, str] | None = None) -> dict[str, str]:
    """Write the three report files into ``output_dir``; returns ``{file name: path}``. ``pages``: the
    pages of wrong items written beside them, ``{benchmark name: path relative to output_dir}``, linked
    from ``results.md``."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in FILES}
    with open(paths["results.json"], "w", encoding="utf-8") as handle:
        # JSON has no NaN: a value that is not a number is written as null (the suite already reports
        # a benchmark without a finite score as failed).
        json.dump(_finite(results), handle, indent=2, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
    with open(paths["results.md"], "w", encoding="utf-8") as handle:
        handle.write(markdown_report(results, pages))
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
    names = {"comp": "Comp", "zs": "ZS", "retrieval": "Ret", "comp12": "Comp-12"}
    return ", ".join(f"{names[f]} over {c['evaluated']} of {c['of']} {_FAMILY_LABELS.get(f, 'benchmarks')}"
                     for f, c in coverage.items())


def _figure(results: dict, name: str, key: str) -> float | None:
    return results["details"].get(name, {}).get("figures", {}).get(key)


def markdown_report(results: dict, pages: dict[str, str] | None = None) -> str:
    model, summary = results["model"], results["summary"]
    references = {label: published_model(name) for label, name in REFERENCE_MODELS.items()}
    lines = [f"# Evaluation of `{model}`", ""]
    details = results["details"]
    if not any(record["suite"] == "published" for record in details.values()):
        # Only the synthetic world: a paper's table of dashes would say nothing.
        lines += ["No benchmark of the paper's suite was scored, so the tables beside the published models are "
                  "left out.", ""]
        return _closing_sections(results, lines, pages)
    sugarcrepe_pp = [_figure(results, "sugarcrepe_pp", task) for task in ("itt", "tot")]
    ours = [summary.get(key) for key in ("comp", "zs", "i2t_r1", "t2i_r1", "comp12")] + sugarcrepe_pp
    lines += _table(["recipe", "Comp", "ZS", "I2T Ret", "T2I Ret", "Comp-12", "SC++ ITT", "SC++ TOT"],
                    [[f"**{model}**", *map(_cell, ours)]]
                    + [[f"{recipe} (published)", *map(_cell, (run.comp, run.zs, run.i2t_r1, run.t2i_r1, None, None,
                                                              None))] for recipe, run in fsc_clip_runs().items()]
                    + [[f"{label} (published)", *map(_cell, (None, ref.zs, ref.i2t_r1, ref.t2i_r1, ref.comp12, None,
                                                             None))] for label, ref in references.items()])
    lines += [f"Averages of this model: {coverage_line(results['coverage'])}. Comp, ZS and Ret are comparable "
              "with the published rows only when they cover all of them. The reference models' figures are from "
              "the authors' companion study (github.com/ytaek-oh/vl_compo), which has no SPEC, hence no Comp; "
              "Comp-12 is that study's mean over its 12 benchmarks (Comp's without SPEC, plus ColorSwap and "
              "MMVP-VLM; its `comp_avg`), which the FSC-CLIP runs were not scored on. SC++ ITT / TOT: "
              "SugarCrepe++'s two tasks, each the mean of its five subsets (the benchmark publishes no mean).", ""]

    lines += ["## Compositionality benchmarks", ""]
    titles = [benchmark.title for benchmark in COMPOSITIONALITY]
    published_rows = [("coco_b32 (published)", fsc_clip_runs()["coco_b32"].benchmarks),
                      *((f"{label} (published)", ref.benchmarks) for label, ref in references.items())]
    lines += _table(["model", *titles], [[f"**{model}**", *(_cell(results["benchmarks"].get(t)) for t in titles)]]
                    + [[label, *(_cell(scores.get(t)) for t in titles)] for label, scores in published_rows])
    lines += _extra_table(results, references)
    openai = published_model(REFERENCE_MODELS["openai ViT-B/32"]).subsets
    rows = [[record["title"], subset, _cell(value), _cell(openai.get(name, {}).get(subset))]
            for name, record in details.items()
            if record["family"] in COMPOSITIONAL and record["suite"] == "published"
            for subset, value in record["subsets"].items()]
    if rows:
        lines += ["### Subsets", ""] + _table(["benchmark", "subset", "score", "openai ViT-B/32 (published)"], rows)
    counts = [[record["title"], str(record["items"]), _skipped(record.get("counts", {})), record.get("item_set") or ""]
              for record in details.values() if record["suite"] == "published" and record["family"] in COMPOSITIONAL]
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
    return _closing_sections(results, lines, pages)


def _closing_sections(results: dict, lines: list[str], pages: dict[str, str] | None) -> str:
    """The synthetic world, the failure pages, what was missing or failed, and the notes, after ``lines``."""
    details = results["details"]
    if "synthetic" in results:
        lines += _synthetic_section(results)
    if pages:
        lines += ["## Items the model got wrong", "", "One page per benchmark (`--html`): image, true caption, the "
                  "option preferred, both scores, subset; sortable by margin.", ""]
        lines += [f"- [{details[name]['title']}]({path})" for name, path in pages.items()] + [""]
    for key, heading in (("missing", "Missing data"), ("failed", "Failed")):
        if results[key]:
            lines += [f"## {heading}", ""] + [f"- `{name}`: {message}" for name, message in results[key].items()] + [""]
    notes = [f"- `{name}`: {note}" for name, record in details.items() for note in record["notes"]]
    if notes:
        lines += ["## Notes", ""] + notes + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _extra_table(results: dict, references: dict) -> list[str]:
    """ColorSwap, MMVP-VLM (the companion study's figure and the official one), Comp-12 and SugarCrepe++,
    beside the reference models' published figures (the companion study has no SugarCrepe++)."""
    header = ["model", "ColorSwap", "MMVP-VLM", "MMVP-VLM (official)", "Comp-12", "SC++ ITT", "SC++ TOT"]
    details = results["details"]
    ours = [details.get("colorswap", {}).get("score"), details.get("mmvp_vlm", {}).get("score"),
            _figure(results, "mmvp_vlm", "official"), results["summary"].get("comp12"),
            _figure(results, "sugarcrepe_pp", "itt"), _figure(results, "sugarcrepe_pp", "tot")]
    rows = [[f"**{results['model']}**", *map(_cell, ours)]]
    rows += [[f"{label} (published)", _cell(ref.benchmarks.get("ColorSwap")), _cell(ref.benchmarks.get("MMVP-VLM")),
              "–", _cell(ref.comp12), "–", "–"] for label, ref in references.items()]
    return ["### Beyond Comp: the companion study's Comp-12, and SugarCrepe++", "",
            "MMVP-VLM: the group score over its 135 pairs, the companion study's figure (in Comp-12); "
            "MMVP-VLM (official): its own metric, the mean over 9 categories of pairs whose two statements both "
            "pick their image.", ""] + _table(header, rows)


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


def full_comp12(results: dict) -> float | None:
    """The model's Comp-12 when it covers all 12 benchmarks (comparable with the published ``comp_avg``), or None."""
    coverage = results["coverage"].get("comp12", {})
    return results["summary"].get("comp12") if coverage and coverage["evaluated"] == coverage["of"] else None


def plot_comp_vs_zs(results: dict, path: str, curve: Sequence[tuple[str, dict]] = ()) -> None:
    """Compositionality against ZS, two panels: the 202 models of the authors' companion study
    (compositionality fine-tunes and the openai CLIPs named), and this model when it has every benchmark
    and ZS. The first panel's vertical axis is the mean over the 10 benchmarks all of them and the 12
    published FSC-CLIP runs were scored on (Comp without SPEC), so that every point is on the same footing;
    the second's is Comp-12, the companion study's own 12 (its ``comp_avg``: the FSC-CLIP runs have no
    ColorSwap or MMVP-VLM figures). A third panel shows the synthetic world when it was evaluated.

    ``curve``: ``(label, results)`` of variants of this model (a WiSE-FT sweep), joined by a line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic = results.get("synthetic", {}).get("summary", {})
    panels = 3 if {"comp", "zs"} <= synthetic.keys() else 2
    fig, axes = plt.subplots(1, panels, figsize=(7.5 * panels, 6), squeeze=False)
    ax = axes[0][0]
    _published_points(ax, PublishedModel.shared_comp)
    placed: list[tuple[float, float]] = []
    for recipe, run in fsc_clip_runs().items():
        comp = run.shared_comp()
        ax.scatter(run.zs, comp, color="tab:blue", s=30, label="FSC-CLIP (published)" if recipe == "coco_b32" else None)
        # A label next to an already labelled point goes below its own point, not on top of the other.
        crowded = any(abs(run.zs - x) < 0.8 and abs(comp - y) < 0.15 for x, y in placed)
        ax.annotate(recipe, (run.zs, comp), textcoords="offset points", xytext=(4, -9 if crowded else 3), fontsize=6,
                    color="tab:blue")
        placed.append((run.zs, comp))
    _model_point(ax, results, shared_comp(results), "the 10 benchmarks")
    _draw_curve(ax, [(label, variant["summary"].get("zs"), shared_comp(variant)) for label, variant in curve])
    _axes(ax, "Comp without SPEC: mean over 10 compositionality benchmarks (%)",
          "Compositionality vs. zero-shot accuracy")
    ax = axes[0][1]
    _published_points(ax, lambda model: model.comp12)
    _model_point(ax, results, full_comp12(results), "the 12 benchmarks of Comp-12")
    _draw_curve(ax, [(label, variant["summary"].get("zs"), full_comp12(variant)) for label, variant in curve])
    _axes(ax, "Comp-12: the companion study's 12 benchmarks (comp_avg) (%)", "Comp-12 vs. zero-shot accuracy")
    if panels == 3:
        ax = axes[0][2]
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


def _published_points(ax, comp) -> None:
    """The companion study's 202 models at (ZS, ``comp(model)``): the fine-tunes named, openai ViT-B/32 in black."""
    others = [m for m in vl_compo_models() if m.family != COMPOSITIONAL_FAMILY and comp(m) is not None]
    ax.scatter([m.zs for m in others], [comp(m) for m in others], s=8, color="lightgray",
               label=f"{len(others)} pretrained CLIP-style models (vl_compo)")
    tuned = [m for m in vl_compo_models() if m.family == COMPOSITIONAL_FAMILY]
    ax.scatter([m.zs for m in tuned], [comp(m) for m in tuned], s=22, color="tab:orange",
               label="compositionality fine-tunes: NegCLIP, CE-CLIP, DAC, ... (vl_compo)")
    for m in tuned:
        ax.annotate(m.name, (m.zs, comp(m)), textcoords="offset points", xytext=(3, 3), fontsize=5.5, color="tab:orange")
    base = published_model(REFERENCE_MODELS["openai ViT-B/32"])  # the base model of most recipes
    ax.scatter(base.zs, comp(base), s=30, color="black", label="openai ViT-B/32 (vl_compo)")


def _model_point(ax, results: dict, comp: float | None, needs: str) -> None:
    summary, coverage = results["summary"], results["coverage"]
    if comp is not None and "zs" in summary:
        label = f"{results['model']} (ZS {coverage['zs']['evaluated']}/{coverage['zs']['of']})"
        ax.scatter(summary["zs"], comp, marker="*", s=220, color="tab:red", label=label, zorder=3)
    else:
        ax.text(0.02, 0.02, f"{results['model']}: not all of {needs} and ZS measured", transform=ax.transAxes,
                fontsize=8)


def _axes(ax, ylabel: str, title: str) -> None:
    ax.set_xlabel("ZS: mean over 21 zero-shot tasks, each with its ELEVATER metric (%)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.margins(0.1)
    # Below the axes: inside, it would hide whichever published point sits in its corner.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1))


def _draw_curve(ax, points: list[tuple[str, float | None, float | None]]) -> None:
    """``(label, zs, comp)`` of variants of the model, joined in order; those missing a value are left out."""
    points = [(label, zs, comp) for label, zs, comp in points if zs is not None and comp is not None]
    if points:
        ax.plot([zs for _, zs, _ in points], [comp for *_, comp in points], marker="o", markersize=4, linewidth=1,
                color="tab:red", zorder=2)
        for label, zs, comp in points:
            ax.annotate(label, (zs, comp), textcoords="offset points", xytext=(4, 4), fontsize=6, color="tab:red")
