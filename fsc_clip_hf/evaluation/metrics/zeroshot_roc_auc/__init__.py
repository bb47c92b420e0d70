"""An `evaluate` metric module, loaded by path (see `fsc_clip_hf.evaluation.metrics`)."""
