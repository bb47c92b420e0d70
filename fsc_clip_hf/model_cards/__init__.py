"""Model card templates, shipped as package data (``template.md`` is a Jinja template).

Kept inside the package so that an installed ``fsc_clip_hf`` can write cards without the source tree;
``fsc_clip_hf.model_card`` loads the template from here through ``importlib.resources``.
"""
