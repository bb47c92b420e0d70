"""Hard-negative captions for FSC-CLIP: swap, replace, n-gram shuffle, svlc and the fsc-clip mix.

>>> from fsc_clip_hf.negatives import HardNegativeGenerator
>>> gen = HardNegativeGenerator(style="fsc-clip", seed=0)
>>> swap, replace, shuffle = gen(["A man riding a horse on the beach."], epoch=0)

Resources (spaCy English pipeline, WordNet 3.0): ``python -m fsc_clip_hf.negatives.resources install``.
Pre-compute a corpus: ``python -m fsc_clip_hf.negatives precompute --input captions.txt --output cache``.
"""

from ..lazy import lazy_exports

# Imported on first access, so that running a submodule as a script
# (``python -m fsc_clip_hf.negatives.resources``) does not import it twice.
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "HardNegativeGenerator": "generator",
    "ResourceMissingError": "resources",
    "STYLES": "styles",
    "parse_style": "styles",
})
