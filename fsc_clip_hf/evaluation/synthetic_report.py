"""The demo's comparison of several checkpoints on the synthetic world's test sets.

Each checkpoint is scored by the evaluation engine (:func:`fsc_clip_hf.evaluation.suite.evaluate_model`
on the ``synthetic`` benchmarks: every image and caption embedded once); the table and the plot put the
models side by side. Scores are percentages:

* Comp: accuracy of the true caption against its hard negatives, averaged over the subsets;
* ZS: zero-shot top-1 with the class prompts averaged over templates, averaged over the tasks;
* I2T / T2I: Recall@1 of image→caption and caption→image retrieval on held-out images.
"""

from __future__ import annotations

import json
import logging
import os

from transformers import CLIPModel, CLIPProcessor

from .report import write_report
from .suite import evaluate_model

logger = logging.getLogger(__name__)

COLUMNS = ("comp", "zs", "i2t_r1", "t2i_r1")
HEADERS = {"comp": "Comp", "zs": "ZS", "i2t_r1": "I2T R@1", "t2i_r1": "T2I R@1"}


def synthetic_scores(results: dict) -> dict:
    """The demo's view of :func:`~fsc_clip_hf.evaluation.suite.evaluate_model`'s results on ``synthetic``:
    ``{"summary": {comp, zs, i2t_r1, t2i_r1}, "subsets": {"comp/<subset>", "zs/<task>"}}`` in percent."""
    if results["missing"] or results["failed"]:
        raise RuntimeError(f"synthetic evaluation incomplete: {results['missing'] or results['failed']}")
    summary = results["synthetic"]["summary"]
    subsets = {f"{kind}/{subset}": value for kind in ("comp", "zs")
               for subset, value in results["details"][f"synthetic/{kind}"]["subsets"].items()}
    return {"summary": {column: summary[column] for column in COLUMNS}, "subsets": subsets}


def evaluate_checkpoints(checkpoints: dict[str, str], eval_dir: str, output_dir: str) -> dict:
    """Evaluate each named checkpoint folder; write each one's full report (``eval/<name>/results.*``,
    as ``recipes/eval.py`` does), then print and write the side-by-side `demo_results.{json,md,png}`."""
    results = {}
    for name, path in checkpoints.items():
        logger.info("evaluating %s (%s) on the synthetic test sets", name, path)
        full = evaluate_model(CLIPModel.from_pretrained(path), CLIPProcessor.from_pretrained(path), "synthetic",
                              eval_dir, model_name=name, show_progress=False)
        write_report(full, os.path.join(output_dir, "eval", name))
        results[name] = synthetic_scores(full)
    table = markdown_table(results)
    print("\n" + table)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "demo_results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(output_dir, "demo_results.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    plot_comp_vs_zs(results, os.path.join(output_dir, "demo_comp_vs_zs.png"))
    return results


def markdown_table(results: dict) -> str:
    subsets = sorted({key for r in results.values() for key in r["subsets"]})
    header = ["model", *(HEADERS[c] for c in COLUMNS), *subsets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, r in results.items():
        cells = [name, *(f"{r['summary'][c]:.1f}" for c in COLUMNS), *(f"{r['subsets'].get(s, float('nan')):.1f}" for s in subsets)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_comp_vs_zs(results: dict, path: str) -> None:
    """The holistic picture: compositionality against zero-shot accuracy, one point per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, r in results.items():
        ax.scatter(r["summary"]["zs"], r["summary"]["comp"], s=60)
        ax.annotate(name, (r["summary"]["zs"], r["summary"]["comp"]), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("zero-shot top-1 (%)")
    ax.set_ylabel("compositional accuracy (%)")
    ax.set_title("synthetic world: Comp vs. ZS")
    ax.grid(alpha=0.3)
    ax.margins(0.2)  # room for the labels
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
