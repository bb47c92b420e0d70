"""Speed and memory figures, run by hand: `python recipes/benchmark.py PART [options]`.

Each part lives in `recipes/benchmarks/PART.py` and prints its own table; `--help` after the part
lists its options.
"""

import importlib
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchmarks  # noqa: E402

PARTS = sorted(module.name for module in pkgutil.iter_modules(benchmarks.__path__))


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
