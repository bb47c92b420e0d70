"""Speed and memory figures, run by hand: `python recipes/benchmark.py PART [options]`.

Each part lives in `recipes/benchmarks/PART.py` and prints its own table; `--help` after the part
lists its options.
"""

import importlib
import pkgutil
import sys
from pathlib import Path

# The parts import from this folder, and from the checkout's package when it is not installed.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import benchmarks  # noqa: E402

# Modules named _x are helpers of the parts, not parts.
PARTS = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_"))


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in PARTS:
        print(__doc__)
        for part in PARTS:
            doc = (importlib.import_module(f"benchmarks.{part}").__doc__ or "").strip().splitlines()
            print(f"  {part:<12} {doc[0] if doc else ''}")
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
