"""FSC-CLIP fine-tuning of CLIP for compositionality on the Hugging Face stack."""

__version__ = "0.1.0"
