"""open_clip CLIP checkpoints ↔ Hugging Face CLIP, both ways.

The FSC-CLIP authors released their models (ViT-B-32, ViT-B-16, ViT-L-14; full and LoRA) as open_clip
state dicts. Converted, they load with ``CLIPModel.from_pretrained`` and are evaluated here like any other
checkpoint; the other way, every release of this project also holds open_clip's files, so that open_clip
users load it with ``local-dir:`` / ``hf-hub:``::

    python -m fsc_clip_hf.release.convert_open_clip fsc-clip-b32.pt out/fsc-clip-b32 --arch ViT-B-32
    python -m fsc_clip_hf.release.convert_open_clip --to_open_clip outputs/coco_b32/final

A converted folder is complete offline: weights, config, openai's CLIP tokenizer (shipped with this
package; ``--processor`` takes another) and an image processor with open_clip's exact pixels
(:mod:`fsc_clip_hf.image_processing`). It is written all or nothing, and a tokenizer that cannot be the
model's is refused (:mod:`fsc_clip_hf.processor`).

Modules: :mod:`.weights` (the name table, both ways), :mod:`fsc_clip_hf.lora.authors_merge` (merging the
authors' LoRA factors), :mod:`.configs` (configurations both ways), :mod:`.checkpoint` (folders and files), ``__main__``
(the command line).
"""

from ...lora.authors_merge import merge_authors_lora
from .checkpoint import (
    OPEN_CLIP_CONFIG,
    OPEN_CLIP_WEIGHTS,
    convert_checkpoint,
    convert_to_open_clip,
    read_open_clip,
    write_open_clip_files,
)
from .configs import (
    ARCHITECTURES,
    HIDDEN_ACTS,
    OpenClipArch,
    OpenClipIncompatible,
    clip_config_from_state_dict,
    open_clip_geometry,
    open_clip_model_config,
    open_clip_preprocess_config,
)
from .weights import hf_to_open_clip, load_open_clip_state_dict, open_clip_to_hf

__all__ = [
    "OPEN_CLIP_CONFIG", "OPEN_CLIP_WEIGHTS", "ARCHITECTURES", "HIDDEN_ACTS", "OpenClipArch", "OpenClipIncompatible", "clip_config_from_state_dict",
    "convert_checkpoint", "convert_to_open_clip", "hf_to_open_clip", "load_open_clip_state_dict",
    "merge_authors_lora", "open_clip_geometry", "open_clip_model_config", "open_clip_preprocess_config",
    "open_clip_to_hf", "read_open_clip", "write_open_clip_files",
]
