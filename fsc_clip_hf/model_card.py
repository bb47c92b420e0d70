"""Model cards for FSC-CLIP checkpoints: Hub metadata (with a ``model-index``) and a Markdown body.

The body comes from the Jinja template ``fsc_clip_hf/model_cards/template.md`` (package data); the YAML
metadata is built with ``huggingface_hub``'s ``ModelCardData`` / ``EvalResult`` and the rendered card is
parsed back through ``ModelCard``, so a card that the Hub's client classes reject is never returned.

Results layout (scores in percent, every section optional). The evaluation report writes it and
``fsc_clip_hf.hub.prepare_release`` stores it as ``results.json`` beside the weights::

    {
      "summary":    {"comp": 54.2, "zs": 55.7, "i2t_r1": 66.3, "t2i_r1": 58.3},
      "benchmarks": {"ARO": 85.1, "SugarCrepe": 85.1, "Winoground": 9.5},   # compositionality
      "zeroshot":   {"imagenet1k": 63.1, "caltech101": 88.3},               # each task's ELEVATER metric
      "retrieval":  {"coco": {"i2t_r1": 66.0, "i2t_r5": 86.9, "t2i_r1": 50.1}, "flickr30k": {...}},
    }

``summary`` holds the four columns of the paper's tables: Comp (mean over the compositionality
benchmarks), ZS (mean over the zero-shot tasks of each task's ELEVATER metric: top-1 accuracy for most),
I2T Ret and T2I Ret (mean Recall@1 over the retrieval sets).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any, Mapping, Sequence

import jinja2
from huggingface_hub import EvalResult, ModelCard, ModelCardData

SUMMARY_COLUMNS = {"comp": "Comp", "zs": "ZS", "i2t_r1": "I2T Ret", "t2i_r1": "T2I Ret"}
RETRIEVAL_COLUMNS = {
    "i2t_r1": "I2T R@1",
    "i2t_r5": "I2T R@5",
    "i2t_r10": "I2T R@10",
    "t2i_r1": "T2I R@1",
    "t2i_r5": "T2I R@5",
    "t2i_r10": "T2I R@10",
}
DEFAULT_TAGS = (
    "clip",
    "fsc-clip",
    "vision-language",
    "compositionality",
    "hard-negatives",
    "zero-shot-image-classification",
)
# Every score is a CLIP similarity ranking without task-specific training, so all model-index entries use
# the Hub's zero-shot-image-classification task id (a known id, unlike a made-up "compositionality" one);
# task_name tells the three families apart.
_TASK_TYPE = "zero-shot-image-classification"
_TASK_NAMES = {
    "comp": "Vision-language compositionality",
    "zs": "Zero-shot image classification",
    "retrieval": "Zero-shot image-text retrieval",
}
# Recipe keys that must never reach a public card or results file (the recipe may carry hub_token).
_SECRET_KEY = re.compile(r"token|secret|password|api_key", re.IGNORECASE)


def public_recipe(recipe: Mapping[str, Any] | None) -> dict[str, Any]:
    """The recipe without secret-looking keys (tokens, passwords), recursively."""
    cleaned: dict[str, Any] = {}
    for key, value in (recipe or {}).items():
        if _SECRET_KEY.search(str(key)):
            continue
        cleaned[key] = public_recipe(value) if isinstance(value, Mapping) else value
    return cleaned


def build_eval_results(results: Mapping[str, Any] | None) -> list[EvalResult]:
    """Turn a results dict (layout in the module docstring) into the Hub's ``EvalResult`` entries."""
    if not results:
        return []
    entries: list[EvalResult] = []

    def add(task: str, dataset_type: str, dataset_name: str, metric_type: str, metric_name: str, value: Any):
        if value is None:
            return
        entries.append(
            EvalResult(
                task_type=_TASK_TYPE,
                task_name=_TASK_NAMES[task],
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                metric_type=metric_type,
                metric_name=metric_name,
                metric_value=round(float(value), 2),
            )
        )

    summary = reported_summary(results)
    add("comp", "fsc-clip-compositionality-suite", "Compositionality benchmarks (mean)", "accuracy", "Comp",
        summary.get("comp"))
    add("zs", "fsc-clip-zeroshot-suite", "Zero-shot classification tasks (mean)", "accuracy", "ZS",
        summary.get("zs"))
    for key in ("i2t_r1", "t2i_r1"):
        add("retrieval", "fsc-clip-retrieval-suite", "Image-text retrieval (mean)", "recall@1",
            SUMMARY_COLUMNS[key], summary.get(key))
    for name, value in (results.get("benchmarks") or {}).items():
        add("comp", _slug(name), name, "accuracy", f"{name} accuracy", value)
    for name, value in (results.get("zeroshot") or {}).items():
        metric_type, label = _zeroshot_metric(name)
        add("zs", _slug(name), name, metric_type, f"{name} {label}", value)
    for name, metrics in (results.get("retrieval") or {}).items():
        for key, label in RETRIEVAL_COLUMNS.items():
            add("retrieval", _slug(name), name, f"recall@{key.split('_r')[1]}", label, metrics.get(key))
    return entries


def _zeroshot_metric(name: str) -> tuple[str, str]:
    """``(Hub metric type, label)`` of zero-shot task ``name``'s figure: ELEVATER's metric of the task,
    top-1 accuracy for a name the evaluation does not know."""
    from .evaluation.adapters.zeroshot import TASK_BY_NAME
    from .evaluation.zeroshot_metrics import METRICS

    task = TASK_BY_NAME.get(name)
    _, label, metric_type = METRICS[task.metric if task else "top1"]
    return metric_type, label


