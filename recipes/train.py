"""Train with a recipe: `accelerate launch recipes/train.py --config laioncoco_b32.yaml [--option value ...]`.

A bare recipe name (`laioncoco_b32` or `laioncoco_b32.yaml`) resolves inside this folder; any option on the
command line overrides the recipe.
`model_name_or_path: synthetic` runs the offline demo on the embedded synthetic world.
"""

import sys
from pathlib import Path

from fsc_clip_hf.cli.train import train_main

if __name__ == "__main__":
    train_main(sys.argv[1:], recipes_dir=str(Path(__file__).resolve().parent))
