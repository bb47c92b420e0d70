"""Time and peak memory of one optimiser step, CLIP objective vs. FSC objective, same model and batch.

The FSC step encodes B captions plus K·B negatives (K = 3) and the dense tokens. Captions are padded
to the longest of the batch rather than to 77 tokens (the pooled output does not depend on padding;
`--check_padding` prints the difference). Each objective runs in its own subprocess so that its peak
memory is its own: `torch.cuda.max_memory_allocated` on CUDA, peak resident set size on CPU.

    python recipes/benchmark.py step                                  # tiny CLIP, CPU
    python recipes/benchmark.py step --model vit-b32 --batch 256 --device cuda --bf16
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers import CLIPConfig

from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.losses import FSCLossConfig, fsc_clip_loss
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmark.py"
TARGET_TIME_RATIO = 1.6
TARGET_MEMORY_GB = 24


def model_config(name: str) -> CLIPConfig:
    if name == "tiny":
        return tiny_clip_config(vocab_size=49408, image_size=64, patch_size=8, hidden_size=64, projection_dim=64)
    if name == "vit-b32":
        return CLIPConfig()  # the defaults are ViT-B/32's shapes
    raise ValueError(f"--model {name!r}: choose tiny or vit-b32")


def make_batch(config: CLIPConfig, batch: int, types: int, pad_to: int | None, device, seed=0):
    """Captions of 8-20 words between start and end tokens, padded to the longest or to `pad_to`."""
    g = torch.Generator().manual_seed(seed)
    text = config.text_config
    count = batch * (1 + types)
    lengths = torch.randint(10, 23, (count,), generator=g)
    ids = torch.randint(1, text.vocab_size - 2, (count, 77), generator=g)
    length = pad_to or int(lengths.max())
    ids, positions = ids[:, :length], torch.arange(length)
    ids[:, 0] = text.bos_token_id
    ids = torch.where(positions == (lengths - 1).unsqueeze(1), text.eos_token_id, ids)
    mask = (positions < lengths.unsqueeze(1)).long()
    ids = ids.masked_fill(mask == 0, text.pad_token_id)
    image = config.vision_config.image_size
    inputs = dict(
        pixel_values=torch.randn(batch, 3, image, image, generator=g),
        input_ids=ids[:batch],
        attention_mask=mask[:batch],
        neg_input_ids=ids[batch:].view(types, batch, length),
        neg_attention_mask=mask[batch:].view(types, batch, length),
    )
    neg_mask = torch.rand(types, batch, generator=g) > 0.05
    return {k: v.to(device) for k, v in inputs.items()}, neg_mask.to(device)


def run_worker(args) -> dict:
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = FSCCLIPModel(model_config(args.model)).to(device).train()
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.1)
    inputs, neg_mask = make_batch(model.config, args.batch, 3, args.pad_to, device)
    if args.objective == "clip":
        loss_config = FSCLossConfig(loss_name="clip")
        inputs = {k: v for k, v in inputs.items() if not k.startswith("neg_")}
    else:
        loss_config = FSCLossConfig()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)

    def step():
        with autocast:
            out = model(**inputs, return_dense=loss_config.needs_dense_features)
            loss = fsc_clip_loss(out.image_embeds, out.text_embeds, out.neg_text_embeds, neg_mask if out.neg_text_embeds is not None else None,
                                 out.logit_scale, image_tokens=out.image_tokens, text_tokens=out.text_tokens,
                                 text_token_mask=out.text_token_mask, neg_text_tokens=out.neg_text_tokens,
                                 neg_text_token_mask=out.neg_text_token_mask, config=loss_config)["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up: optimiser states, allocator, kernels
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"time": statistics.median(times), "peak": peak, "length": inputs["input_ids"].shape[1]}


def padding_gap(args) -> float:
    """Largest difference of the caption embeddings padded to the longest vs. to 77 tokens."""
    torch.manual_seed(0)
    model = FSCCLIPModel(model_config(args.model)).eval()
    short, _ = make_batch(model.config, 8, 0, None, "cpu")
    full, _ = make_batch(model.config, 8, 0, 77, "cpu")
    with torch.no_grad():
        a = model(pixel_values=short["pixel_values"], input_ids=short["input_ids"], attention_mask=short["attention_mask"])
        b = model(pixel_values=full["pixel_values"], input_ids=full["input_ids"], attention_mask=full["attention_mask"])
    return (a.text_embeds - b.text_embeds).abs().max().item()


def main(argv=None) -> None:
    parser = ArgumentParser(prog="benchmark.py step", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", choices=["tiny", "vit-b32"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--pad_to", type=int, default=None, help="pad captions to this length (default: longest)")
    parser.add_argument("--gradient_checkpointing", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check_padding", action="store_true")
    parser.add_argument("--objective", choices=["clip", "fsc"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.objective:
        print(json.dumps(run_worker(args)))
        return

    print(f"one optimiser step: model={args.model} batch={args.batch} device={args.device} bf16={args.bf16} "
          f"padding={'to ' + str(args.pad_to) if args.pad_to else 'longest'} "
          f"checkpointing={args.gradient_checkpointing}, median of {args.repeats}")
    if args.check_padding:
        print(f"pooled caption embeddings, longest vs. 77-token padding: max difference {padding_gap(args):.2e}")
    results = {}
    for objective in ("clip", "fsc"):
        worker = [a for a in (argv or []) if a != "--check_padding"]
        out = subprocess.run([sys.executable, str(BENCHMARK), "step", *worker, "--objective", objective],
                             check=True, capture_output=True, text=True).stdout
        results[objective] = json.loads(out.strip().splitlines()[-1])
    print(f"{'objective':<10} {'captions':>9} {'tokens':>7} {'step (ms)':>10} {'samples/s':>10} {'peak (GiB)':>11}")
    for objective, r in results.items():
        captions = args.batch * (1 if objective == "clip" else 4)
        print(f"{objective:<10} {captions:>9} {r['length']:>7} {1e3 * r['time']:>10.1f} "
              f"{args.batch / r['time']:>10.1f} {r['peak'] / 2**30:>11.2f}")
    ratio = results["fsc"]["time"] / results["clip"]["time"]
    print(f"FSC / CLIP step time: {ratio:.2f} (target <= {TARGET_TIME_RATIO} on the ViT-B/32-sized model); "
          f"FSC peak {results['fsc']['peak'] / 2**30:.2f} GiB (target < {TARGET_MEMORY_GB} GB at batch 256)")


