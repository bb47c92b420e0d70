"""The demo's comparison of several checkpoints on the synthetic world's test sets.

Each checkpoint is scored by the evaluation engine (:func:`fsc_clip_hf.evaluation.suite.evaluate_model`
on the ``synthetic`` benchmarks: every image and caption embedded once); the table and the plot put the
models side by side, each fine-tune as the mean ± sample standard deviation over its seeds. Scores are
percentages:

* Comp: accuracy of the true caption against its hard negative, averaged over the binding and
  replacement subsets; ``swap_rel`` has its own column and stays out of Comp
  (:data:`fsc_clip_hf.evaluation.adapters.synthetic.COMP_SUBSETS`, labelled ``COMP_LABEL`` wherever printed);
* ZS: zero-shot top-1 with the class prompts averaged over templates, averaged over the tasks;
* I2T / T2I: Recall@1 of image→caption and caption→image retrieval on held-out images.

The verdict is computed from the table: a fine-tune "raises" a score beyond the seed spread when its
mean exceeds the reference's by more than the sum of the two standard deviations.
"""

from __future__ import annotations

import json
import logging
import os
import statistics

from transformers import CLIPModel, CLIPProcessor

from .adapters.synthetic import COMP_LABEL
from .report import write_report
from .suite import evaluate_model

logger = logging.getLogger(__name__)

COLUMNS = ("comp", "zs", "i2t_r1", "t2i_r1")
HEADERS = {"comp": COMP_LABEL, "zs": "ZS", "i2t_r1": "I2T R@1", "t2i_r1": "T2I R@1"}
LABELS = {"pretrained": "the base", "clip": "CLIP fine-tuning", "negclip": "NegCLIP", "fsc-clip": "FSC-CLIP"}


def synthetic_scores(results: dict) -> dict:
    """The demo's view of :func:`~fsc_clip_hf.evaluation.suite.evaluate_model`'s results on ``synthetic``:
    ``{"summary": {comp, zs, i2t_r1, t2i_r1}, "subsets": {"comp/<subset>", "zs/<task>"}}`` in percent."""
    if results["missing"] or results["failed"]:
        raise RuntimeError(f"synthetic evaluation incomplete: {results['missing'] or results['failed']}")
    summary = results["synthetic"]["summary"]
    subsets = {f"{kind}/{subset}": value for kind in ("comp", "zs")
               for subset, value in results["details"][f"synthetic/{kind}"]["subsets"].items()}
    return {"summary": {column: summary[column] for column in COLUMNS}, "subsets": subsets}


def aggregate(runs: dict) -> dict:
    """``{seed: scores}`` (scores as :func:`synthetic_scores`) → ``{"runs", "n", "mean", "sd"}``, the mean
    and sample sd of every score over the runs (sd 0 for a single run)."""
    scores = list(runs.values())
    out = {"runs": {str(seed): s for seed, s in runs.items()}, "n": len(scores), "mean": {}, "sd": {}}
    for part in ("summary", "subsets"):
        keys = sorted({k for s in scores for k in s[part]}, key=list(scores[0][part]).index)
        values = {k: [s[part][k] for s in scores] for k in keys}
        out["mean"][part] = {k: statistics.fmean(v) for k, v in values.items()}
        out["sd"][part] = {k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in values.items()}
    return out


def evaluate_checkpoints(checkpoints: dict[str, dict], eval_dir: str, output_dir: str) -> dict:
    """Evaluate each model's checkpoint folders (``{name: {seed: path}}``, seed None for a single model);
    write each one's full report (``eval/<name>[/seed<k>]/results.*``, as ``recipes/eval.py`` does), then
    print and write the side-by-side ``demo_results.{json,md}`` with the verdict, and ``demo_comp_vs_zs.png``."""
    results = {}
    for name, paths in checkpoints.items():
        runs = {}
        for seed, path in paths.items():
            label = name if seed is None else f"{name}/seed{seed}"
            logger.info("evaluating %s (%s) on %s", label, path, eval_dir)
            full = evaluate_model(CLIPModel.from_pretrained(path), CLIPProcessor.from_pretrained(path), "synthetic",
                                  eval_dir, model_name=label, show_progress=False)
            write_report(full, report_dir(output_dir, name, seed))
            runs[seed] = synthetic_scores(full)
        results[name] = {**aggregate(runs), "checkpoints": {str(seed): path for seed, path in paths.items()}}
    text = markdown_table(results) + "\n\n" + verdict(results)
    print("\n" + text)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "demo_results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(output_dir, "demo_results.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    plot_comp_vs_zs(results, os.path.join(output_dir, "demo_comp_vs_zs.png"))
    return results


