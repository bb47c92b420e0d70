"""Evaluate a CLIP checkpoint on the benchmark suite and write results.json, results.md, comp_vs_zs.png.

    python recipes/eval.py --model_name_or_path M --benchmarks sugarcrepe,aro,... --data_root R --output_dir O
    accelerate launch recipes/eval.py ...      # several processes / GPUs

Groups: all, comp, zs, retrieval, synthetic. `--help` lists every option and benchmark name.
"""

import sys
from pathlib import Path

# Runs from a checkout too, when the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fsc_clip_hf.cli.evaluate import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])
