"""Model cards for FSC-CLIP checkpoints: Hub metadata (with a ``model-index``) and a Markdown body.

The body comes from the Jinja template ``fsc_clip_hf/release/model_card_template.md`` (package data); the YAML
metadata is built with ``huggingface_hub``'s ``ModelCardData`` / ``EvalResult`` and the rendered card is
parsed back through ``ModelCard``, so a card that the Hub's client classes reject is never returned.

Results layout (scores in percent, every section optional). The evaluation report writes it and
``fsc_clip_hf.release.hub.prepare_release`` stores it as ``results.json`` beside the weights::

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

import json
import os
import re
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .. import cpu_kernels
from ..evaluation.adapters.synthetic import COMP_LABEL as SYNTHETIC_COMP_LABEL

PAPER_URL = "https://arxiv.org/abs/2410.05210"
PAPER_TAG = "arxiv:2410.05210"  # the Hub links the paper's page from this tag
# The named training sources of fsc_clip_hf.data.sources, as a card describes them.
NAMED_SOURCES = {
    "train_neg_clip": "COCO 2014 captions with NegCLIP's hard negatives (`train_neg_clip.tsv`, Yuksekgonul et al., "
                      "ICLR 2023)",
    "laioncoco_100k": "a 100K-pair subset of LAION-COCO",
    "cc3m_100k": "a 100K-pair subset of CC3M, with CoCa captions",
}
OBJECTIVES = {
    "clip": "CLIP (the symmetric contrastive loss)",
    "negclip": "NegCLIP (the contrastive loss with hard-negative captions as extra candidates)",
    "fsc-clip": "FSC-CLIP (contrastive loss + local and global hard-negative terms, focal and label-smoothed)",
}

SUMMARY_COLUMNS = {"comp": "Comp", "zs": "ZS", "i2t_r1": "I2T Ret", "t2i_r1": "T2I Ret"}
SYNTHETIC_COLUMNS = {"comp": SYNTHETIC_COMP_LABEL}  # the synthetic world's Comp leaves swap_rel out
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
    PAPER_TAG,
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
# recipe.yaml's record of what the run was (precision, processes, ...): not an option. Its LOCAL_PATHS lists
# the options whose value is a path of the training machine.
RUN_RECORD = "run"
LOCAL_PATHS = "local_paths"
_SECRET_KEY = re.compile(r"token|secret|password|api_key", re.IGNORECASE)


def recorded_recipe(recipe: Mapping[str, Any] | None) -> dict[str, Any]:
    """The recipe as ``recipe.yaml`` records it, recursively: plain data (enums as their values, paths as
    text) and no secret-looking keys (tokens, passwords). Paths stay as given (absolute, listed in
    ``run.local_paths``), so that ``--config final/recipe.yaml`` runs again where they exist."""
    cleaned: dict[str, Any] = {}
    for key, value in (recipe or {}).items():
        if not _SECRET_KEY.search(str(key)):
            cleaned[key] = recorded_recipe(value) if isinstance(value, Mapping) else _plain(value)
    return cleaned


def public_recipe(recipe: Mapping[str, Any] | None) -> dict[str, Any]:
    """The recipe as the model card shows it: :func:`recorded_recipe` without any path of the training
    machine (``model_name_or_path`` only as a Hub id, ``train_data`` as :func:`public_train_data` gives it,
    the other local paths left out)."""
    cleaned = recorded_recipe(recipe)
    local = set((cleaned.get(RUN_RECORD) or {}).get(LOCAL_PATHS, ()))
    model = cleaned.get("model_name_or_path")
    if isinstance(model, str) and not (is_hub_id(model) and not os.path.exists(model)):
        local.add("model_name_or_path")
    if "train_data" in cleaned:
        cleaned["train_data"] = public_train_data(cleaned["train_data"])
        local.discard("train_data")
    return {key: value for key, value in cleaned.items() if key not in local}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def objective(recipe: Mapping[str, Any] | None) -> str:
    """``clip``, ``negclip`` or ``fsc-clip``: the objective a recipe trains with (loss_name ``clip`` with
    hard negatives is NegCLIP)."""
    recipe = recipe or {}
    if recipe.get("loss_name", "fsc-clip") == "fsc-clip":
        return "fsc-clip"
    negatives = recipe.get("add_random_text_hard_negatives") or recipe.get("use_dataset_negatives")
    return "negclip" if negatives else "clip"


def hub_base_model(base_model: str | None, model_source: str | None) -> str | None:
    """The Hub id of the model a run started from, or None when it cannot be known.

    In order: ``base_model`` as given; ``model_source`` when it is a Hub id; for a local folder, the
    repository of a Hub cache snapshot (``.../models--org--name/snapshots/<rev>``) or the Hub id its
    ``config.json`` records (``_name_or_path``, as Hub configs written by older transformers hold it).
    Never a local path: a card links its base model on the Hub.
    """
    if base_model:
        return base_model
    if not model_source:
        return None
    if not os.path.exists(model_source):
        return model_source if is_hub_id(model_source) else None
    cached = re.search(r"models--([^/\\]+?)--([^/\\]+)[/\\]snapshots", os.path.abspath(model_source))
    if cached:
        return f"{cached.group(1)}/{cached.group(2)}"
    try:
        recorded = json.loads(Path(model_source, "config.json").read_text()).get("_name_or_path")
    except (OSError, ValueError, AttributeError):
        return None
    return recorded if isinstance(recorded, str) and is_hub_id(recorded) and not os.path.exists(recorded) else None


def is_hub_id(value: str) -> bool:
    """Whether ``value`` is a valid Hub repository id of the ``org/name`` form."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if value.count("/") != 1 or value.startswith((".", "/", "~")):
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def hub_datasets(train_data: str | None) -> list[str]:
    """The Hub dataset ids a ``train_data`` value names (for the card's ``datasets`` metadata)."""
    from ..data.sources import HUB_WEBDATASETS

    if train_data in HUB_WEBDATASETS:
        return [HUB_WEBDATASETS[train_data][0]]
    if isinstance(train_data, str) and train_data.startswith("hf://datasets/"):
        parts = train_data[len("hf://datasets/"):].split("/")
        return ["/".join(parts[:2])] if len(parts) >= 2 else []
    if isinstance(train_data, str) and is_hub_id(train_data) and not os.path.exists(train_data) \
            and not any(c in train_data for c in "*?[{") and not train_data.endswith((".tar", ".csv", ".tsv", ".jsonl")):
        return [train_data]
    return []


