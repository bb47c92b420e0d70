"""A training run, from a recipe to a release.

* :mod:`.arguments`: ``FSCTrainingArguments``, every option of a run;
* :mod:`.recipes`: YAML recipes and command-line overrides parsed into them, with their checks;
* :mod:`.preflight`: what a run needs, looked up before anything loads;
* :mod:`.pipeline`: model, data, negatives and trainer from the arguments; the final folder;
* :mod:`.trainer`: ``FSCTrainer``, the ``Trainer`` whose loss is the FSC-CLIP objective;
* :mod:`.checkpoints`, :mod:`.schedules`: whole checkpoints and rotation; the authors' warm-up;
* :mod:`.demo`: the offline demo on the synthetic world.
"""
