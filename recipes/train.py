"""Train with a recipe: `accelerate launch recipes/train.py --config laioncoco_b32.yaml [--option value ...]`.

A bare recipe name resolves inside recipes/; any option on the command line overrides the recipe.
`model_name_or_path: synthetic` runs the offline demo on the embedded synthetic world.
"""

import sys

from fsc_clip_hf.cli import train_main

if __name__ == "__main__":
    train_main(sys.argv[1:])
