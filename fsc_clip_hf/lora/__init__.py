"""LoRA on both CLIP towers, in the two forms of ``lora_style``.

* :mod:`.adapters`: :func:`apply_lora` wraps a CLIP with peft adapters, in peft's form or the authors';
* :mod:`.authors`: the authors' layers expressed over HF CLIP (fused q/k/v adapter, loralib's Conv2d);
* :mod:`.authors_merge`: merging the LoRA factors of the authors' open_clip checkpoints into the weights.
"""

from ..lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "LORA_STYLES": "adapters",
    "apply_lora": "adapters",
    "merge_authors_lora": "authors_merge",
})
