"""Evaluation throughput: an ImageNet-like zero-shot task through the whole evaluation engine.

Writes WebDataset shards of random JPEGs in the ``clip-benchmark/wds_*`` layout (as
``zeroshot/wds_imagenet1k``) with 1000 class names and 80 templates, then times ``evaluate_model`` on
it with a randomly initialised CLIP of ViT-B/32 shapes (224 px, patch 32, 512-d embeddings): reading
shards, decoding and preprocessing in DataLoader workers, embedding the 80,000 prompts and the images,
and scoring. Prints images/s, prompts/s and the time a 50,000-image ImageNet would take. Scores are
meaningless (random weights); the speed is what is measured.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
from fsc_clip_hf.evaluation.suite import evaluate_model

IMAGENET_IMAGES = 50_000


def write_task(folder: str, images: int, size: int, classes: int, templates: int, shard_size: int = 1000) -> None:
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(folder, "test"), exist_ok=True)
    shards = range(0, images, shard_size)
    for index, start in enumerate(shards):
        with tarfile.open(os.path.join(folder, "test", f"{index}.tar"), "w") as archive:
            for number in range(start, min(start + shard_size, images)):
                buffer = io.BytesIO()
                # Smooth random images: JPEG sizes like photos', not like noise.
                low = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(low).resize((size, size), Image.BILINEAR).save(buffer, format="JPEG", quality=90)
                for name, data in ((f"{number:08d}.jpg", buffer.getvalue()),
                                   (f"{number:08d}.cls", str(number % classes).encode())):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    with open(os.path.join(folder, "test", "nshards.txt"), "w") as handle:
        handle.write(str(len(shards)))
    with open(os.path.join(folder, "classnames.txt"), "w") as handle:
        handle.write("\n".join(f"class number {i}" for i in range(classes)) + "\n")
    with open(os.path.join(folder, "zeroshot_classification_templates.txt"), "w") as handle:
        handle.write("\n".join(f"a photo of a {{c}} in style {i}." for i in range(templates)) + "\n")


def vit_b32(vocab_size: int, eos: int, bos: int, pad: int) -> CLIPConfig:
    return CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=8, max_position_embeddings=77, eos_token_id=eos, bos_token_id=bos,
                         pad_token_id=pad),
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=224, patch_size=32),
        projection_dim=512,
    )


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--image_size", type=int, default=320, help="side of the generated JPEGs")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--templates", type=int, default=80)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--num_workers", type=int, default=8)
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="bfloat16")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as root:
        world = load_synthetic_world(write_synthetic_world(os.path.join(root, "world"), num_train=1, num_test=1))
        tokenizer = CLIPProcessor.from_pretrained(world.processor_dir).tokenizer
        processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 224},
                                                                     crop_size={"height": 224, "width": 224}),
                                  tokenizer=tokenizer)
        config = vit_b32(world.vocab_size, world.eos_token_id, world.bos_token_id, world.pad_token_id)
        model = CLIPModel(config).to(args.device, getattr(torch, args.dtype)).eval()
        write_task(os.path.join(root, "data", "zeroshot", "wds_imagenet1k"), args.images, args.image_size,
                   args.classes, args.templates)

        def run() -> float:
            start = time.perf_counter()
            results = evaluate_model(model, processor, "imagenet1k", os.path.join(root, "data"),
                                     batch_size=args.batch_size, num_workers=args.num_workers, device=args.device,
                                     show_progress=False)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            assert not results["missing"] and not results["failed"], results
            return time.perf_counter() - start

        run()  # warm-up: CUDA context, kernels, page cache of the shards
        total = run()
        prompts = args.classes * args.templates
        # Prompts alone, through the engine's text path (a fresh cache each run).
        from fsc_clip_hf.evaluation.embedding import CLIPEmbedder

        texts = [f"a photo of a class number {c} in style {t}." for c in range(args.classes) for t in range(args.templates)]
        start = time.perf_counter()
        CLIPEmbedder(model, processor, batch_size=args.batch_size, device=args.device, show_progress=False).texts(texts)
        text_seconds = time.perf_counter() - start
        image_seconds = max(total - text_seconds, 1e-9)
        print(f"device {args.device}, {args.dtype}, batch {args.batch_size}, {args.num_workers} workers")
        print(f"zero-shot task, {args.images} images x {args.classes} classes x {args.templates} templates: "
              f"{total:.1f} s")
        print(f"  prompts: {prompts / text_seconds:,.0f}/s ({text_seconds:.1f} s for {prompts:,})")
        print(f"  images (decode + preprocess + embed + score): {args.images / image_seconds:,.0f}/s")
        print(f"  a 50,000-image ImageNet would take about {text_seconds + IMAGENET_IMAGES * image_seconds / args.images:.0f} s")


if __name__ == "__main__":
    main()