def public_train_data(train_data: str | None) -> str | None:
    """``train_data`` as a public card may show it: a named source, a Hub id or a URL as given; of a
    local path only its last component (the folder layout of the training machine stays out)."""
    if not train_data or train_data in NAMED_SOURCES or "://" in train_data or hub_datasets(train_data):
        return train_data
    return os.path.basename(os.path.normpath(train_data)) or train_data


def run_settings(accelerator, args) -> dict[str, Any]:
    """What the run actually was, from accelerate's state rather than the arguments (an accelerate
    config or ``--mixed_precision`` can turn on bf16 while the arguments say ``bf16: false``).

    ``precision``: ``bf16`` / ``fp16`` mixed precision, or ``float32`` (also for fp16 asked on a CPU,
    where accelerate runs without autocast); ``processes``; ``global_batch_size`` (per device x processes x
    accumulation); ``distributed``: the engine (``multi_cpu`` / ``multi_gpu`` for DDP, ``fsdp`` with ``fsdp_version``,
    ``deepspeed`` with ``zero_stage``, ``no``); ``gather``: how the contrastive term gathers the other processes'
    embeddings (with or without their gradient); on a CPU, ``cpu_kernels``: the kernels that ran
    (``fsc_clip_hf.cpu_kernels.in_use``).
    """
    from accelerate.utils import DistributedType

    mixed = str(accelerator.mixed_precision)
    engine_handles_it = accelerator.distributed_type in (DistributedType.DEEPSPEED, DistributedType.MEGATRON_LM)
    precision = mixed if mixed != "no" and (accelerator.native_amp or engine_handles_it) else "float32"
    processes = accelerator.num_processes
    settings = {
        "precision": precision,
        "processes": processes,
        "global_batch_size": args.per_device_train_batch_size * processes * args.gradient_accumulation_steps,
        "distributed": str(accelerator.distributed_type.value).lower() if processes > 1 else "no",
    }
    # The sharding engines, also in one process, with their version (DeepSpeed's ZeRO stage, FSDP's version).
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        settings.update(distributed="deepspeed", zero_stage=int(accelerator.state.deepspeed_plugin.zero_stage))
    elif accelerator.distributed_type == DistributedType.FSDP:
        settings.update(distributed="fsdp", fsdp_version=int(accelerator.state.fsdp_plugin.fsdp_version))
    if processes > 1:
        settings["gather"] = "with gradient" if args.gather_with_grad else "without gradient"
    if accelerator.device.type == "cpu":  # which CPU kernels ran: what the digits of a CPU run depend on
        settings["cpu_kernels"] = cpu_kernels.in_use()
    return settings


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
    from ..evaluation.adapters.zeroshot import TASK_BY_NAME
    from ..evaluation.metrics.zeroshot import METRICS

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
    base_model: str | None,
    datasets: Sequence[str],
    lora: bool,
    *,
    model_name: str | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
    tags: Sequence[str] = (),
) -> ModelCard:
    """Render the model card of a checkpoint trained by fsc-clip-hf.

    Args:
        recipe: the training recipe (hyperparameters; ``train_data`` as given, ``run``: the effective
            settings of :func:`run_settings`); secret-looking keys are left out of the card.
        results: evaluation results in the layout of the module docstring, or None when not evaluated.
        base_model: Hub id of the pretrained CLIP that was fine-tuned (e.g. ``openai/clip-vit-base-patch32``),
            or None when it is not a Hub model (see :func:`hub_base_model`): the card then names none.
        datasets: Hub ids of the training data sets; default: those ``recipe["train_data"]`` names.
        lora: whether the run used LoRA (the card then mentions the merged weights and the ``adapter/`` folder).
        model_name: the name in the title and the model-index; defaults to the repository name.
        repo_id: the Hub repository, used in the usage snippet.
        license: an SPDX-style Hub license id.
        tags: extra Hub tags, added to ``DEFAULT_TAGS``.
    """
    if base_model is not None and not is_hub_id(base_model):
        raise ValueError(f"base_model {base_model!r} is not a Hub id (org/name); pass None to leave it out of the card")
    recipe = public_recipe(recipe)
    run = recipe.pop("run", None) or {}
    train_data = recipe.get("train_data")
    datasets = list(datasets) or hub_datasets(train_data)
    trained_with = objective(recipe)
    default_name = f"{trained_with}-{base_model.split('/')[-1] if base_model else 'model'}"
    model_name = model_name or (repo_id.split("/")[-1] if repo_id else default_name)
    eval_results = build_eval_results(results)
    card_data = ModelCardData(
        base_model=base_model,
        datasets=datasets or None,
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
        datasets=datasets,
        train_data=train_data,
        train_data_source=NAMED_SOURCES.get(train_data),
        lora=lora,
        arch=recipe.get("arch"),
        objective=trained_with,
        objective_text=OBJECTIVES[trained_with],
        paper_url=PAPER_URL,
        loss_name=recipe.get("loss_name", "fsc-clip"),
        negatives=recipe.get("add_random_text_hard_negatives"),
        dataset_negatives=bool(recipe.get("use_dataset_negatives")),
        run=run,
        hyperparameters=_flatten(recipe),
        **_result_tables(results or {}),
    )
    # Parsing the rendered text back checks the YAML block and the model-index with the Hub's own classes.
    card = ModelCard(content)
    if len(card.data.eval_results or []) != len(eval_results):
        raise ValueError("the model-index of the rendered card does not round-trip")
    return card


def _template() -> jinja2.Template:
    source = resources.files("fsc_clip_hf.release").joinpath("model_card_template.md").read_text(encoding="utf-8")
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
        "synthetic": {SYNTHETIC_COLUMNS.get(key, label): _cell(value) for key, label in SUMMARY_COLUMNS.items()
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
            value = _plain(value)
            shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            rows.append((name, shown.replace("|", "\\|")))
    return rows


def _cell(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
