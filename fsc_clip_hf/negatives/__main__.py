"""Command line of the hard-negative generators.

    python -m fsc_clip_hf.negatives precompute --input captions.txt --output cache_dir [--num_proc N]
    python -m fsc_clip_hf.negatives show "A man riding a horse on the beach." [--style fsc-clip]
"""

from __future__ import annotations

import argparse
import sys
import time

from ..cli import ArgumentParser
from .resources import DEFAULT_SPACY_MODEL, ResourceMissingError


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python -m fsc_clip_hf.negatives", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("precompute", help="parse a caption corpus into a candidate cache")
    pre.add_argument("--input", required=True, help="captions: .txt (one per line), .jsonl or .csv")
    pre.add_argument("--caption_column", default="caption", help="field/column of .jsonl/.csv inputs")
    pre.add_argument("--output", required=True, help="cache directory to write")
    pre.add_argument("--num_proc", type=int, default=1, help="parallel worker processes")
    pre.add_argument("--style", default="fsc-clip")
    pre.add_argument("--spacy_model", default=DEFAULT_SPACY_MODEL)
    pre.add_argument("--batch_size", type=int, default=256)
    show = sub.add_parser("show", help="print the hard negatives of some captions")
    show.add_argument("captions", nargs="+")
    show.add_argument("--style", default="fsc-clip")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--epoch", type=int, default=0)
    show.add_argument("--spacy_model", default=DEFAULT_SPACY_MODEL)
    args = parser.parse_args(argv)
    try:
        if args.command == "precompute":
            from .cache import precompute

            start = time.perf_counter()
            out = precompute(args.input, args.output, caption_column=args.caption_column, style=args.style,
                             num_proc=args.num_proc, spacy_model=args.spacy_model, batch_size=args.batch_size)
            print(f"wrote {out} in {time.perf_counter() - start:.1f}s")
        else:
            from .generator import HardNegativeGenerator

            gen = HardNegativeGenerator(style=args.style, seed=args.seed, spacy_model=args.spacy_model)
            negatives = gen(args.captions, epoch=args.epoch)
            for i, caption in enumerate(args.captions):
                print(caption)
                for kind, column in zip(gen.types, negatives):
                    print(f"  {kind:>8}: {column[i]}")
    except ResourceMissingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
