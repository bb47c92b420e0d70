"""The commands: :mod:`.train` behind ``recipes/train.py``, :mod:`.evaluate` behind ``recipes/eval.py``.

The scripts in ``recipes/`` are thin wrappers around these. The other commands live with what they
operate on: ``python -m fsc_clip_hf.negatives``, ``python -m fsc_clip_hf.negatives.resources``,
``python -m fsc_clip_hf.evaluation.download``, ``python -m fsc_clip_hf.release.convert_open_clip``,
``python -m fsc_clip_hf.release.wise_ft``.
"""
