"""Command line of the hard-negative generators.

    python -m fsc_clip_hf.negatives precompute --input captions.txt --output cache_dir [--num_proc N]
    python -m fsc_clip_hf.negatives show --input train.jsonl --caption_column caption --n 20 [--style fsc-clip]
                                         [--image_column image --html negatives.html]
    python -m fsc_clip_hf.negatives show "A man riding a horse on the beach." [--style fsc-clip]
    python -m fsc_clip_hf.negatives vocabulary --input train.jsonl --caption_column caption --output vocab.json

Negative options (--replace_senses, --replace_vocabulary, ...) are those of the training recipes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..argparsing import ArgumentParser
from . import options as negative_options
from .resources import DEFAULT_SPACY_MODEL, ResourceMissingError


def _common(parser, candidate_only=False):
    parser.add_argument("--style", default="fsc-clip")
    parser.add_argument("--spacy_model", default=DEFAULT_SPACY_MODEL)
    negative_options.add_arguments(parser, candidate_only)


def _show(args) -> None:
    from .corpus import read_records
    from .show import format_tables, generate, pick, write_html

    if bool(args.captions) == bool(args.input):
        raise SystemExit("show: give captions or --input FILE (not both)")
    if args.input:
        records = read_records(args.input, args.caption_column, args.image_column)
        if not records:
            raise SystemExit(f"show: {args.input} has no captions in {args.caption_column!r}")
    else:
        records = [(c, None) for c in args.captions]
    gen = negative_options.generator_from_options(
        args.style, seed=args.seed, spacy_model=args.spacy_model, train_data=args.input,
        caption_column=args.caption_column, options=negative_options.negative_options(args))
    shown = generate(gen, pick(records, args.n, args.seed), epoch=args.epoch)
    coverage, coverage_n = None, None
    if args.input and args.coverage_n > len(shown.captions):
        measured = generate(gen, pick(records, args.coverage_n, args.seed + 1), epoch=args.epoch)
        coverage, coverage_n = measured.coverage(), len(measured.captions)
    print(format_tables(shown, coverage, coverage_n))
    if args.html:
        root = Path(args.image_root) if args.image_root else (Path(args.input).parent if args.input else None)
        print(f"\nwrote {write_html(shown, args.html, root, coverage)}")


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python -m fsc_clip_hf.negatives", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("precompute", help="parse a caption corpus into a candidate cache")
    pre.add_argument("--input", required=True, help="captions: .txt (one per line), .jsonl or .csv")
    pre.add_argument("--caption_column", default="caption", help="field/column of .jsonl/.csv inputs")
    pre.add_argument("--output", required=True, help="cache directory to write")
    pre.add_argument("--num_proc", type=int, default=1, help="parallel worker processes")
    pre.add_argument("--batch_size", type=int, default=256)
    pre.add_argument("--chunk_size", type=int, default=100_000, help="captions per resumable chunk")
    _common(pre, candidate_only=True)
    show = sub.add_parser("show", help="print the hard negatives of some captions, per type, with coverage")
    show.add_argument("captions", nargs="*", help="captions to show (or --input)")
    show.add_argument("--input", help="a caption file: .txt, .jsonl, .csv or .tsv")
    show.add_argument("--caption_column", default="caption")
    show.add_argument("--image_column", default=None, help="image paths (relative to the file or --image_root)")
    show.add_argument("--image_root", default=None)
    show.add_argument("--n", type=int, default=20, help="captions shown (drawn at random with --seed)")
    show.add_argument("--coverage_n", type=int, default=1000, help="captions the coverage is measured on")
    show.add_argument("--html", default=None, help="also write an HTML page (images inline)")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--epoch", type=int, default=0)
    _common(show)
    vocab = sub.add_parser("vocabulary", help="count the words of a caption corpus (replace_vocabulary: corpus)")
    vocab.add_argument("--input", required=True)
    vocab.add_argument("--caption_column", default="caption")
    vocab.add_argument("--output", required=True, help="vocabulary file (.json) to write")
    args = parser.parse_args(argv)
    try:
        if args.command == "precompute":
            from .precompute import precompute

            start = time.perf_counter()
            out = precompute(args.input, args.output, caption_column=args.caption_column, style=args.style,
                             num_proc=args.num_proc, spacy_model=args.spacy_model, batch_size=args.batch_size,
                             chunk_size=args.chunk_size,
                             **{name: getattr(args, name) for name in negative_options.CANDIDATE_OPTIONS})
            print(f"wrote {out} in {time.perf_counter() - start:.1f}s")
        elif args.command == "vocabulary":
            from .vocabulary import Vocabulary

            vocabulary = Vocabulary.load(args.input, caption_column=args.caption_column)
            print(f"wrote {vocabulary.save(args.output)}: {len(vocabulary)} words")
        else:
            _show(args)
    except ResourceMissingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
