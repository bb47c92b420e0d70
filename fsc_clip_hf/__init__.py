"""FSC-CLIP fine-tuning of CLIP for compositionality on the Hugging Face stack."""

from .losses import FSCLoss, FSCLossConfig, fsc_clip_loss
from .modeling import FSCCLIPModel, FSCCLIPOutput, tiny_clip_config

__version__ = "0.1.0"

__all__ = ["FSCCLIPModel", "FSCCLIPOutput", "FSCLoss", "FSCLossConfig", "fsc_clip_loss", "tiny_clip_config"]
