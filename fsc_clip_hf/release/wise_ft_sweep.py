"""A WiSE-FT sweep through the evaluation suite: ``recipes/eval.py --wise_ft_alphas 0,0.25,0.5,0.75,1
--pretrained P`` (:mod:`fsc_clip_hf.release.wise_ft` for the interpolation).

The model is evaluated once per α (each image and caption embedded once per α, by one
:func:`~fsc_clip_hf.evaluation.suite.evaluate_model` call), in place: its weights are set to θ(α) and
restored at the end. The output folder receives, beside each α's full report in ``alpha_<α>/``:

* ``wise_ft.json``: per α, the summary and coverage (and the synthetic world's, when evaluated);
* ``wise_ft.md``: one results row per α (α | Comp | ZS | I2T Ret | T2I Ret), then the published rows;
* ``wise_ft_comp_vs_zs.png``: the α curve among the published points.
"""

from __future__ import annotations

import json
import logging
import os

from ..evaluation.published import fsc_clip_runs
from ..evaluation.report import _cell, _table, coverage_line, plot_comp_vs_zs, write_report
from ..evaluation.suite import evaluate_model
from .wise_ft import effective_alpha, interpolate, load_pretrained_state

logger = logging.getLogger(__name__)
FILES = ("wise_ft.json", "wise_ft.md", "wise_ft_comp_vs_zs.png")
_COLUMNS = ("comp", "zs", "i2t_r1", "t2i_r1")


def parse_alphas(text: str) -> list[float]:
    """``"0,0.25,1"`` → ``[0.0, 0.25, 1.0]``, each checked to lie in [0, 1]."""
    alphas = [float(part) for part in text.split(",") if part.strip()]
    for alpha in alphas:
        effective_alpha(alpha)
    if not alphas:
        raise ValueError("no WiSE-FT alpha given")
    return alphas


def evaluate_wise_ft(model, processor, pretrained_state: dict, alphas, benchmarks, data_root: str, *,
                     lora_factors: bool = False, model_name: str, **options) -> dict:
    """Evaluate ``model`` at each WiSE-FT ``alpha`` between ``pretrained_state`` and its own weights.

    ``options`` go to :func:`~fsc_clip_hf.evaluation.suite.evaluate_model`. Every process of a
    distributed run calls this with the same arguments. Returns ``{"model", "lora_factors", "runs":
    [{"alpha", "results"}]}``.
    """
    finetuned = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    runs = []
    try:
        for alpha in alphas:
            weight = effective_alpha(alpha, lora_factors)
            logger.info("WiSE-FT alpha %g (weight-space %g)", alpha, weight)
            model.load_state_dict(interpolate(pretrained_state, finetuned, weight))
            results = evaluate_model(model, processor, benchmarks, data_root,
                                     model_name=f"{model_name} α={alpha:g}", **options)
            runs.append({"alpha": alpha, "results": results})
    finally:
        model.load_state_dict(finetuned)
    return {"model": model_name, "lora_factors": lora_factors, "runs": runs}


def write_wise_ft_report(sweep: dict, output_dir: str) -> dict[str, str]:
    """Write each α's report into ``alpha_<α>/`` and the sweep's three files; returns ``{name: path}``."""
    os.makedirs(output_dir, exist_ok=True)
    for run in sweep["runs"]:
        write_report(run["results"], os.path.join(output_dir, f"alpha_{run['alpha']:g}"))
    paths = {name: os.path.join(output_dir, name) for name in FILES}
    rows = [{"alpha": run["alpha"], **{key: run["results"][key] for key in ("summary", "coverage")},
             **({"synthetic": run["results"]["synthetic"]} if "synthetic" in run["results"] else {})}
            for run in sweep["runs"]]
    with open(paths["wise_ft.json"], "w", encoding="utf-8") as handle:
        json.dump({"model": sweep["model"], "lora_factors": sweep["lora_factors"], "alphas": rows}, handle,
                  indent=2, ensure_ascii=False)
        handle.write("\n")
    with open(paths["wise_ft.md"], "w", encoding="utf-8") as handle:
        handle.write(markdown_sweep(sweep))
    curve = [(f"α={run['alpha']:g}", run["results"]) for run in sweep["runs"]]
    plot_comp_vs_zs(sweep["runs"][-1]["results"], paths["wise_ft_comp_vs_zs.png"], curve=curve)
    return paths


def markdown_sweep(sweep: dict) -> str:
    runs = sweep["runs"]
    how = "LoRA factors, as the authors' code (weight change × α²)" if sweep["lora_factors"] else "weights"
    lines = [f"# WiSE-FT of `{sweep['model']}`", "",
             f"Interpolated: {how}; α = 0 is the pretrained model, α = 1 the fine-tuned one.", ""]
    lines += _table(["α", "Comp", "ZS", "I2T Ret", "T2I Ret"],
                    [[f"**{run['alpha']:g}**", *(_cell(run["results"]["summary"].get(k)) for k in _COLUMNS)]
                     for run in runs]
                    + [[f"{recipe} (published)", *map(_cell, (run.comp, run.zs, run.i2t_r1, run.t2i_r1))]
                       for recipe, run in fsc_clip_runs().items()])
    lines += [f"Averages: {coverage_line(runs[0]['results']['coverage'])}.", ""]
    if any("synthetic" in run["results"] for run in runs):
        lines += ["## Synthetic world", ""]
        lines += _table(["α", "Comp", "ZS", "I2T R@1", "T2I R@1"],
                        [[f"**{run['alpha']:g}**", *(_cell(run["results"].get("synthetic", {}).get("summary", {}).get(k))
                                                    for k in _COLUMNS)] for run in runs])
    return "\n".join(lines).rstrip("\n") + "\n"


def run_sweep(args, model, processor, device, is_main_process: bool) -> dict:
    """``recipes/eval.py`` with ``--wise_ft_alphas``: evaluate, then (main process) write and print."""
    sweep = evaluate_wise_ft(model, processor, load_pretrained_state(args.pretrained, model), args.wise_ft_alphas,
                             args.benchmarks, args.data_root, lora_factors=args.wise_ft_lora_factors,
                             model_name=args.model_name or args.model_name_or_path, batch_size=args.batch_size,
                             num_workers=args.num_workers, device=device, show_progress=not args.no_progress)
    if is_main_process:
        paths = write_wise_ft_report(sweep, args.output_dir)
        for run in sweep["runs"]:
            summary = run["results"]["summary"] or run["results"].get("synthetic", {}).get("summary", {})
            print(f"alpha {run['alpha']:g}: " + " | ".join(f"{k} {summary[k]:.1f}" for k in _COLUMNS if k in summary))
        print("report: " + ", ".join(paths.values()))
    return sweep
