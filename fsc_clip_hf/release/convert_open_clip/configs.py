"""Model configurations both ways: a ``CLIPConfig`` from open_clip weights (or ``open_clip_config.json``),
and the ``open_clip_config.json`` of a ``CLIPModel`` and its processor.

What open_clip weights cannot show is fixed by open_clip's conventions: 64-wide attention heads, LayerNorm
eps 1e-5, pooling at the highest token id (end-of-text). The MLP activation cannot be seen in the weights
either: openai-initialised models use QuickGELU, models trained from scratch in open_clip (DataComp-XL)
GELU. ``open_clip_config.json``, where there is one, says all of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from transformers import CLIPConfig

from .weights import count_layers

HEAD_WIDTH = 64  # open_clip's ViT configs use heads = width / 64 in both towers
HIDDEN_ACTS = ("quick_gelu", "gelu")
LAYER_NORM_EPS = 1e-5  # torch's LayerNorm default, which open_clip's configs keep
INTERPOLATIONS = {3: "bicubic", 2: "bilinear"}  # PIL resample codes open_clip has names for
LEGACY_EOS_TOKEN_ID = 2  # HF CLIP configs with eos_token_id 2 pool at argmax(input_ids), as open_clip does


class OpenClipIncompatible(ValueError):
    """The model (or its processor) has a feature that an open_clip ``CLIP`` cannot express."""


@dataclass(frozen=True)
class OpenClipArch:
    """The geometry of an open_clip architecture, used to check a checkpoint against ``--arch``."""

    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    text_width: int
    text_layers: int
    embed_dim: int


ARCHITECTURES = {
    "ViT-B-32": OpenClipArch(224, 32, 768, 12, 512, 12, 512),
    "ViT-B-16": OpenClipArch(224, 16, 768, 12, 512, 12, 512),
    "ViT-L-14": OpenClipArch(224, 14, 1024, 24, 768, 12, 768),
}


def open_clip_geometry(state_dict: Mapping[str, torch.Tensor]) -> OpenClipArch:
    """Read an open_clip CLIP's geometry off its tensor shapes."""
    try:
        width, _, patch, _ = state_dict["visual.conv1.weight"].shape
        grid = math.isqrt(state_dict["visual.positional_embedding"].shape[0] - 1)
        return OpenClipArch(
            image_size=grid * patch,
            patch_size=patch,
            vision_width=width,
            vision_layers=count_layers(state_dict, "visual.transformer.resblocks."),
            text_width=state_dict["token_embedding.weight"].shape[1],
            text_layers=count_layers(state_dict, "transformer.resblocks."),
            embed_dim=state_dict["visual.proj"].shape[1],
        )
    except KeyError as missing:
        raise ValueError(f"not an open_clip ViT CLIP state dict: {missing} is missing") from None


