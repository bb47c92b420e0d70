"""Moved to :mod:`fsc_clip_hf.release.wise_ft`; this path keeps working (``python -m`` too), with a notice."""

from .lazy import moved

moved("fsc_clip_hf.wise_ft", "fsc_clip_hf.release.wise_ft", globals())
