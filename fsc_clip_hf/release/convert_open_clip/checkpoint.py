"""Whole checkpoints both ways: an open_clip checkpoint to a complete Hugging Face folder, and the
open_clip files (``open_clip_config.json`` + ``open_clip_model.safetensors``) of a ``CLIPModel``."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from safetensors.torch import save_file
from transformers import CLIPModel, CLIPProcessor, CLIPTokenizer

from ...image_processing import open_clip_image_processor
from ...lora.authors_merge import DEFAULT_ALPHA, merge_authors_lora
from ...paths import apply_umask
from ...processor import check_processor, load_processor
from ...tokenizer import clip_tokenizer, is_clip_vocabulary
from .configs import (
    ARCHITECTURES,
    clip_config_from_state_dict,
    open_clip_geometry,
    open_clip_model_config,
    open_clip_preprocess_config,
)
from .weights import hf_to_open_clip, load_open_clip_state_dict, open_clip_to_hf

logger = logging.getLogger(__name__)

OPEN_CLIP_CONFIG = "open_clip_config.json"
OPEN_CLIP_WEIGHTS = "open_clip_model.safetensors"
# Weight files of an open_clip folder, in open_clip's own order of preference.
OPEN_CLIP_WEIGHT_FILES = (OPEN_CLIP_WEIGHTS, "open_clip_pytorch_model.safetensors", "open_clip_pytorch_model.bin",
                          "open_clip_pytorch_model.pth")


def read_open_clip(src: str | Path) -> tuple[dict, dict | None, dict]:
    """``(state_dict, model_cfg or None, preprocess_cfg)`` of a checkpoint file or an open_clip folder
    (``open_clip_config.json`` beside the weights, as open_clip's ``local-dir:`` and Hub models have)."""
    src = Path(src)
    if not src.is_dir():
        return load_open_clip_state_dict(src), None, {}
    config_path = src / OPEN_CLIP_CONFIG
    if not config_path.is_file():
        raise FileNotFoundError(f"{src} is a folder without {OPEN_CLIP_CONFIG}: pass the checkpoint file instead")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    weights = next((src / name for name in OPEN_CLIP_WEIGHT_FILES if (src / name).is_file()), None)
    if weights is None or "model_cfg" not in config:
        raise FileNotFoundError(f"{src} needs 'model_cfg' in {OPEN_CLIP_CONFIG} and one of {OPEN_CLIP_WEIGHT_FILES}")
    return load_open_clip_state_dict(weights), config["model_cfg"], config.get("preprocess_cfg", {})


def convert_checkpoint(
    src: str | Path,
    dst: str | Path,
    *,
    arch: str | None = None,
    hidden_act: str = "quick_gelu",
    processor: str | None = None,
    lora_alpha: float = DEFAULT_ALPHA,
    overwrite: bool = False,
) -> Path:
    """Convert the open_clip checkpoint ``src`` into a complete Hugging Face CLIP folder ``dst``.

    Args:
        src, arch, hidden_act, processor, lora_alpha: as :func:`hf_clip_from_open_clip`.
        dst: the output folder: config, ``model.safetensors`` and the processor, written all or nothing.
        overwrite: replace a non-empty ``dst``.

    Returns:
        ``dst`` as a Path.
    """
    model, clip_processor = hf_clip_from_open_clip(src, arch=arch, hidden_act=hidden_act, processor=processor,
                                                   lora_alpha=lora_alpha)

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        clip_processor.save_pretrained(folder)

    return write_folder(dst, write, overwrite=overwrite)


def hf_clip_from_open_clip(
    src: str | Path,
    *,
    arch: str | None = None,
    hidden_act: str = "quick_gelu",
    processor: str | None = None,
    lora_alpha: float = DEFAULT_ALPHA,
    preprocess: Mapping | None = None,
) -> tuple[CLIPModel, CLIPProcessor]:
    """The Hugging Face CLIP and processor of the open_clip checkpoint ``src``, in memory.

    Args:
        src: ``.pt``/``.bin``/``.safetensors`` open_clip checkpoint (the authors' LoRA checkpoints too:
            their factors are merged), or an open_clip folder with ``open_clip_config.json``.
        arch: ``ViT-B-32`` / ``ViT-B-16`` / ``ViT-L-14``: check the checkpoint's geometry against it.
        hidden_act: ``quick_gelu`` (openai-initialised models) or ``gelu`` (e.g. DataComp-XL); an
            ``open_clip_config.json`` decides instead.
        processor: a CLIPProcessor or CLIPTokenizer folder or Hub id to take the tokenizer from; default:
            openai's CLIP tokenizer, which open_clip's CLIPs use (:func:`fsc_clip_hf.tokenizer.clip_tokenizer`).
        lora_alpha: ``alpha`` of the authors' LoRA layers (scaling ``alpha / r``), when the checkpoint has any.
        preprocess: open_clip's ``mean`` and ``std`` for a checkpoint without ``open_clip_config.json`` (a
            pretrained tag's configuration); default openai's.
    """
    state_dict, model_cfg, preprocess_cfg = read_open_clip(src)
    preprocess_cfg = preprocess_cfg or dict(preprocess or {})
    state_dict = merge_authors_lora(state_dict, lora_alpha)
    geometry = open_clip_geometry(state_dict)
    if arch is not None and ARCHITECTURES[arch] != geometry:
        raise ValueError(f"{src} does not hold a {arch}: expected {ARCHITECTURES[arch]}, found {geometry}")
    context_length = state_dict["positional_embedding"].shape[0]
    tokenizer = CLIPTokenizer.from_pretrained(processor) if processor else clip_tokenizer()
    tokenizer.model_max_length = context_length
    config = clip_config_from_state_dict(state_dict, hidden_act=hidden_act, bos_token_id=tokenizer.bos_token_id,
                                         eos_token_id=tokenizer.eos_token_id, model_cfg=model_cfg)
    check_processor(tokenizer, config.text_config, source=processor or "openai's CLIP vocabulary", option="--processor")
    logger.info("Read %s: %s, hidden_act=%s, tokenizer from %s", src, geometry, config.text_config.hidden_act,
                processor or "openai's CLIP vocabulary (shipped)")

    model = CLIPModel(config)
    model.load_state_dict(open_clip_to_hf(state_dict))  # strict: every HF weight must come from src
    image_processor = open_clip_image_processor(geometry.image_size, preprocess_cfg.get("mean"), preprocess_cfg.get("std"))
    return model, CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def write_open_clip_files(folder: str | Path, model: CLIPModel, processor, *, repo_id: str | None = None) -> list[Path]:
    """Write ``open_clip_config.json`` and ``open_clip_model.safetensors`` of ``model`` into ``folder``.

    open_clip then loads the folder with ``create_model_and_transforms("local-dir:<folder>")`` (or
    ``hf-hub:<repo_id>`` once pushed). With openai's CLIP vocabulary open_clip uses its own tokenizer (the
    same ids); any other tokenizer must be in the folder too, and open_clip reads it from there
    (``hf_tokenizer_name``: ``repo_id``, which is also where it looks on the Hub).

    Raises:
        OpenClipIncompatible: for a model or processor feature open_clip cannot express.
    """
    folder = Path(folder)
    model_cfg = open_clip_model_config(model.config)
    if not is_clip_vocabulary(processor.tokenizer):
        model_cfg["text_cfg"]["hf_tokenizer_name"] = repo_id or "."
    config = {"model_cfg": model_cfg, "preprocess_cfg": open_clip_preprocess_config(processor.image_processor)}
    text, vision = model.config.text_config, model.config.vision_config
    weights = hf_to_open_clip(model.state_dict(), text.num_hidden_layers, vision.num_hidden_layers)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({key: value.detach().cpu().contiguous() for key, value in weights.items()}, folder / OPEN_CLIP_WEIGHTS,
              metadata={"format": "pt"})
    (folder / OPEN_CLIP_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    apply_umask(folder / OPEN_CLIP_WEIGHTS)
    return [folder / OPEN_CLIP_CONFIG, folder / OPEN_CLIP_WEIGHTS]


def convert_to_open_clip(src: str | Path, dst: str | Path | None = None, *, repo_id: str | None = None) -> Path:
    """Write the open_clip files of the Hugging Face CLIP folder ``src`` into ``dst`` (default: ``src``).

    A tokenizer other than openai's CLIP vocabulary is saved into ``dst`` too, where open_clip reads it.
    """
    src = Path(src)
    dst = src if dst is None else Path(dst)
    model = CLIPModel.from_pretrained(src)
    processor = load_processor(str(src), model.config.text_config, option=f"save it into {src}")
    write_open_clip_files(dst, model, processor, repo_id=repo_id)
    if dst.resolve() != src.resolve() and not is_clip_vocabulary(processor.tokenizer):
        processor.tokenizer.save_pretrained(dst)
    logger.info("Wrote %s and %s for %s into %s", OPEN_CLIP_CONFIG, OPEN_CLIP_WEIGHTS, src, dst)
    return dst


def write_folder(dst: str | Path, write: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Run ``write(folder)`` on a fresh folder beside ``dst``, then put it in place: all or nothing."""
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())) and not overwrite:
        raise FileExistsError(f"{dst} exists and is not empty: choose another folder or pass --overwrite")
    dst.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".partial", dir=dst.parent))
    try:
        write(staging)
        apply_umask(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if dst.exists():
        shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
    staging.rename(dst)
    return dst
