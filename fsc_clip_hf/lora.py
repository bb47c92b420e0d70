"""LoRA on both CLIP towers, as the published LoRA recipes use it."""

from __future__ import annotations

import logging

from peft import LoraConfig, PeftModel, get_peft_model

logger = logging.getLogger(__name__)

# Attention q/k/v/out, the MLPs and the patch-embedding convolution of both towers.
LORA_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2", "patch_embedding"]


def apply_lora(model, r: int = 4, alpha: float = 1.0, dropout: float = 0.0) -> PeftModel:
    """Wrap `model` with LoRA adapters (scaling alpha / r); only the adapters train."""
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGET_MODULES)
    peft_model = get_peft_model(model, config)
    trainable, total = peft_model.get_nb_trainable_parameters()
    logger.info("LoRA r=%d alpha=%s on %s: %d trainable of %d parameters (%.3f%%)",
                r, alpha, ",".join(LORA_TARGET_MODULES), trainable, total, 100 * trainable / total)
    return peft_model
