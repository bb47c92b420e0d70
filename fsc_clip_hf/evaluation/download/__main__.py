"""`python -m fsc_clip_hf.evaluation.download --benchmarks comp --data_root data` (see the package docstring).

Exits 1 when a download failed (rerun to resume it), else 0; what must be done by hand (requested,
gated or very large data) is listed with its steps either way.
"""

from __future__ import annotations

import sys

from ...argparsing import ArgumentParser
from ..adapters import BENCHMARKS, GROUPS
from . import FAILED, download_benchmarks, format_rows


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m fsc_clip_hf.evaluation.download",
                            description="Download benchmark data into the layouts recipes/eval.py reads.")
    parser.add_argument("--benchmarks", default="comp",
                        help=f"comma-separated names or groups; groups: {', '.join(GROUPS)}; names: {', '.join(BENCHMARKS)}")
    parser.add_argument("--data_root", default="data", help="the folder recipes/eval.py reads (--data_root)")
    parser.add_argument("--skip_images", action="store_true", help="annotations only: leave the image collections")
    parser.add_argument("--keep_archives", action="store_true", help="keep the archives after unpacking them")
    parser.add_argument("--dry_run", action="store_true", help="list what would be fetched, fetch nothing")
    parser.add_argument("--workers", type=int, default=8, help="parallel downloads of per-image URLs (SVO-Probes)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        rows = download_benchmarks(args.benchmarks, args.data_root, skip_images=args.skip_images,
                                   keep_archives=args.keep_archives, dry_run=args.dry_run,
                                   progress=not args.no_progress, workers=args.workers)
    except ValueError as error:  # an unknown benchmark name
        parser.error(str(error))
    print(format_rows(rows))
    failed = sum(row.status == FAILED for row in rows)
    if failed:
        print(f"{failed} download{'s' * (failed > 1)} failed: run the same command again to resume", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
