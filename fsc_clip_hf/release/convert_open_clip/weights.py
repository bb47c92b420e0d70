"""open_clip ViT CLIP weights ↔ ``transformers.CLIPModel`` weights: one name table, used both ways.

Reading a checkpoint file is here too: ``.pt`` / ``.bin`` (``torch.save``, possibly an open_clip training
checkpoint with the weights under ``"state_dict"`` and DDP's ``module.`` prefix) or ``.safetensors``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file

# Entries of some state dicts that are buffers or metadata rather than weights (openai's original
# checkpoints carry the last three as scalar tensors); each side rebuilds what it needs.
NON_WEIGHT_KEYS = {"attn_mask", "input_resolution", "context_length", "vocab_size"}
TOWERS = (("", "text_model"), ("visual.", "vision_model"))  # (open_clip prefix, HF prefix)
_QKV = ("q_proj", "k_proj", "v_proj")  # nn.MultiheadAttention packs them in this order


def load_open_clip_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The model weights of an open_clip checkpoint file, unwrapped and without DDP prefixes."""
    path = Path(path)
    if path.suffix == ".safetensors":
        state = load_file(str(path))
    else:
        # weights_only: a checkpoint from the internet must not be able to run code when loaded.
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
            state = state["state_dict"]  # open_clip training checkpoints: {"epoch", "state_dict", "optimizer", ...}
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict")
    return {key.removeprefix("module."): value for key, value in state.items() if torch.is_tensor(value)}


def count_layers(keys, prefix: str) -> int:
    """Number of residual blocks whose keys start with ``prefix<index>.``."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    indices = {int(match.group(1)) for key in keys if (match := pattern.match(key))}
    return max(indices) + 1 if indices else 0


def name_pairs(text_layers: int, vision_layers: int) -> list[tuple[str, str, bool]]:
    """``(open_clip name, HF name, transposed)`` of every weight except the packed q/k/v projections.

    open_clip multiplies ``x @ proj`` with ``proj`` of shape (width, embed); HF's ``nn.Linear`` stores
    (embed, width): the two projections are transposed.
    """
    pairs = [
        ("logit_scale", "logit_scale", False),
        ("token_embedding.weight", "text_model.embeddings.token_embedding.weight", False),
        ("positional_embedding", "text_model.embeddings.position_embedding.weight", False),
        ("text_projection", "text_projection.weight", True),
        ("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight", False),
        ("visual.class_embedding", "vision_model.embeddings.class_embedding", False),
        ("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight", False),
        ("visual.proj", "visual_projection.weight", True),
    ]
    norms = {"ln_final": "text_model.final_layer_norm", "visual.ln_pre": "vision_model.pre_layrnorm",  # sic
             "visual.ln_post": "vision_model.post_layernorm"}
    blocks = {"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
              "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
    for (oc_tower, hf_tower), layers in zip(TOWERS, (text_layers, vision_layers)):
        for layer in range(layers):
            src, dst = f"{oc_tower}transformer.resblocks.{layer}.", f"{hf_tower}.encoder.layers.{layer}."
            norms.update({src + oc: dst + hf for oc, hf in blocks.items()})
    pairs += [(f"{oc}.{p}", f"{hf}.{p}", False) for oc, hf in norms.items() for p in ("weight", "bias")]
    return pairs


def _packed_attention(text_layers: int, vision_layers: int):
    """``(open_clip in_proj name, [HF q, k, v names])`` of every attention projection, weight and bias."""
    for (oc_tower, hf_tower), layers in zip(TOWERS, (text_layers, vision_layers)):
        for layer in range(layers):
            for param in ("weight", "bias"):
                yield (f"{oc_tower}transformer.resblocks.{layer}.attn.in_proj_{param}",
                       [f"{hf_tower}.encoder.layers.{layer}.self_attn.{name}.{param}" for name in _QKV])


def open_clip_to_hf(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and reshape) open_clip CLIP weights into ``CLIPModel`` weights, in float32.

    Raises ``ValueError`` on a missing weight and on weights that have no place in a CLIPModel.
    """
    remaining = {key: value for key, value in state_dict.items() if key not in NON_WEIGHT_KEYS}
    layers = (count_layers(remaining, "transformer.resblocks."), count_layers(remaining, "visual.transformer.resblocks."))

    def take(key: str) -> torch.Tensor:
        if key not in remaining:
            raise ValueError(f"not an open_clip ViT CLIP state dict: {key!r} is missing")
        return remaining.pop(key)

    converted = {hf: take(oc).t() if transposed else take(oc) for oc, hf, transposed in name_pairs(*layers)}
    for packed, names in _packed_attention(*layers):
        converted.update(zip(names, take(packed).chunk(3)))
    if remaining:
        raise ValueError("weights with no CLIPModel counterpart: " + ", ".join(sorted(remaining)[:10]))
    # float32 whatever the source precision (openai's originals are fp16): a predictable checkpoint.
    return {key: value.float().contiguous() for key, value in converted.items()}


def hf_to_open_clip(state_dict: Mapping[str, torch.Tensor], text_layers: int, vision_layers: int) -> dict[str, torch.Tensor]:
    """The inverse of :func:`open_clip_to_hf`: ``CLIPModel`` weights as open_clip ``CLIP`` weights."""
    converted = {oc: (state_dict[hf].t() if transposed else state_dict[hf]).contiguous()
                 for oc, hf, transposed in name_pairs(text_layers, vision_layers)}
    for packed, names in _packed_attention(text_layers, vision_layers):
        converted[packed] = torch.cat([state_dict[name] for name in names])
    return converted