def report_dir(output_dir: str, name: str, seed: int | None) -> str:
    """Where one model's full report goes: ``eval/<name>[/seed<k>]``."""
    return os.path.join(output_dir, "eval", name if seed is None else f"{name}/seed{seed}")


def _cell(result: dict, part: str, key: str) -> str:
    mean = result["mean"][part].get(key)
    if mean is None:
        return "–"
    return f"{mean:.1f} ± {result['sd'][part][key]:.1f}" if result["n"] > 1 else f"{mean:.1f}"


def markdown_table(results: dict) -> str:
    """One row per model (results of :func:`aggregate`): seeds, the summary columns, then every subset."""
    subsets = sorted({key for r in results.values() for key in r["mean"]["subsets"]})
    header = ["model", "seeds", *(HEADERS[c] for c in COLUMNS), *subsets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, r in results.items():
        cells = [name, str(r["n"]), *(_cell(r, "summary", c) for c in COLUMNS), *(_cell(r, "subsets", s) for s in subsets)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _difference(results: dict, model: str, reference: str, column: str) -> tuple[float, float]:
    """(mean of model − mean of reference, the sum of their sds) for one summary column."""
    m, r = results[model], results[reference]
    return (m["mean"]["summary"][column] - r["mean"]["summary"][column],
            m["sd"]["summary"][column] + r["sd"]["summary"][column])


def _beyond(results: dict, model: str, reference: str, column: str) -> str:
    """The answer of one verdict question: 'yes (+d, spread s)' when the model's mean exceeds the
    reference's by more than the spread s, else 'no (...)'."""
    gain, spread = _difference(results, model, reference, column)
    return f"{'yes' if gain > spread else 'no'} ({gain:+.1f}, spread {spread:.1f})"


def _one_seed(results: dict) -> bool:
    return all(r["n"] == 1 for name, r in results.items() if name != "pretrained")


def verdict(results: dict) -> str:
    """One line computed from the numbers: does each hard-negative fine-tune raise Comp beyond the seed
    spread over the control (CLIP fine-tuning, else the base)? Does FSC-CLIP keep ZS and retrieval above
    NegCLIP's beyond the spread (the paper's claim: it gives up less of what the base could do)? With one
    seed per fine-tune there is no spread to judge by: the line gives the differences from the base."""
    tuned = [name for name in results if name != "pretrained"]
    if not tuned:
        return "Verdict: no fine-tune to judge."
    if _one_seed(results):
        differences = "; ".join(
            f"{LABELS.get(model, model)} " + ", ".join(
                f"{HEADERS[column]} {_difference(results, model, 'pretrained', column)[0]:+.1f}" for column in COLUMNS)
            for model in tuned)
        return (f"Differences from the base, one seed each ({differences}): one seed has no spread, so they do not "
                "tell an effect from the seed's noise; --config demo_compare.yaml compares over 3 seeds.")
    reference = "clip" if "clip" in results else "pretrained"
    parts = []
    for model in ("negclip", "fsc-clip"):
        if model not in results:
            continue
        parts.append(f"{LABELS[model]} raises Comp over {LABELS[reference]} beyond the seed spread: "
                     + _beyond(results, model, reference, "comp"))
    if "negclip" in results and "fsc-clip" in results:
        kept = [f"{HEADERS[column]} {_beyond(results, 'fsc-clip', 'negclip', column)}"
                for column in ("zs", "i2t_r1", "t2i_r1")]
        parts.append("FSC-CLIP keeps ZS and retrieval above NegCLIP beyond the seed spread: " + ", ".join(kept))
    return "Verdict: " + ("; ".join(parts) if parts else "no hard-negative fine-tune to judge") + "."


def plot_comp_vs_zs(results: dict, path: str) -> None:
    """The holistic picture: compositionality against zero-shot accuracy, one point per model with
    error bars of one sd over its seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, r in results.items():
        x, y = r["mean"]["summary"]["zs"], r["mean"]["summary"]["comp"]
        ax.errorbar(x, y, xerr=r["sd"]["summary"]["zs"], yerr=r["sd"]["summary"]["comp"], fmt="o", capsize=4,
                    markersize=7, label=f"{name} (n={r['n']})")
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6))
    ax.set_xlabel("zero-shot top-1 (%)")
    ax.set_ylabel(f"compositional accuracy, {COMP_LABEL} (%)")
    seeds = max(r["n"] for r in results.values())
    ax.set_title("synthetic world: Comp vs. ZS\n" + ("one seed" if seeds == 1 else f"mean ± sd over {seeds} seeds"),
                 fontsize=10)  # two lines: one is wider than the figure
    ax.grid(alpha=0.3)
    ax.margins(0.2)  # room for the labels
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
