"""Moved to :mod:`fsc_clip_hf.release.convert_open_clip`; this path keeps working (``python -m`` too), with a notice."""

from .lazy import moved

moved("fsc_clip_hf.convert_open_clip", "fsc_clip_hf.release.convert_open_clip", globals())
