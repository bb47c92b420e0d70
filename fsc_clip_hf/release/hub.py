"""Hub release of a trained FSC-CLIP model: the folder that is published, and its upload.

A release folder holds exactly what goes to the Hub and nothing else (no optimizer states, logs, or the
pickled training arguments, which can carry a token):

    config.json, model.safetensors      the weights as a plain ``CLIPModel`` (LoRA merged in)
    processor files                     tokenizer + image processor, as ``CLIPProcessor.save_pretrained`` writes them
    open_clip_config.json,              the same model for open_clip: ``local-dir:<folder>`` / ``hf-hub:<repo>``
    open_clip_model.safetensors         (``fsc_clip_hf.release.convert_open_clip``)
    README.md                           the model card (``fsc_clip_hf.release.model_card``)
    results.json                        evaluation results (layout in ``fsc_clip_hf.release.model_card``), when given
    recipe.yaml                         the training recipe, secrets removed
    eval/                               extra result files (full JSON, tables, plots), when given
    adapter/                            LoRA runs only: the PEFT adapter alone

The Hub token is never passed around by this module except to ``HfApi``: with ``token=None`` the
``huggingface_hub`` client reads ``HF_TOKEN`` (or the cached login) itself, and nothing here logs it.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml
from huggingface_hub import CommitInfo, HfApi, ModelCard, get_token
from peft import PeftModel
from transformers import CLIPModel, CLIPProcessor

from ..paths import apply_umask
from .convert_open_clip import OPEN_CLIP_CONFIG, OPEN_CLIP_WEIGHTS, OpenClipIncompatible, write_open_clip_files
from .model_card import build_model_card, recorded_recipe

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
RECIPE_FILE = "recipe.yaml"
ADAPTER_DIR = "adapter"
EVAL_DIR = "eval"
CARD_FILE = "README.md"


def prepare_release(
    output_dir: str | Path,
    model: CLIPModel | PeftModel,
    processor: CLIPProcessor,
    *,
    base_model: str | None,
    datasets: Sequence[str] = (),
    recipe: Mapping[str, Any] | None = None,
    results: Mapping[str, Any] | None = None,
    result_files: Sequence[str | Path] = (),
    repo_id: str | None = None,
    license: str = "apache-2.0",
) -> Path:
    """Write into ``output_dir`` everything that goes to the Hub (see the module docstring).

    Args:
        output_dir: the release folder; created if missing, files of a previous release are overwritten.
        model: the trained model: a ``CLIPModel`` (or subclass, e.g. ``FSCCLIPModel``) or a PEFT LoRA
            model around one. LoRA weights are merged into a copy; the model passed in is left untouched.
        processor: the ``CLIPProcessor`` (tokenizer + image processor) used in training.
        base_model: Hub id of the pretrained CLIP that was fine-tuned; None when it is not a Hub model
            (the card then names none rather than a local path).
        datasets: Hub ids of the training data.
        recipe: training hyperparameters for the card and ``recipe.yaml`` (secret-looking keys dropped).
        results: evaluation results for the card and ``results.json``.
        result_files: extra files copied into ``eval/`` (e.g. the evaluation report's JSON, table, plot).
        repo_id: the target Hub repository, shown in the card's usage snippet.
        license: Hub license id for the card.

    Returns:
        The release folder.
    """
    if not hasattr(processor, "image_processor") or not hasattr(processor, "tokenizer"):
        # A tokenizer alone would give a release that the zero-shot pipeline cannot load.
        raise TypeError(f"prepare_release needs the CLIPProcessor (tokenizer + image processor), got {type(processor)}")
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lora = isinstance(model, PeftModel)

    adapter_dir = folder / ADAPTER_DIR
    if adapter_dir.exists():
        # A stale adapter from an earlier run would contradict the merged weights next to it.
        shutil.rmtree(adapter_dir)
    if lora:
        model.save_pretrained(adapter_dir)
        # PEFT writes its own generic card there; the release card at the root documents the adapter.
        (adapter_dir / CARD_FILE).unlink(missing_ok=True)
        model = copy.deepcopy(model).merge_and_unload()
    plain = as_plain_clip(model)
    plain.save_pretrained(folder)
    processor.save_pretrained(folder)
    _write_open_clip_files(folder, plain, processor, repo_id)

    if results is not None:
        (folder / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if recipe is not None:
        # default=str turns paths/enums into text so the YAML stays plain data.
        plain = json.loads(json.dumps(recorded_recipe(recipe), default=str))
        (folder / RECIPE_FILE).write_text(yaml.safe_dump(plain, sort_keys=False), encoding="utf-8")
    for path in map(Path, result_files):
        (folder / EVAL_DIR).mkdir(exist_ok=True)
        shutil.copy2(path, folder / EVAL_DIR / path.name)

    card = build_model_card(recipe, results, base_model, datasets, lora, repo_id=repo_id, license=license)
    card.save(folder / CARD_FILE)
    apply_umask(folder)
    logger.info("Release written to %s (%s)", folder, "LoRA merged, adapter in adapter/" if lora else "full")
    return folder


def record_results(folder: str | Path, results: Mapping[str, Any], result_files: Sequence[str | Path] = ()) -> Path:
    """Add evaluation results to a release folder written without them: ``results.json``, ``eval/`` and
    the card rebuilt from what the folder holds (its recipe, its card's base model and datasets), so the
    card shows what was computed. (The demo evaluates its models after training them.)"""
    folder = Path(folder)
    recipe = yaml.safe_load((folder / RECIPE_FILE).read_text(encoding="utf-8")) if (folder / RECIPE_FILE).is_file() \
        else None
    data = ModelCard.load(folder / CARD_FILE).data
    (folder / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for path in map(Path, result_files):
        (folder / EVAL_DIR).mkdir(exist_ok=True)
        shutil.copy2(path, folder / EVAL_DIR / path.name)
    card = build_model_card(recipe, results, data.base_model, data.datasets or (), (folder / ADAPTER_DIR).is_dir(),
                            license=data.license or "apache-2.0")
    card.save(folder / CARD_FILE)
    apply_umask(folder)
    return folder


class PushFailed(RuntimeError):
    """A Hub upload that could not be done; the message says why and, for a written release, where it is
    and the command that pushes it later."""


LOG_IN = "hf auth login, or export HF_TOKEN=<a write token>"  # how a machine without a token gets one


def push_command(folder: str | Path, repo_id: str) -> str:
    """The one command that uploads a release folder."""
    return f"python -m fsc_clip_hf.release push {folder} --repo_id {repo_id}"


def push_release(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload FSC-CLIP model",
    revision: str | None = None,
) -> CommitInfo:
    """Create the Hub repository if needed and upload a release folder as one commit.

    Args:
        folder: a folder written by ``prepare_release``; all of it is uploaded.
        repo_id: ``name`` or ``namespace/name``; a bare name goes to the token owner's namespace.
        private: visibility of a new repository (None: the Hub's default); an existing one is left as is.
        token: a Hub token; None: ``HF_TOKEN`` or the cached login (``hf auth login``).
        commit_message: the commit's title.
        revision: the branch to commit to (default: the main branch).

    Raises:
        PushFailed: no token (before any request), or the Hub refused or could not be reached.
    """
    if not (Path(folder) / "config.json").is_file():
        raise PushFailed(f"{folder} is not a release folder (no config.json): nothing was uploaded")
    if token is None and get_token() is None:
        raise PushFailed(f"no Hub token, so {folder} was not uploaded: {LOG_IN}")
    api = HfApi(token=token)
    try:
        repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        logger.info("Uploading %s to %s", folder, repo.repo_id)
        commit = api.upload_folder(repo_id=repo.repo_id, folder_path=str(folder), commit_message=commit_message,
                                   revision=revision)
    except Exception as error:  # the client's HTTP, network and Hub errors alike: one message, the cause named
        raise PushFailed(f"the upload of {folder} to {repo_id} failed ({error_cause(error)})") from error
    logger.info("Pushed: %s", commit.commit_url)
    return commit


def error_cause(error: BaseException) -> str:
    """The first line of the deepest cause: what went wrong, without the client's wrapping."""
    while error.__cause__ is not None:
        error = error.__cause__
    first = str(error).strip().splitlines()
    return f"{type(error).__name__}: {first[0]}" if first else type(error).__name__


def release_from_trainer(
    trainer: Any,
    *,
    base_model: str | None,
    datasets: Sequence[str] = (),
    recipe: Mapping[str, Any] | None = None,
    results: Mapping[str, Any] | None = None,
    result_files: Sequence[str | Path] = (),
    release_dir: str | Path | None = None,
    commit_message: str = "End of training",
    model: Any | None = None,
) -> Path | None:
    """End-of-training release, driven by the Trainer's own hub options.

    Writes the release folder (default ``<output_dir>/release``) on the main process and, when
    ``trainer.args.push_to_hub`` is set, uploads it to ``hub_model_id`` (default: the output folder's
    name, as the Trainer does) with ``hub_private_repo`` and ``hub_token`` (None: ``HF_TOKEN``).
    ``model``: what to release, when the trainer's own model is sharded (default: the trainer's, unwrapped).
    Returns the release folder on the main process and None on the others.
    """
    if not trainer.is_world_process_zero():
        return None
    args = trainer.args
    # trainer.hub_model_id is the namespaced id the Trainer resolved when it created the repository.
    repo_id = getattr(trainer, "hub_model_id", None) or args.hub_model_id or Path(args.output_dir).name
    folder = prepare_release(
        release_dir or Path(args.output_dir) / "release",
        model if model is not None else trainer.accelerator.unwrap_model(trainer.model),
        trainer.processing_class,
        base_model=base_model,
        datasets=datasets,
        recipe=recipe,
        results=results,
        result_files=result_files,
        repo_id=repo_id if args.push_to_hub else None,
    )
    if args.push_to_hub:
        try:
            push_release(folder, repo_id, private=args.hub_private_repo, token=args.hub_token,
                         commit_message=commit_message)
        except PushFailed as error:
            raise PushFailed(f"{error}. The release folder {folder} is complete; push it later with: "
                             f"{push_command(folder, repo_id)}") from error
    return folder


def _write_open_clip_files(folder: Path, model: CLIPModel, processor: CLIPProcessor, repo_id: str | None) -> None:
    """open_clip's files beside the Hugging Face ones; a model open_clip cannot express gets none (and a
    warning), not a failed release at the end of a training run."""
    for name in (OPEN_CLIP_CONFIG, OPEN_CLIP_WEIGHTS):
        (folder / name).unlink(missing_ok=True)  # never leave files of an earlier model
    try:
        write_open_clip_files(folder, model, processor, repo_id=repo_id)
    except OpenClipIncompatible as reason:
        logger.warning("No open_clip files in the release: %s", reason)


def as_plain_clip(model: CLIPModel) -> CLIPModel:
    """The same weights as a ``transformers.CLIPModel``, so the saved config names ``CLIPModel``.

    Subclasses such as ``FSCCLIPModel`` add behaviour, not tensors; strict loading turns any extra or
    missing tensor into an error instead of a checkpoint that silently differs from the trained model.
    """
    if type(model) is CLIPModel:
        return model
    plain = CLIPModel(copy.deepcopy(model.config))
    plain.load_state_dict(model.state_dict())
    return plain.to(model.dtype)
