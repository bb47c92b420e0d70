"""LoRA on both CLIP towers, as the published LoRA recipes use it, in two forms (`lora_style`).

* `authors` (the published `*_lora` recipes): the authors' form, see `.authors`: a fused q/k/v
  adapter with a shared, xavier-initialised A and B, zero-B adapters on out_proj and the MLPs, and
  loralib's Conv2d LoRA (rank r·k) on the patch embedding. 4,141,056 trainable parameters for
  ViT-B/32 at r = 4.
* `peft`: peft's standard LoRA of rank r on the same modules (q, k, v separately, every B
  zero-initialised, so the model starts as the pretrained one). 1,121,280 for ViT-B/32 at r = 4.

Both are peft models: checkpoints hold the adapter, the Trainer resumes them, and `merge_and_unload`
gives plain CLIP weights. The logit scale and every base weight stay frozen.
"""

from __future__ import annotations

import logging

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn

from .authors import LoralibConv2d, fuse_qkv_adapters

logger = logging.getLogger(__name__)

# Attention q/k/v/out, the MLPs and the patch-embedding convolution of both towers.
LORA_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2", "patch_embedding"]
LORA_STYLES = ("authors", "peft")


def apply_lora(model, r: int = 4, alpha: float = 1.0, dropout: float = 0.0, style: str = "peft",
               seed: int = 0) -> PeftModel:
    """Wrap `model` with LoRA adapters of rank `r` (scaling alpha / r); only the adapters train.

    The adapters' random initialisation follows from `seed` alone (the global random state is left
    as it was), so every process and every run of a recipe starts from the same adapters.
    """
    if style not in LORA_STYLES:
        raise ValueError(f"lora_style={style!r}; expected one of {LORA_STYLES}")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGET_MODULES)
    if style == "authors":
        config._register_custom_module({nn.Conv2d: LoralibConv2d})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, config)
        if style == "authors" and not fuse_qkv_adapters(peft_model):
            raise ValueError("lora_style='authors' found no attention with q_proj, k_proj and v_proj to fuse")
    trainable, total = peft_model.get_nb_trainable_parameters()
    logger.info("LoRA (%s form) r=%d alpha=%s on %s: %d trainable of %d parameters (%.3f%%)", style,
                r, alpha, ",".join(LORA_TARGET_MODULES), trainable, total, 100 * trainable / total)
    return peft_model
