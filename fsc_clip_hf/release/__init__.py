"""What leaves a run: the release folder and its Hub upload, the model card, open_clip's files, WiSE-FT.

* :mod:`.hub`: the folder that is published (``final/``) and its upload;
* :mod:`.model_card`: the card (``model_card_template.md``) and the published results it shows;
* :mod:`.convert_open_clip`: open_clip checkpoints to Hugging Face CLIP and back
  (``python -m fsc_clip_hf.release.convert_open_clip``);
* :mod:`.wise_ft`: weight-space interpolation towards the pretrained model
  (``python -m fsc_clip_hf.release.wise_ft``), :mod:`.wise_ft_sweep` its evaluation.

Imports the core (model, data, evaluation), never the run (``fsc_clip_hf.training``, ``fsc_clip_hf.cli``).
"""
