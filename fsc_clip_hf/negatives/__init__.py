"""Hard-negative captions for FSC-CLIP: swap, replace, n-gram shuffle, svlc and the fsc-clip mix.

>>> from fsc_clip_hf.negatives import HardNegativeGenerator
>>> gen = HardNegativeGenerator(style="fsc-clip", seed=0)
>>> swap, replace, shuffle = gen(["A man riding a horse on the beach."], epoch=0)

Resources (spaCy English pipeline, WordNet 3.0): ``python -m fsc_clip_hf.negatives.resources install``.
Pre-compute a corpus: ``python -m fsc_clip_hf.negatives precompute --input captions.txt --output cache``.
"""

import importlib

# Exported names -> defining submodule. Imported on first access, so that running a submodule as a
# script (``python -m fsc_clip_hf.negatives.resources``) does not import it twice.
_EXPORTS = {
    "HardNegativeGenerator": "generator",
    "ResourceMissingError": "resources",
    "STYLES": "styles",
    "parse_style": "styles",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
