"""Merging the LoRA factors of the FSC-CLIP authors' LoRA checkpoints into the weights.

Their LoRA runs (``--lora-rank r``) patch every ViT CLIP linear and convolution layer with loralib-style
factors and save the full state dict, factors unmerged beside the unchanged pretrained weights (their
layers merge only in their own ``eval()``, which ``nn.Module.eval()`` never calls). Three forms:

============================================  ============================================  ======================
factor keys                                   weight                                        delta (``s = alpha / r``)
============================================  ============================================  ======================
``….mlp.c_fc.lora_A`` / ``lora_B`` (and       ``….mlp.c_fc.weight`` (out, in)               ``B @ A · s``, r = rows(A)
``c_proj``, ``attn.out_proj``)
``visual.conv1.lora_A`` (r·k, in·k) /          ``visual.conv1.weight`` (out, in, k, k)        ``(B @ A).view(W.shape) · s``,
``lora_B`` (out·k, r·k)                                                                     r = rows(A) / k
``….attn.in_proj_weight_lora_A`` (r, d) /      ``….attn.in_proj_weight`` (3d, d)              ``B @ A · s``, r = rows(A)
``in_proj_weight_lora_B`` (3d, r)
============================================  ============================================  ======================

The attention factors are initialised non-zero (xavier), so dropping them would not give the pretrained
model back either: they must be merged. Their ``alpha`` is 1 unless changed in their code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch

logger = logging.getLogger(__name__)

LORA_A, LORA_B = "lora_A", "lora_B"
DEFAULT_ALPHA = 1.0  # lora_alpha of the authors' layers; their patching never changes it


def merge_authors_lora(state_dict: Mapping[str, torch.Tensor], alpha: float = DEFAULT_ALPHA) -> dict[str, torch.Tensor]:
    """``state_dict`` with every ``lora_A`` / ``lora_B`` pair merged into its weight and removed.

    A state dict without factors comes back unchanged. Merging is done in float64, then cast back to
    the weight's dtype. Raises ``ValueError`` naming the key of an unpaired or misshapen factor.
    """
    merged = dict(state_dict)
    ranks = set()
    for key_a in [key for key in state_dict if key.endswith(LORA_A)]:
        prefix = key_a[: -len(LORA_A)]
        key_b = prefix + LORA_B
        # "….attn.in_proj_weight_lora_A" belongs to "….attn.in_proj_weight"; "….c_fc.lora_A" to "….c_fc.weight".
        target = prefix[:-1] if prefix.endswith("_") else prefix + "weight"
        if key_b not in merged or target not in merged:
            raise ValueError(f"LoRA factor {key_a!r} has no {key_b if key_b not in merged else target!r} beside it")
        factor_a, factor_b, weight = merged.pop(key_a), merged.pop(key_b), merged[target]
        kernel = weight.shape[-1] if weight.ndim == 4 else 1
        rank, leftover = divmod(factor_a.shape[0], kernel)
        if leftover or factor_b.shape[1] != factor_a.shape[0] or factor_b.shape[0] * factor_a.shape[1] != weight.numel():
            raise ValueError(f"LoRA factors {key_a!r} {tuple(factor_a.shape)} and {key_b!r} {tuple(factor_b.shape)} "
                             f"do not fit {target!r} {tuple(weight.shape)}")
        delta = (factor_b.double() @ factor_a.double()).view(weight.shape) * (alpha / rank)
        merged[target] = (weight.double() + delta).to(weight.dtype)
        ranks.add(rank)
    if ranks:
        count = len(state_dict) - len(merged)
        logger.info("merged %d LoRA factors (%d weights, rank %s, alpha %g) into the weights",
                    count, count // 2, "/".join(map(str, sorted(ranks))), alpha)
    return merged
