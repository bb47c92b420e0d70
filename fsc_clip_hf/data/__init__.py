"""Training data: sources streamed with `datasets`, safe decoding, the FSC batch collator, bad-data
accounting, and the embedded synthetic world (``fsc_clip_hf.data.synthetic``)."""

from ..lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "DataEpochCallback": "callbacks",
    "FSCCollator": "collator",
    "decode_image": "images",
    "REASONS": "skips",
    "BadSample": "skips",
    "SkipStats": "skips",
    "format_counts": "skips",
    "ImageTextData": "sources",
    "load_image_text_dataset": "sources",
})
