"""Training data: sources streamed with `datasets`, safe decoding, the FSC batch collator, bad-data
accounting, and the embedded synthetic world (``fsc_clip_hf.data.synthetic``)."""

from .callbacks import DataEpochCallback
from .collator import FSCCollator
from .images import decode_image
from .skips import REASONS, BadSample, SkipStats, format_counts
from .sources import ImageTextData, load_image_text_dataset

__all__ = ["REASONS", "BadSample", "DataEpochCallback", "FSCCollator", "ImageTextData", "SkipStats",
           "decode_image", "format_counts", "load_image_text_dataset"]