def clip_config_from_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    *,
    hidden_act: str = "quick_gelu",
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
    model_cfg: Mapping | None = None,
) -> CLIPConfig:
    """The ``CLIPConfig`` of an open_clip CLIP state dict.

    ``model_cfg`` (the ``model_cfg`` of an ``open_clip_config.json``) supplies what shapes cannot tell:
    the activation, the head widths and the text pooling; without it open_clip's conventions apply.
    ``eos_token_id`` defaults to the highest token id: open_clip pools the text at the argmax of the token
    ids, which its tokenizer reserves for end-of-text, while HF CLIP pools at the first ``eos_token_id``;
    both pick the same position when they agree.
    """
    geometry = open_clip_geometry(state_dict)
    vocab_size, text_width = state_dict["token_embedding.weight"].shape
    text_heads, vision_heads = text_width // HEAD_WIDTH, geometry.vision_width // HEAD_WIDTH
    if model_cfg is not None:
        text_cfg, vision_cfg = model_cfg.get("text_cfg", {}), model_cfg.get("vision_cfg", {})
        hidden_act = "quick_gelu" if model_cfg.get("quick_gelu") else "gelu"
        text_heads = text_cfg.get("heads", 8)
        vision_heads = geometry.vision_width // vision_cfg.get("head_width", HEAD_WIDTH)
        if text_cfg.get("pool_type") == "eos" and eos_token_id is None:
            eos_token_id = text_cfg.get("eos_id", 2)
    if hidden_act not in HIDDEN_ACTS:
        raise ValueError(f"hidden_act must be one of {HIDDEN_ACTS}, got {hidden_act!r}")
    if state_dict["text_projection"].shape[1] != geometry.embed_dim:
        raise ValueError("text and image projections have different widths; HF CLIP needs one projection_dim")
    text_config = dict(
        vocab_size=vocab_size,
        hidden_size=text_width,
        intermediate_size=state_dict["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        num_hidden_layers=geometry.text_layers,
        num_attention_heads=text_heads,
        max_position_embeddings=state_dict["positional_embedding"].shape[0],
        hidden_act=hidden_act,
        bos_token_id=vocab_size - 2 if bos_token_id is None else bos_token_id,
        eos_token_id=vocab_size - 1 if eos_token_id is None else eos_token_id,
        projection_dim=geometry.embed_dim,
    )
    vision_config = dict(
        hidden_size=geometry.vision_width,
        intermediate_size=state_dict["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        num_hidden_layers=geometry.vision_layers,
        num_attention_heads=vision_heads,
        image_size=geometry.image_size,
        patch_size=geometry.patch_size,
        hidden_act=hidden_act,
        projection_dim=geometry.embed_dim,
    )
    return CLIPConfig(
        text_config=text_config,
        vision_config=vision_config,
        projection_dim=geometry.embed_dim,
        logit_scale_init_value=float(state_dict["logit_scale"]),
    )


def open_clip_model_config(config: CLIPConfig) -> dict:
    """open_clip's ``model_cfg`` for a ``CLIPConfig``; ``OpenClipIncompatible`` where it has no equivalent."""
    text, vision = config.text_config, config.vision_config
    if text.hidden_act != vision.hidden_act or text.hidden_act not in HIDDEN_ACTS:
        raise OpenClipIncompatible(f"open_clip takes one activation of {HIDDEN_ACTS} for both towers, got "
                                   f"{text.hidden_act!r} (text) and {vision.hidden_act!r} (vision)")
    for name, tower in (("text", text), ("vision", vision)):
        if not math.isclose(tower.layer_norm_eps, LAYER_NORM_EPS):
            raise OpenClipIncompatible(f"{name} layer_norm_eps {tower.layer_norm_eps}: open_clip's CLIP uses {LAYER_NORM_EPS}")
        if tower.hidden_size % tower.num_attention_heads:
            raise OpenClipIncompatible(f"{name} width {tower.hidden_size} is not a multiple of its heads")
    text_cfg = dict(context_length=text.max_position_embeddings, vocab_size=text.vocab_size, width=text.hidden_size,
                    heads=text.num_attention_heads, layers=text.num_hidden_layers,
                    mlp_ratio=_mlp_ratio(text.intermediate_size, text.hidden_size))
    if text.eos_token_id not in (LEGACY_EOS_TOKEN_ID, text.vocab_size - 1):
        # Not the highest id: open_clip's default argmax pooling would miss it; its "eos" pooling finds it.
        text_cfg.update(pool_type="eos", eos_id=text.eos_token_id)
    vision_cfg = dict(image_size=vision.image_size, layers=vision.num_hidden_layers, width=vision.hidden_size,
                      head_width=vision.hidden_size // vision.num_attention_heads, patch_size=vision.patch_size,
                      mlp_ratio=_mlp_ratio(vision.intermediate_size, vision.hidden_size))
    return dict(embed_dim=config.projection_dim, quick_gelu=text.hidden_act == "quick_gelu",
                vision_cfg=vision_cfg, text_cfg=text_cfg)


def open_clip_preprocess_config(image_processor) -> dict:
    """open_clip's ``preprocess_cfg`` for a CLIP image processor (short-side resize to the crop size)."""
    crop, size = image_processor.crop_size, image_processor.size
    if crop["height"] != crop["width"] or size.get("shortest_edge") != crop["height"]:
        raise OpenClipIncompatible(f"open_clip resizes the short side to the (square) crop size; the processor has "
                                   f"size={dict(size)}, crop_size={dict(crop)}")
    interpolation = INTERPOLATIONS.get(int(image_processor.resample))
    if interpolation is None:
        raise OpenClipIncompatible(f"open_clip has no interpolation for PIL resample {image_processor.resample}")
    return dict(size=crop["height"], mean=list(image_processor.image_mean), std=list(image_processor.image_std),
                interpolation=interpolation, resize_mode="shortest")


def _mlp_ratio(intermediate: int, width: int) -> float:
    ratio = intermediate / width
    if int(width * ratio) != intermediate:  # open_clip builds the MLP with int(width * mlp_ratio)
        raise OpenClipIncompatible(f"MLP width {intermediate} is not int({width} * ratio) for any float ratio")
    return ratio