# Which family of benchmarks each summary column averages over (the keys of a results' "coverage").
_SUMMARY_FAMILIES = {"comp": "comp", "zs": "zs", "i2t_r1": "retrieval", "t2i_r1": "retrieval"}


def reported_summary(results: Mapping[str, Any]) -> dict[str, float]:
    """The summary columns a card may report: with a ``coverage`` (as the evaluation suite writes it),
    only those averaged over their whole family. Comp over 9 of the 11 benchmarks is not the paper's
    Comp, and a card is read beside the published figures."""
    return {key: value for key, value in (results.get("summary") or {}).items() if _covered(results, key)}


def partial_columns(results: Mapping[str, Any]) -> list[str]:
    """The summary columns left out of a card for partial coverage, e.g. ``"Comp (9 of 11)"``."""
    summary, left_out = results.get("summary") or {}, []
    for key, label in SUMMARY_COLUMNS.items():
        if key in summary and not _covered(results, key):
            family = results["coverage"][_SUMMARY_FAMILIES[key]]
            left_out.append(f"{label} ({family['evaluated']} of {family['of']})")
    return left_out


def _covered(results: Mapping[str, Any], key: str) -> bool:
    coverage = results.get("coverage")
    if coverage is None:  # hand-written results, such as the published ones: taken as they are
        return True
    family = coverage.get(_SUMMARY_FAMILIES.get(key), {})
    return bool(family) and family["evaluated"] == family["of"]


def build_model_card(
    recipe: Mapping[str, Any] | None,
    results: Mapping[str, Any] | None,
    base_model: str,
    datasets: Sequence[str],
    lora: bool,
    *,
    model_name: str | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
    tags: Sequence[str] = (),
) -> ModelCard:
    """Render the model card of an FSC-CLIP checkpoint.

    Args:
        recipe: the training recipe (hyperparameters); secret-looking keys are left out of the card.
        results: evaluation results in the layout of the module docstring, or None when not evaluated.
        base_model: Hub id of the pretrained CLIP that was fine-tuned (e.g. ``openai/clip-vit-base-patch32``).
        datasets: Hub ids of the training data sets.
        lora: whether the run used LoRA (the card then mentions the merged weights and the ``adapter/`` folder).
        model_name: the name in the title and the model-index; defaults to the repository name.
        repo_id: the Hub repository, used in the usage snippet.
        license: an SPDX-style Hub license id.
        tags: extra Hub tags, added to ``DEFAULT_TAGS``.
    """
    recipe = public_recipe(recipe)
    model_name = model_name or (repo_id.split("/")[-1] if repo_id else f"fsc-clip-{base_model.split('/')[-1]}")
    eval_results = build_eval_results(results)
    card_data = ModelCardData(
        base_model=base_model,
        datasets=list(datasets) or None,
        language="en",
        license=license,
        library_name="transformers",
        pipeline_tag="zero-shot-image-classification",
        tags=[*DEFAULT_TAGS, *(["lora"] if lora else []), *tags],
        # model_name only names the model-index; without results it would be a stray metadata key.
        model_name=model_name if eval_results else None,
        eval_results=eval_results or None,
    )
    content = _template().render(
        card_data=card_data.to_yaml(),
        model_name=model_name,
        repo_id=repo_id or "path/to/checkpoint",
        base_model=base_model,
        datasets=list(datasets),
        lora=lora,
        arch=recipe.get("arch"),
        loss_name=recipe.get("loss_name", "fsc-clip"),
        hyperparameters=_flatten(recipe),
        **_result_tables(results or {}),
    )
    # Parsing the rendered text back checks the YAML block and the model-index with the Hub's own classes.
    card = ModelCard(content)
    if len(card.data.eval_results or []) != len(eval_results):
        raise ValueError("the model-index of the rendered card does not round-trip")
    return card


def _template() -> jinja2.Template:
    source = resources.files("fsc_clip_hf.model_cards").joinpath("template.md").read_text(encoding="utf-8")
    # StrictUndefined: a misspelt variable in the template fails loudly instead of leaving a blank.
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.from_string(source)


def _result_tables(results: Mapping[str, Any]) -> dict[str, Any]:
    """Formatted cells for the evaluation tables of the template."""
    summary = reported_summary(results)
    retrieval = results.get("retrieval") or {}
    columns = [key for key in RETRIEVAL_COLUMNS if any(key in metrics for metrics in retrieval.values())]
    return {
        "summary": {label: _cell(summary.get(key)) for key, label in SUMMARY_COLUMNS.items()} if summary else {},
        "partial": partial_columns(results),
        "synthetic": {label: _cell(value) for key, label in SUMMARY_COLUMNS.items()
                      if (value := (results.get("synthetic") or {}).get("summary", {}).get(key)) is not None},
        "benchmarks": {name: _cell(value) for name, value in (results.get("benchmarks") or {}).items()},
        "zeroshot": {name: (_zeroshot_metric(name)[1], _cell(value))
                     for name, value in (results.get("zeroshot") or {}).items()},
        "retrieval": {
            "columns": [RETRIEVAL_COLUMNS[key] for key in columns],
            "rows": [(name, [_cell(metrics.get(key)) for key in columns]) for name, metrics in retrieval.items()],
        } if retrieval else {},
    }


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested recipe as ``(dotted.key, printable value)`` rows, in the recipe's own order."""
    rows: list[tuple[str, str]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, prefix=f"{name}."))
        elif value is not None:
            shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            rows.append((name, shown.replace("|", "\\|")))
    return rows


def _cell(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
