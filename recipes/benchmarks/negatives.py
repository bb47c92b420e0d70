"""Hard-negative generation: throughput (cold / cached / disk cache), coverage per type, one core, and what
each negative option changes.

Cold is the first epoch of a fresh generator on captions it has never seen (spaCy parse, candidate
search with empty WordNet memos, sampling); the pipeline and data files are loaded beforehand, as
they are once per training run. Cached is a later epoch (sampling only). Disk is a fresh generator
reading a cache written by `python -m fsc_clip_hf.negatives precompute`. Throughput is reported on
wall-clock time and on process CPU time: the machine may be shared, and CPU time is the figure
least affected by other processes. Targets (fsc-clip): >= 370 captions/s cold, >= 7,000 captions/s
cached; coverage swap >= 97 %, replace >= 98 %, shuffle 100 %.

Quality, per option (defaults: the authors' behaviour): swap and replace coverage, swaps that only reorder
one word's modifiers, replace edits of a colour that give a colour, edits that keep the part of speech,
edits whose words the caption file uses (in-domain), number edits that give a non-number, negatives
with an a/an disagreement their caption did not have.

    python recipes/benchmark.py negatives [--captions FILE] [--repeats 3] [--epochs 5] [--quality_only]
    python recipes/benchmarks/negatives.py ...   (the same, without the dispatcher)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from fsc_clip_hf.argparsing import ArgumentParser

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CAPTIONS = REPO / "tests" / "fixtures" / "coco_style_captions.txt"
TARGET_COLD, TARGET_CACHED = 370.0, 7000.0
TARGET_COVERAGE = {"swap": 0.97, "replace": 0.98, "shuffle": 1.0}
# The fsc-clip mix, then each of its types on its own.
STYLES = (("fsc-clip", "all three"), ("negclip", "swap"), ("replace", "replace"), ("ngram_shuffle_2", "shuffle"))


def pin_to_one_core() -> str:
    """Restrict this process (and the BLAS threads spaCy may start) to a single CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def timed(fn):
    """(result, wall seconds, CPU seconds) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_batches(gen, captions, epoch, batch_size):
    out = [[] for _ in gen.types]
    for i in range(0, len(captions), batch_size):
        for column, part in zip(out, gen(captions[i:i + batch_size], epoch=epoch)):
            column.extend(part)
    return out


def fresh_generator(style, seed=0, load=True, **kwargs):
    """A generator with nothing memoised (new spaCy pipeline object, WordNet lexicon, inflections),
    its resources loaded unless ``load`` is False (they then load on first use, if ever)."""
    from fsc_clip_hf.negatives import HardNegativeGenerator, generator, inflection

    generator.shared_parser.cache_clear()
    generator.shared_wordnet.cache_clear()
    generator.shared_all_senses.cache_clear()
    inflection.inflect.cache_clear()
    gen = HardNegativeGenerator(style=style, seed=seed, **kwargs)
    return gen.load_resources() if load else gen


def measure_style(style, captions, args):
    """Median captions/s (wall, CPU) for: cold, cold with warm WordNet memos, cached epochs."""
    from fsc_clip_hf.negatives import HardNegativeGenerator

    n = len(captions)
    rates = {"cold": [], "cold_warm_wordnet": [], "cached": []}
    first_epoch = None
    for _ in range(args.repeats):
        gen = fresh_generator(style)
        first_epoch, wall, cpu = timed(lambda: run_batches(gen, captions, 0, args.batch_size))
        rates["cold"].append((n / wall, n / cpu))
        # A new generator on the same process-wide WordNet memo: the steady state of a long first
        # epoch, when most words of new captions have been looked up before.
        again = HardNegativeGenerator(style=style, seed=1).load_resources()
        _, wall, cpu = timed(lambda: run_batches(again, captions, 0, args.batch_size))
        rates["cold_warm_wordnet"].append((n / wall, n / cpu))
        _, wall, cpu = timed(lambda: [run_batches(gen, captions, e, args.batch_size)
                                      for e in range(1, args.epochs + 1)])
        rates["cached"].append((n * args.epochs / wall, n * args.epochs / cpu))
    medians = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in rates.items()}
    return medians, first_epoch


def measure_disk(captions, args):
    """Precompute a cache (one process), then read it from fresh generators: median first pass
    (candidates and replacement lists decoded from disk) and later epochs."""
    import datasets

    from fsc_clip_hf.negatives.inflection import load_inflection_tables
    from fsc_clip_hf.negatives.precompute import precompute

    datasets.disable_progress_bars()  # keep the table readable
    load_inflection_tables()  # a resource like the others, loaded before timing
    n = len(captions)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "captions.txt"
        source.write_text("\n".join(captions) + "\n")
        _, precompute_wall, _ = timed(lambda: precompute(source, Path(tmp) / "cache", style="fsc-clip", num_proc=1))
        first = []
        for _ in range(args.repeats):
            gen = fresh_generator("fsc-clip", load=False, cache_dir=Path(tmp) / "cache")
            _, wall, cpu = timed(lambda: run_batches(gen, captions, 1, args.batch_size))
            first.append((n / wall, n / cpu))
        _, wall, cpu = timed(lambda: [run_batches(gen, captions, e, args.batch_size)
                                      for e in range(2, args.epochs + 2)])
        parsed = gen._parser is not None
    return {"precompute_s": precompute_wall,
            "first": (statistics.median(w for w, _ in first), statistics.median(c for _, c in first)),
            "later": (n * args.epochs / wall, n * args.epochs / cpu), "parsed": parsed}


OURS = {"replace_senses": "first", "replace_numbers": "same_form", "replace_vocabulary": "corpus",
        "swap_skip_modifier_reorder": True, "negatives_article_agreement": True}
VARIANTS = (("authors (defaults)", {}), ("replace_senses first", {"replace_senses": "first"}),
            ("replace_count_memo word", {"replace_count_memo": "word"}),
            ("replace_numbers same_form", {"replace_numbers": "same_form"}),
            ("replace_vocabulary corpus", {"replace_vocabulary": "corpus"}),
            ("swap_skip_modifier_reorder", {"swap_skip_modifier_reorder": True}),
            ("negatives_article_agreement", {"negatives_article_agreement": True}),
            ("all five of ours", OURS))


def measure_quality(captions, caption_file, epochs: int = 1) -> dict:
    """Per variant: fsc-clip negatives of ``epochs`` epochs, measured (see the module docstring)."""
    from fsc_clip_hf.negatives.generator import shared_parser
    from fsc_clip_hf.negatives.options import NegativeOptions, generator_from_options
    from fsc_clip_hf.negatives.quality import replace_quality, swap_quality
    from fsc_clip_hf.negatives.vocabulary import Vocabulary

    vocabulary = Vocabulary.from_captions(captions)
    parser = shared_parser("en_core_web_sm")
    rows = {}
    for name, options in VARIANTS:
        gen = generator_from_options(
            "fsc-clip", seed=0, options=NegativeOptions(replace_vocabulary_file=str(caption_file), **options))
        swap, replace, shown = [], [], []
        for epoch in range(epochs):
            out = run_batches(gen, captions, epoch, 256)
            swap += out[0]
            replace += out[1]
            shown += captions
        rows[name] = {"swap": swap_quality(gen, shown, swap),
                      "replace": replace_quality(parser, shown, replace, vocabulary)}
    return rows


def print_quality(rows) -> None:
    print(f"{'option':<28} {'swap':>6} {'reorder':>8} {'replace':>8} {'colour':>7} {'POS':>6} {'in-dom':>7} "
          f"{'num->x':>7} {'a/an r':>7} {'a/an s':>7}   (percent)")
    for name, row in rows.items():
        s, r = row["swap"], row["replace"]
        print(f"{name:<28} {100 * s['coverage']:>6.1f} {100 * s['modifier_reorders']:>8.1f} "
              f"{100 * r['coverage']:>8.1f} {100 * r['colour_to_colour']:>7.1f} {100 * r['pos_kept']:>6.1f} "
              f"{100 * r['in_vocabulary']:>7.1f} {100 * r['number_to_non_number']:>7.1f} "
              f"{100 * r['article_errors']:>7.1f} {100 * s['article_errors']:>7.1f}")
    first = next(iter(rows.values()))["replace"]
    print(f"(colour edits: {first['colour_edits']}, number edits: {first['number_edits']} with the defaults; "
          "in-dom: every word of the edit occurs in the caption file)")


def main(argv=None) -> dict:
    parser = ArgumentParser(prog="benchmark.py negatives", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", type=Path, default=DEFAULT_CAPTIONS, help="one caption per line")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs per style (the median is shown)")
    parser.add_argument("--epochs", type=int, default=5, help="cached epochs timed per run")
    parser.add_argument("--batch_size", type=int, default=256, help="captions per generator call")
    parser.add_argument("--no_pin", action="store_true", help="do not restrict the process to one CPU")
    parser.add_argument("--quality_epochs", type=int, default=1, help="epochs of negatives the quality is measured on")
    parser.add_argument("--quality_only", action="store_true", help="skip the throughput part")
    args = parser.parse_args(argv)
    pinning = "not pinned (--no_pin)" if args.no_pin else pin_to_one_core()

    from fsc_clip_hf.data.captions import normalize_caption
    from fsc_clip_hf.negatives import HardNegativeGenerator

    captions = [normalize_caption(c) for c in args.captions.read_text().splitlines() if c.strip()]
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"hard negatives: {len(captions)} captions from {args.captions.name}, {pinning}, "
          f"batches of {args.batch_size}, load average {load1:.2f} on {os.cpu_count()} CPUs")
    if args.quality_only:
        quality = measure_quality(captions, args.captions, args.quality_epochs)
        print_quality(quality)
        return {"quality": quality}
    _, load_wall, _ = timed(lambda: fresh_generator("fsc-clip"))
    print(f"loading spaCy + WordNet + inflection tables: {load_wall:.1f}s (once per process, not timed below)")
    print()
    print(f"{'style':<16} {'types':<10} {'cold wall/cpu':>17} {'cold, warm WN':>17} {'cached wall/cpu':>19}   captions/s")
    results = {}
    coverage = {}
    for style, label in STYLES:
        medians, first_epoch = measure_style(style, captions, args)
        results[style] = medians
        cold, warm, cached = medians["cold"], medians["cold_warm_wordnet"], medians["cached"]
        print(f"{style:<16} {label:<10} {cold[0]:>8.0f} /{cold[1]:>7.0f} {warm[0]:>8.0f} /{warm[1]:>7.0f} "
              f"{cached[0]:>9.0f} /{cached[1]:>8.0f}")
        if style == "fsc-clip":
            types = HardNegativeGenerator(style=style).types
            coverage = {t: sum(x is not None for x in column) / len(captions) for t, column in zip(types, first_epoch)}
    disk = measure_disk(captions, args)
    print(f"{'fsc-clip (disk)':<16} {'all three':<10} precompute {disk['precompute_s']:.1f}s; "
          f"first pass {disk['first'][0]:.0f} / {disk['first'][1]:.0f}, later {disk['later'][0]:.0f} / "
          f"{disk['later'][1]:.0f} (wall / cpu); spaCy loaded: {disk['parsed']}")
    print()
    print("coverage (share of captions with a negative, epoch 0): " +
          ", ".join(f"{t} {100 * c:.1f} % (target {100 * TARGET_COVERAGE[t]:.0f} %)" for t, c in coverage.items()))
    cold_cpu, cached_cpu = results["fsc-clip"]["cold"][1], results["fsc-clip"]["cached"][1]
    checks = {
        f"cold >= {TARGET_COLD:.0f}/s (cpu)": cold_cpu >= TARGET_COLD,
        f"cached >= {TARGET_CACHED:.0f}/s (cpu)": cached_cpu >= TARGET_CACHED,
        **{f"coverage {t}": c >= TARGET_COVERAGE[t] for t, c in coverage.items()},
    }
    print("targets: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()))
    print()
    quality = measure_quality(captions, args.captions, args.quality_epochs)
    print_quality(quality)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load_end:.2f}")
    return {"throughput": results, "disk": disk, "coverage": coverage, "checks": checks, "quality": quality}


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(REPO))
    main()
