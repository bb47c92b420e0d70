"""Convert an open_clip CLIP checkpoint into a Hugging Face CLIP checkpoint.

The FSC-CLIP authors released their models (ViT-B-32, ViT-B-16, ViT-L-14; full and LoRA-merged) as
open_clip state dicts. Converted, they load with ``CLIPModel.from_pretrained`` and can be evaluated and
compared in this project like any other checkpoint::

    python -m fsc_clip_hf.convert_open_clip fsc-clip-b32.pt out/fsc-clip-b32 --arch ViT-B-32 \\
        --processor openai/clip-vit-base-patch32

The source may be ``.pt`` / ``.bin`` (``torch.save``, possibly a training checkpoint with the weights under
``"state_dict"`` and DDP's ``module.`` prefix) or ``.safetensors``. The CLIPConfig is read off the tensor
shapes; what shapes cannot tell is fixed by open_clip's conventions: 64-wide attention heads, pooling at
the highest token id (end-of-text) and LayerNorm eps 1e-5. The MLP activation cannot be seen in the
weights either: openai-initialised models use QuickGELU (the default here), models trained from scratch
in open_clip, such as DataComp-XL, use GELU (``--hidden-act gelu``).

open_clip's BPE tokenizer is openai's; it cannot be generated offline, so the tokenizer is taken from
``--processor`` (a CLIPProcessor/CLIPTokenizer directory or Hub id, e.g. ``openai/clip-vit-base-patch32``).
Without it the weights, config and image processor are written and the command prints how to add one.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer
from transformers.utils.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

logger = logging.getLogger(__name__)

HEAD_WIDTH = 64  # open_clip's ViT configs use heads = width / 64 in both towers
HIDDEN_ACTS = ("quick_gelu", "gelu")
# Entries of some state dicts that are buffers or metadata rather than weights (openai's original
# checkpoints carry the last three as scalar tensors); the HF model rebuilds what it needs.
_NON_WEIGHT_KEYS = {"attn_mask", "input_resolution", "context_length", "vocab_size"}


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


def load_open_clip_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the model weights of an open_clip checkpoint file, unwrapped and without DDP prefixes."""
    path = Path(path)
    if path.suffix == ".safetensors":
        state = load_file(str(path))
    else:
        # weights_only: a checkpoint from the internet must not be able to run code when loaded.
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
            state = state["state_dict"]  # open_clip training checkpoints: {"epoch", "state_dict", "optimizer"...}
    return {key.removeprefix("module."): value for key, value in state.items() if torch.is_tensor(value)}


def open_clip_geometry(state_dict: Mapping[str, torch.Tensor]) -> OpenClipArch:
    """Read an open_clip CLIP's geometry off its tensor shapes."""
    width, _, patch, _ = state_dict["visual.conv1.weight"].shape
    grid = math.isqrt(state_dict["visual.positional_embedding"].shape[0] - 1)
    return OpenClipArch(
        image_size=grid * patch,
        patch_size=patch,
        vision_width=width,
        vision_layers=_count_layers(state_dict, "visual.transformer.resblocks."),
        text_width=state_dict["token_embedding.weight"].shape[1],
        text_layers=_count_layers(state_dict, "transformer.resblocks."),
        embed_dim=state_dict["visual.proj"].shape[1],
    )


