"""Data path throughput: samples/s of decode + image processing + tokenization + hard negatives.

Runs the training data path end to end on the synthetic world's WebDataset shards
(`load_image_text_dataset` -> DataLoader -> `FSCCollator`), with 0 and N DataLoader workers, for:
  * no negatives;
  * negatives cold: a fresh generator, every caption parsed the first time it is seen (first epoch
    without a pre-computed cache; each worker parses its own share);
  * negatives cached: the generator's caption cache filled before the loader starts (what a later
    epoch, or a run with a pre-computed cache, sees).
The hard-negative generator (`fsc_clip_hf.negatives`) is imported lazily; without it only the first
mode runs. "epoch" counts the whole pass including worker start-up, "steady" starts after the first
batch. Training images go through `--train_transform` (default: the published recipes' open_clip crop).
Target on a 2-core machine: >= 300 samples/s cached with 2 workers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from transformers import CLIPProcessor

from fsc_clip_hf.cli import ArgumentParser
from fsc_clip_hf.data import FSCCollator, load_image_text_dataset
from fsc_clip_hf.data.augment import TRAIN_TRANSFORMS, build_train_transform
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world

TARGET = 300.0  # samples/s, cached negatives, 2 workers


def negative_generator(style: str, seed: int):
    """The real generator, or None (with the reason) when it is not available on this checkout."""
    try:
        from fsc_clip_hf.negatives import HardNegativeGenerator
    except ImportError as err:
        return None, f"fsc_clip_hf.negatives not importable ({err})"
    try:
        return HardNegativeGenerator(style=style, seed=seed), ""
    except Exception as err:  # a missing spaCy model / WordNet: report it, measure the rest
        return None, f"HardNegativeGenerator unavailable: {err}"


def measure(world, processor, workers: int, batch_size: int, generator, train_transform) -> dict:
    data = load_image_text_dataset(world.train_shards, seed=0, shuffle_buffer=1000)
    collator = FSCCollator(processor, negative_generator=generator, skip_stats=data.skip_stats,
                           train_transform=train_transform)
    loader = torch.utils.data.DataLoader(data.dataset, batch_size=batch_size, num_workers=workers,
                                         collate_fn=collator)
    start = time.perf_counter()
    first = None
    samples = steady_samples = 0
    for batch in loader:
        n = batch["input_ids"].shape[0]
        samples += n
        if first is None:
            first = time.perf_counter()
        else:
            steady_samples += n
    end = time.perf_counter()
    return {"samples": samples, "epoch": samples / (end - start),
            "steady": steady_samples / max(end - first, 1e-9), "first_batch_s": first - start}


def main(argv=None) -> None:
    parser = ArgumentParser(prog="benchmark.py data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_train", type=int, default=2000)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="N in the '0 and N workers' runs")
    parser.add_argument("--style", default="fsc-clip", help="hard-negative style")
    parser.add_argument("--world", default=None, help="reuse a written synthetic world instead of a temporary one")
    parser.add_argument("--train_transform", default="open_clip", choices=TRAIN_TRANSFORMS,
                        help="training-image transform (the recipes' train_transform)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.world or os.path.join(tmp, "world")
        start = time.perf_counter()
        if not os.path.exists(os.path.join(root, "world.json")):
            write_synthetic_world(root, num_train=args.num_train, image_size=args.image_size)
        world = load_synthetic_world(root)
        print(f"synthetic world: {world.num_train} training images at {world.image_size}px, "
              f"ready in {time.perf_counter() - start:.1f}s; load average {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} CPUs; torch threads {torch.get_num_threads()}")
        processor = CLIPProcessor.from_pretrained(world.processor_dir)
        transform = build_train_transform(args.train_transform, world.image_size)
        print(f"training images: {transform or 'the evaluation transform'}")

        modes = [("no negatives", None)]
        cold, why = negative_generator(args.style, seed=0)
        if cold is None:
            print(f"negatives: skipped ({why})")
        else:
            warm, _ = negative_generator(args.style, seed=0)
            captions = [s["caption"] for s in load_image_text_dataset(world.train_jsonl, shuffle_buffer=0).dataset]
            start = time.perf_counter()
            for i in range(0, len(captions), 256):
                warm(captions[i:i + 256])
            print(f"negatives ({args.style}, types {warm.types}): cache filled for {len(captions)} captions "
                  f"in {time.perf_counter() - start:.1f}s")
            modes += [(f"negatives cold ({args.style})", cold), (f"negatives cached ({args.style})", warm)]

        print("\n| mode | workers | samples/s (epoch) | samples/s (steady) | first batch (s) |")
        print("|---|---|---|---|---|")
        results = {}
        for name, generator in modes:
            for workers in sorted({0, args.workers}):
                # a cold generator must stay cold: give each run a fresh one
                gen = negative_generator(args.style, 0)[0] if name.startswith("negatives cold") else generator
                r = measure(world, processor, workers, args.batch_size, gen, transform)
                results[(name, workers)] = r
                print(f"| {name} | {workers} | {r['epoch']:.0f} | {r['steady']:.0f} | {r['first_batch_s']:.2f} |",
                      flush=True)

        key = next(((n, w) for (n, w) in results if n.startswith("negatives cached") and w == args.workers), None)
        key = key or ("no negatives", args.workers)
        value = results[key]["epoch"]
        verdict = "meets" if value >= TARGET else "misses"
        print(f"\n{key[0]}, {key[1]} workers: {value:.0f} samples/s over the epoch, {verdict} the target of "
              f"{TARGET:.0f} samples/s")


if __name__ == "__main__":
    main()
