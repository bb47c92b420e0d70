"""Data path throughput: samples/s of decode + image processing + tokenization + hard negatives.

Runs the training data path end to end (`load_image_text_dataset` -> DataLoader -> `FSCCollator`) for:
  * no negatives;
  * negatives cold: a fresh generator, every caption parsed the first time it is seen (first epoch
    without a pre-computed cache; each worker parses its own share);
  * negatives cached: the generator's caption cache filled before the loader starts (what a later
    epoch, or a run with a pre-computed cache, sees).
"epoch" counts the whole pass including worker start-up, "steady" starts after the first batch.
Training images go through `--train_transform` (default: the published recipes' open_clip crop).

`--images synthetic` (default): the synthetic world's 64 px PNG shards and its word-level tokenizer,
0 and N workers. Target on a 2-core machine: >= 300 samples/s cached with 2 workers.

`--images jpeg`: photo-like JPEGs of camera size (default 640x480, quality 90, about 100 KB each)
through a WebDataset shard and a CSV table, with openai's CLIP tokenizer and a 224 px input, JPEG draft
decoding off and on (`image_draft_size`). Beside it, in the same run, the floor of this design: bare
PIL decode + bicubic resize of the same files in one process. Prints samples/s per loader worker
process and their cost per sample relative to the floor (target: <= 1.3x with cached negatives), the
pixel difference draft decoding makes after the training crop, and how many loader workers a GPU
consuming `--gpu_rate` samples/s (an H100's ViT-B/32 FSC step) needs.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import resource
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from transformers import CLIPImageProcessorPil, CLIPProcessor

from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.data import FSCCollator, load_image_text_dataset
from fsc_clip_hf.data.augment import TRAIN_TRANSFORMS, build_train_transform, random_resized_crop_box
from fsc_clip_hf.data.images import decode_image
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world

TARGET = 300.0  # samples/s, synthetic images, cached negatives, 2 workers
FLOOR_TARGET = 1.3  # JPEG path per sample, cached negatives, relative to bare decode + resize
GPU_RATE = 2490.0  # samples/s of one H100 on the ViT-B/32 FSC step (benchmark.py step, bf16, batch 256)


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


def negative_modes(style: str, captions: list[str], wanted=("none", "cold", "cached")) -> list[tuple]:
    """``(name, kind, generator)`` per negatives mode; the cached generator has seen every caption."""
    modes = [("no negatives", "none", None)] if "none" in wanted else []
    if not {"cold", "cached"} & set(wanted):
        return modes
    probe, why = negative_generator(style, seed=0)
    if probe is None:
        print(f"negatives: skipped ({why})")
        return modes
    if "cold" in wanted:
        modes.append((f"negatives cold ({style})", "cold", None))  # a fresh generator per run
    if "cached" in wanted:
        start = time.perf_counter()
        for i in range(0, len(captions), 256):
            probe(captions[i:i + 256])
        print(f"negatives ({style}, types {probe.types}): cache filled for {len(captions)} captions "
              f"in {time.perf_counter() - start:.1f}s")
        modes.append((f"negatives cached ({style})", "cached", probe))
    return modes


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # processes already joined: the finished workers
    return usage.ru_utime + usage.ru_stime


def measure(data, collator, workers: int, batch_size: int) -> dict:
    """One pass over ``data.dataset`` through a DataLoader with ``collator``: wall-clock rates, and the CPU
    seconds per sample of the workers (with 0 workers: of this process) and of this process, which a
    loaded machine does not distort the way it does wall time."""
    loader = torch.utils.data.DataLoader(data.dataset, batch_size=batch_size, num_workers=workers,
                                         collate_fn=collator)
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    first = None
    samples = steady_samples = 0
    for batch in loader:  # the iterator joins its workers before it stops
        n = batch["input_ids"].shape[0]
        samples += n
        if first is None:
            first = time.perf_counter()
        else:
            steady_samples += n
    end = time.perf_counter()
    main_cpu = (time.process_time() - cpu) / samples
    worker_cpu = (_children_cpu() - children) / samples if workers else main_cpu
    return {"samples": samples, "epoch": samples / (end - start),
            "steady": steady_samples / max(end - first, 1e-9), "first_batch_s": first - start,
            "worker_cpu": worker_cpu, "main_cpu": main_cpu}


def generator_for(kind: str, cached, style: str):
    # a cold generator must stay cold: each run gets a fresh one
    return negative_generator(style, 0)[0] if kind == "cold" else cached


# ------------------------------------------------------------------------------------------------
# --images synthetic


def run_synthetic(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = args.world or os.path.join(tmp, "world")
        start = time.perf_counter()
        if not os.path.exists(os.path.join(root, "world.json")):
            write_synthetic_world(root, num_train=args.num_train, image_size=args.image_size)
        world = load_synthetic_world(root)
        print(f"synthetic world: {world.num_train} training images at {world.image_size}px, "
              f"ready in {time.perf_counter() - start:.1f}s; {machine_line()}")
        processor = CLIPProcessor.from_pretrained(world.processor_dir)
        transform = build_train_transform(args.train_transform, world.image_size)
        print(f"training images: {transform or 'the evaluation transform'}")
        captions = [s["caption"] for s in load_image_text_dataset(world.train_jsonl, shuffle_buffer=0).dataset]
        modes = negative_modes(args.style, captions)

        print("\n| mode | workers | samples/s (epoch) | samples/s (steady) | first batch (s) |")
        print("|---|---|---|---|---|")
        results = {}
        for name, kind, cached in modes:
            for workers in sorted({0, args.workers}):
                data = load_image_text_dataset(world.train_shards, seed=0, shuffle_buffer=1000)
                collator = FSCCollator(processor, negative_generator=generator_for(kind, cached, args.style),
                                       skip_stats=data.skip_stats, train_transform=transform)
                r = results[(kind, workers)] = measure(data, collator, workers, args.batch_size)
                print(f"| {name} | {workers} | {r['epoch']:.0f} | {r['steady']:.0f} | {r['first_batch_s']:.2f} |",
                      flush=True)

        key = ("cached", args.workers) if ("cached", args.workers) in results else ("none", args.workers)
        value = results[key]["epoch"]
        verdict = "meets" if value >= TARGET else "misses"
        print(f"\n{key[0]} negatives, {key[1]} workers: {value:.0f} samples/s over the epoch, {verdict} the "
              f"target of {TARGET:.0f} samples/s")


# ------------------------------------------------------------------------------------------------
# --images jpeg


def decode_floor(blobs: list[bytes], side: int, draft: bool) -> float:
    """CPU seconds per sample of bare PIL: open, (draft,) decode and bicubic resize to ``side`` x ``side``."""
    start = time.process_time()
    for data in blobs:
        image = Image.open(io.BytesIO(data))
        if draft:
            image.draft("RGB", (side, side))
        image.resize((side, side), Image.Resampling.BICUBIC)
    return (time.process_time() - start) / len(blobs)


def draft_pixel_difference(blobs: list[bytes], side: int) -> dict:
    """What draft decoding changes in the training view: the same crop box (open_clip's rule, drawn on the
    full image) cut from the full decode and, scaled, from the draft decode, both resized to ``side``;
    differences in 0-255 units over all pixels and channels."""
    diffs, reduced = [], 0
    for i, data in enumerate(blobs):
        full, _ = decode_image(data)
        small, _ = decode_image(data, draft_size=side)
        reduced += small.size != full.size
        left, top, w, h = random_resized_crop_box(*full.size, random.Random(i))
        fx, fy = small.width / full.width, small.height / full.height
        a = full.resize((side, side), Image.Resampling.BICUBIC, box=(left, top, left + w, top + h))
        b = small.resize((side, side), Image.Resampling.BICUBIC,
                         box=(left * fx, top * fy, (left + w) * fx, (top + h) * fy))
        diffs.append(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).ravel())
    d = np.concatenate(diffs).astype(np.float64)
    mse = float(np.mean(d ** 2))
    return {"images": len(blobs), "reduced": reduced, "mean": float(d.mean()), "p99": float(np.percentile(d, 99)),
            "max": float(d.max()), "psnr": 10 * math.log10(255 ** 2 / mse) if mse else math.inf}


def clip_processor(side: int) -> CLIPProcessor:
    """openai's ViT-B/32 processor as it loads here: openai's tokenizer (offline) and image processor config."""
    from fsc_clip_hf.tokenizer import clip_tokenizer

    image_processor = CLIPImageProcessorPil(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return CLIPProcessor(image_processor=image_processor, tokenizer=clip_tokenizer())


def run_jpeg(args) -> None:
    from benchmarks._jpeg_world import load_or_write_jpeg_world

    width, height = (int(v) for v in args.jpeg_size.lower().split("x"))
    side = args.input_size
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    drafts = [d.strip() == "on" for d in args.draft.split(",") if d.strip()]
    torch.set_num_threads(1)  # as in a DataLoader worker, so that 0 workers measures one worker's work
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        world = load_or_write_jpeg_world(args.world or os.path.join(tmp, "jpeg"), args.num_train, width, height,
                                         args.quality)
        print(f"JPEG world: {world.num_images} images {width}x{height}, quality {world.quality}, "
              f"{world.mean_bytes / 1024:.0f} KiB on average, ready in {time.perf_counter() - start:.0f}s; "
              f"{machine_line()}")
        processor = clip_processor(side)
        transform = build_train_transform(args.train_transform, side)
        print(f"training images: {transform or 'the evaluation transform'}; input {side}px; "
              f"tokenizer {type(processor.tokenizer).__name__} ({len(processor.tokenizer)} tokens)")
        blobs = []
        for path in world.image_files:
            with open(path, "rb") as f:
                blobs.append(f.read())

        floors = {}
        for draft in drafts:
            decode_floor(blobs[:20], side, draft)  # warm-up
            floors[draft] = min(decode_floor(blobs, side, draft) for _ in range(args.floor_repeats))
        report = {"floor_ms": {on_off(d): 1000 * t for d, t in floors.items()}, "runs": []}
        if True in drafts:
            diff = report["draft_difference"] = draft_pixel_difference(blobs[:args.diff_images], side)
            print(f"draft decoding (image_draft_size={side}) after the training crop: {diff['reduced']} of "
                  f"{diff['images']} images decoded reduced; |difference| mean {diff['mean']:.2f}, 99th percentile "
                  f"{diff['p99']:.0f}, max {diff['max']:.0f} (0-255), PSNR {diff['psnr']:.1f} dB")
        captions = load_captions(world.table)
        modes = negative_modes(args.style, captions, [m.strip() for m in args.negatives.split(",")])
        print("\nfloor (bare PIL decode + bicubic resize, one process, files in memory): "
              + "; ".join(f"draft {on_off(d)} {1000 * t:.2f} ms CPU/sample ({1 / t:.0f} samples/s per core)"
                          for d, t in floors.items()))

        print("\nCPU ms/sample: of the loader workers (with 0 workers, of the one process doing everything), "
              "and of the main process; × floor: the workers' CPU per sample over the floor's.\n")
        print("| source | negatives | draft | workers | samples/s (steady) | workers' CPU ms/sample | × floor | "
              "main CPU ms/sample | first batch (s) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for source in sources:
            path = world.shards if source == "wds" else world.table
            for name, kind, cached in modes:
                for draft in drafts:
                    for workers in sorted({0, args.workers}):
                        data = load_image_text_dataset(path, seed=0, shuffle_buffer=args.shuffle_buffer,
                                                       image_draft_size=side if draft else None)
                        collator = FSCCollator(processor, negative_generator=generator_for(kind, cached, args.style),
                                               skip_stats=data.skip_stats, train_transform=transform)
                        r = measure(data, collator, workers, args.batch_size)
                        r.update(source=source, negatives=kind, draft=on_off(draft), workers=workers,
                                 x_floor=r["worker_cpu"] / floors[draft])
                        report["runs"].append(r)
                        print(f"| {source} | {name} | {on_off(draft)} | {workers} | {r['steady']:.0f} | "
                              f"{1000 * r['worker_cpu']:.2f} | {r['x_floor']:.2f} | {1000 * r['main_cpu']:.2f} | "
                              f"{r['first_batch_s']:.2f} |", flush=True)
        summarise(report, args)
        return report


def on_off(flag: bool) -> str:
    return "on" if flag else "off"


def load_captions(table: str) -> list[str]:
    return [s["caption"] for s in load_image_text_dataset(table, shuffle_buffer=0).dataset]


def summarise(report: dict, args) -> None:
    """Per negatives mode and draft setting: the cost against the floor, and the loader workers a GPU needs."""
    print()
    for r in report["runs"]:
        if r["workers"] != args.workers or r["negatives"] == "none":
            continue
        need = r["needed_workers"] = math.ceil(args.gpu_rate * r["worker_cpu"])
        line = (f"{r['source']}, {r['negatives']} negatives, draft {r['draft']}, {r['workers']} workers: "
                f"{1000 * r['worker_cpu']:.2f} ms CPU per sample ({1 / r['worker_cpu']:.0f} samples/s per worker "
                f"process), {r['x_floor']:.2f}× the floor; a GPU at {args.gpu_rate:.0f} samples/s needs {need} "
                f"loader workers (a core each, besides the training process)")
        if r["negatives"] == "cached":
            verdict = "meets" if r["x_floor"] <= FLOOR_TARGET else "misses"
            line += f"; {verdict} the target of ≤ {FLOOR_TARGET}× the floor"
        print(line)
    for draft, ms in report["floor_ms"].items():
        print(f"floor, draft {draft}: {ms:.2f} ms CPU per sample, so at least {math.ceil(args.gpu_rate * ms / 1000)} "
              f"cores at {args.gpu_rate:.0f} samples/s")


def machine_line() -> str:
    return (f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; torch threads "
            f"{torch.get_num_threads()}")


def main(argv=None) -> None:
    parser = ArgumentParser(prog="benchmark.py data", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default="synthetic", choices=("synthetic", "jpeg"))
    parser.add_argument("--num_train", type=int, default=None, help="images (synthetic: 2000, jpeg: 1000)")
    parser.add_argument("--image_size", type=int, default=64, help="synthetic images' side")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None,
                        help="N in the '0 and N workers' runs (synthetic: 2, jpeg: 1)")
    parser.add_argument("--style", default="fsc-clip", help="hard-negative style")
    parser.add_argument("--world", default=None, help="a folder to write the world to (and reuse) instead of a "
                                                      "temporary one")
    parser.add_argument("--train_transform", default="open_clip", choices=TRAIN_TRANSFORMS,
                        help="training-image transform (the recipes' train_transform)")
    jpeg = parser.add_argument_group("--images jpeg")
    jpeg.add_argument("--jpeg_size", default="640x480", help="WIDTHxHEIGHT of the JPEGs")
    jpeg.add_argument("--quality", type=int, default=90)
    jpeg.add_argument("--input_size", type=int, default=224, help="the model's input side (ViT-B/32: 224)")
    jpeg.add_argument("--sources", default="wds,csv", help="wds (a WebDataset shard) and/or csv")
    jpeg.add_argument("--negatives", default="none,cold,cached", help="modes to run: none, cold, cached")
    jpeg.add_argument("--draft", default="off,on", help="JPEG draft decoding: off and/or on")
    jpeg.add_argument("--shuffle_buffer", type=int, default=1000)
    jpeg.add_argument("--floor_repeats", type=int, default=2, help="passes of the floor; the fastest counts")
    jpeg.add_argument("--diff_images", type=int, default=100, help="images of the draft pixel comparison")
    jpeg.add_argument("--gpu_rate", type=float, default=GPU_RATE, help="samples/s the GPU consumes")
    args = parser.parse_args(argv)
    if args.images == "synthetic":
        args.num_train = args.num_train or 2000
        args.workers = 2 if args.workers is None else args.workers
        run_synthetic(args)
    else:
        args.num_train = args.num_train or 1000
        args.workers = 1 if args.workers is None else args.workers
        return run_jpeg(args)


if __name__ == "__main__":
    main()
