"""FSC-CLIP fine-tuning of CLIP for compositionality on the Hugging Face stack.

The layers (``docs/architecture.md``), each importing only those above it in this list:

* the base: :mod:`.argparsing`, :mod:`.paths`, :mod:`.lazy` (leaf modules);
* the core: :mod:`.modeling`, :mod:`.losses`, :mod:`.distributed`, :mod:`.processor`,
  :mod:`.image_processing`, :mod:`.tokenizer`, :mod:`.lora`, :mod:`.data`, :mod:`.negatives`,
  :mod:`.evaluation`;
* the release: :mod:`.release` (Hub folder and upload, model card, open_clip conversion, WiSE-FT);
* the run: :mod:`.training` (arguments, recipes, pre-flight, pipeline, trainer, demo) and :mod:`.cli`
  (the commands behind ``recipes/train.py`` and ``recipes/eval.py``).

Public names load on first use, so ``import fsc_clip_hf`` is cheap.
"""

from .lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FSCCLIPModel": "modeling",
    "FSCCLIPOutput": "modeling",
    "tiny_clip_config": "modeling",
    "FSCLoss": "losses",
    "FSCLossConfig": "losses",
    "fsc_clip_loss": "losses",
    "apply_lora": "lora",
    "FSCCollator": "data",
    "HardNegativeGenerator": "negatives",
    "evaluate_model": "evaluation",
    "FSCTrainer": "training.trainer",
    "FSCTrainingArguments": "training.arguments",
})