def clip_config_from_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    *,
    hidden_act: str = "quick_gelu",
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
) -> CLIPConfig:
    """The ``CLIPConfig`` of an open_clip CLIP state dict.

    ``eos_token_id`` defaults to the highest token id: open_clip pools the text at the argmax of the
    token ids, which its tokenizer reserves for end-of-text, while HF CLIP pools at the first
    ``eos_token_id``; both pick the same position when they agree.
    """
    if hidden_act not in HIDDEN_ACTS:
        raise ValueError(f"hidden_act must be one of {HIDDEN_ACTS}, got {hidden_act!r}")
    geometry = open_clip_geometry(state_dict)
    vocab_size, text_width = state_dict["token_embedding.weight"].shape
    if state_dict["text_projection"].shape[1] != geometry.embed_dim:
        raise ValueError("text and image projections have different widths; HF CLIP needs one projection_dim")
    text_config = dict(
        vocab_size=vocab_size,
        hidden_size=text_width,
        intermediate_size=state_dict["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        num_hidden_layers=geometry.text_layers,
        num_attention_heads=text_width // HEAD_WIDTH,
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
        num_attention_heads=geometry.vision_width // HEAD_WIDTH,
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


def convert_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and reshape) open_clip CLIP weights into ``transformers.CLIPModel`` weights.

    Raises ``ValueError`` on weights that have no place in a CLIPModel (e.g. unmerged LoRA factors).
    """
    remaining = {key: value for key, value in state_dict.items() if key not in _NON_WEIGHT_KEYS}

    def take(key: str) -> torch.Tensor:
        return remaining.pop(key)

    converted = {
        "logit_scale": take("logit_scale"),
        "text_model.embeddings.token_embedding.weight": take("token_embedding.weight"),
        "text_model.embeddings.position_embedding.weight": take("positional_embedding"),
        # open_clip multiplies x @ proj with proj of shape (width, embed); nn.Linear stores (embed, width).
        "text_projection.weight": take("text_projection").t(),
        "vision_model.embeddings.patch_embedding.weight": take("visual.conv1.weight"),
        "vision_model.embeddings.class_embedding": take("visual.class_embedding"),
        "vision_model.embeddings.position_embedding.weight": take("visual.positional_embedding"),
        "visual_projection.weight": take("visual.proj").t(),
    }
    norms = {
        "text_model.final_layer_norm": "ln_final",
        "vision_model.pre_layrnorm": "visual.ln_pre",  # sic: the attribute name in transformers
        "vision_model.post_layernorm": "visual.ln_post",
    }
    for hf_name, oc_name in norms.items():
        for param in ("weight", "bias"):
            converted[f"{hf_name}.{param}"] = take(f"{oc_name}.{param}")

    for oc_tower, hf_tower in (("", "text_model"), ("visual.", "vision_model")):
        for layer in range(_count_layers(state_dict, f"{oc_tower}transformer.resblocks.")):
            src = f"{oc_tower}transformer.resblocks.{layer}."
            dst = f"{hf_tower}.encoder.layers.{layer}."
            # nn.MultiheadAttention packs q, k and v into one projection, in that order.
            for param in ("weight", "bias"):
                for name, chunk in zip(("q_proj", "k_proj", "v_proj"), take(f"{src}attn.in_proj_{param}").chunk(3)):
                    converted[f"{dst}self_attn.{name}.{param}"] = chunk
            renames = {"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
                       "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
            for oc_name, hf_name in renames.items():
                for param in ("weight", "bias"):
                    converted[f"{dst}{hf_name}.{param}"] = take(f"{src}{oc_name}.{param}")

    if remaining:
        raise ValueError(
            "weights with no CLIPModel counterpart (merge LoRA adapters into the weights before converting): "
            + ", ".join(sorted(remaining)[:10])
        )
    # float32 whatever the source precision (openai's originals are fp16): a predictable checkpoint.
    return {key: value.float().contiguous() for key, value in converted.items()}


def convert_checkpoint(
    src: str | Path,
    dst: str | Path,
    *,
    arch: str | None = None,
    hidden_act: str = "quick_gelu",
    processor: str | None = None,
) -> Path:
    """Convert the open_clip checkpoint ``src`` into a Hugging Face CLIP checkpoint directory ``dst``.

    Args:
        src: ``.pt``/``.bin``/``.safetensors`` open_clip checkpoint.
        dst: output directory (config, ``model.safetensors``, image processor, and tokenizer if given).
        arch: ``ViT-B-32`` / ``ViT-B-16`` / ``ViT-L-14``: check the checkpoint's geometry against it.
        hidden_act: ``quick_gelu`` (openai-initialised models) or ``gelu`` (e.g. DataComp-XL).
        processor: CLIPProcessor or CLIPTokenizer directory or Hub id whose tokenizer is saved alongside.

    Returns:
        ``dst`` as a Path.
    """
    state_dict = load_open_clip_state_dict(src)
    geometry = open_clip_geometry(state_dict)
    if arch is not None and ARCHITECTURES[arch] != geometry:
        raise ValueError(f"{src} does not hold a {arch}: expected {ARCHITECTURES[arch]}, found {geometry}")
    logger.info("Read %s: %s, hidden_act=%s", src, geometry, hidden_act)

    tokenizer = None
    if processor is not None:
        tokenizer = CLIPTokenizer.from_pretrained(processor)
        if len(tokenizer) > state_dict["token_embedding.weight"].shape[0]:
            raise ValueError(f"the tokenizer of {processor} has more tokens than the checkpoint's embedding")
        tokenizer.model_max_length = state_dict["positional_embedding"].shape[0]
    config = clip_config_from_state_dict(
        state_dict,
        hidden_act=hidden_act,
        bos_token_id=tokenizer.bos_token_id if tokenizer is not None else None,
        eos_token_id=tokenizer.eos_token_id if tokenizer is not None else None,
    )
    model = CLIPModel(config)
    model.load_state_dict(convert_state_dict(state_dict))  # strict: every HF weight must come from src
    dst = Path(dst)
    model.save_pretrained(dst)

    # open_clip's eval transform: bicubic resize of the short side, centre crop, openai mean/std.
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": geometry.image_size},
        crop_size={"height": geometry.image_size, "width": geometry.image_size},
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
    )
    if tokenizer is not None:
        CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(dst)
    else:
        image_processor.save_pretrained(dst)
    return dst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fsc_clip_hf.convert_open_clip",
        description="Convert an open_clip CLIP checkpoint (e.g. the FSC-CLIP authors' releases) to Hugging Face CLIP.",
    )
    parser.add_argument("src", help="open_clip checkpoint: .pt, .bin or .safetensors")
    parser.add_argument("dst", help="output directory for the Hugging Face checkpoint")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), help="check the checkpoint against this architecture")
    parser.add_argument("--hidden-act", choices=HIDDEN_ACTS, default="quick_gelu",
                        help="MLP activation: quick_gelu for openai-initialised models (default), gelu for DataComp")
    parser.add_argument("--processor", "--tokenizer", dest="processor",
                        help="CLIPProcessor/CLIPTokenizer directory or Hub id to take the tokenizer from "
                             "(e.g. openai/clip-vit-base-patch32)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    dst = convert_checkpoint(args.src, args.dst, arch=args.arch, hidden_act=args.hidden_act, processor=args.processor)
    print(f"Wrote the Hugging Face CLIP checkpoint to {dst}")
    if args.processor is None:
        print(
            "No tokenizer was written (open_clip uses openai's CLIP BPE). Add one before using the checkpoint:\n"
            f"  python -c \"from transformers import CLIPTokenizer; "
            f"CLIPTokenizer.from_pretrained('openai/clip-vit-base-patch32').save_pretrained('{dst}')\"\n"
            "or run the conversion again with --processor openai/clip-vit-base-patch32."
        )


def _count_layers(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    indices = {int(match.group(1)) for key in state_dict if (match := pattern.match(key))}
    return max(indices) + 1 if indices else 0


if __name__ == "__main__":
    main()
