"""Forward+backward time and peak memory of the FSC objectives, ours vs. a straightforward version.

The straightforward version computes the local HN term as the method describes it, one caption set
at a time: similarity map → patch weights → weighted patch average → normalise → cosine. Ours
shares the image's patches between its K+1 caption sets and never forms the pooled features (see
`fsc_clip_hf.losses.local_hn_logits`). Everything else in the objective is the same code.

Each implementation runs in its own subprocess so that its peak memory is its own: on CPU the peak
resident set size above the inputs, on CUDA `torch.cuda.max_memory_allocated`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from fsc_clip_hf import losses
from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.losses import FSCLossConfig, fsc_clip_loss, patch_weights

TARGET_TIME, TARGET_MEMORY = 0.5, 0.6


def straightforward_local_hn_logits(
    image_tokens, text_tokens, text_token_mask, neg_text_tokens, neg_text_token_mask, logit_scale, normalizer, sparsify
):
    """The same `(B, 1+K)` scores, computed caption set by caption set."""
    columns = []
    for words, mask in zip([text_tokens, *neg_text_tokens], [text_token_mask, *neg_text_token_mask]):
        with torch.no_grad():
            sim = torch.bmm(words, image_tokens.transpose(1, 2))  # (B, T, P)
        weights = patch_weights(sim, normalizer, sparsify)
        pooled = F.normalize(torch.bmm(weights, image_tokens), dim=-1)  # (B, T, D)
        scores = logit_scale * (pooled * F.normalize(words, dim=-1)).sum(dim=-1)
        scores = scores.masked_fill(~mask.bool(), torch.finfo(scores.dtype).min)
        columns.append(torch.logsumexp(scores, dim=-1))
    return torch.stack(columns, dim=1)


def make_inputs(batch, types, patches, length, dim, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    unit = lambda *shape: F.normalize(torch.randn(*shape, generator=g), dim=-1)  # noqa: E731
    # Captions of 8-20 tokens padded to `length`, as CLIP tokenizers pad them to 77.
    lengths = torch.randint(8, 21, (types + 1, batch), generator=g)
    token_mask = (torch.arange(length) < lengths.unsqueeze(-1)).long()
    token_mask[..., 0] = 0
    inputs = dict(
        image_embeds=unit(batch, dim),
        text_embeds=unit(batch, dim),
        neg_text_embeds=unit(types, batch, dim),
        neg_mask=torch.rand(types, batch, generator=g) > 0.05,
        logit_scale=torch.tensor(100.0),
        image_tokens=torch.randn(batch, patches, dim, generator=g),
        text_tokens=torch.randn(batch, length, dim, generator=g),
        text_token_mask=token_mask[0],
        neg_text_tokens=torch.randn(types, batch, length, dim, generator=g),
        neg_text_token_mask=token_mask[1:],
    )
    return {k: v.to(device) for k, v in inputs.items()}


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run_worker(args) -> None:
    """Runs one implementation; writes timings, memory, values and gradients to `args.result`."""
    torch.set_num_threads(args.threads)
    if args.impl == "straightforward":
        losses.local_hn_logits = straightforward_local_hn_logits
    device = torch.device(args.device)
    leaves = ("image_embeds", "text_embeds", "neg_text_embeds", "image_tokens", "text_tokens", "neg_text_tokens")
    inputs = make_inputs(args.batch, args.types, args.patches, args.length, args.dim, device)
    for name in leaves:
        inputs[name].requires_grad_()
    config = FSCLossConfig()

    def step():
        for name in leaves:
            inputs[name].grad = None
        terms = fsc_clip_loss(**inputs, config=config)
        terms["loss"].backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return terms

    # Peak of the first step: on CPU later steps reuse pages already taken, so the peak resident
    # set size only grows during the first one.
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = peak_rss_bytes()
    terms = step()
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda" else peak_rss_bytes()) - base
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        terms = step()
        times.append(time.perf_counter() - start)
    torch.save(
        {
            "time": statistics.median(times),
            "peak": peak,
            "terms": {k: v.item() for k, v in terms.items()},
            "grads": {name: inputs[name].grad.cpu() for name in leaves},
        },
        args.result,
    )


def main(argv=None) -> None:
    parser = ArgumentParser(prog="benchmark.py loss", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--types", type=int, default=3)
    parser.add_argument("--patches", type=int, default=49)
    parser.add_argument("--length", type=int, default=77)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--impl", choices=["ours", "straightforward"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.impl:
        return run_worker(args)

    print(
        f"FSC objectives, forward+backward: B={args.batch} K={args.types} P={args.patches} T={args.length} "
        f"D={args.dim}, device={args.device}, threads={args.threads}, median of {args.repeats}"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for impl in ("straightforward", "ours"):
            result = Path(tmp) / f"{impl}.pt"
            options = [f"--{k}={v}" for k, v in vars(args).items() if v is not None and k not in ("impl", "result")]
            subprocess.run(
                [sys.executable, str(Path(__file__).resolve().parent.parent / "benchmark.py"), "loss", *options,
                 f"--impl={impl}", f"--result={result}"],
                check=True,
            )
            results[impl] = torch.load(result)

    base, ours = results["straightforward"], results["ours"]
    print(f"{'implementation':<16} {'time (ms)':>10} {'peak (MiB)':>11}")
    for impl, r in results.items():
        print(f"{impl:<16} {1e3 * r['time']:>10.1f} {r['peak'] / 2**20:>11.1f}")
    time_ratio, memory_ratio = ours["time"] / base["time"], ours["peak"] / base["peak"]
    print(f"ratio ours/straightforward: time {time_ratio:.2f} (target <= {TARGET_TIME}), "
          f"memory {memory_ratio:.2f} (target <= {TARGET_MEMORY})")
    value_gap = max(abs(ours["terms"][k] - base["terms"][k]) for k in base["terms"])
    grad_gap = max((ours["grads"][k] - base["grads"][k]).abs().max().item() for k in base["grads"])
    print("loss terms:", json.dumps({k: round(v, 6) for k, v in ours["terms"].items()}))
    print(f"largest difference: loss terms {value_gap:.2e}, gradients {grad_gap:.2e} (target 1e-5)")
    met = time_ratio <= TARGET_TIME and memory_ratio <= TARGET_MEMORY and value_gap <= 1e-5 and grad_gap <= 1e-5
    print("targets met" if met else "targets NOT met")


if __name__ == "__main__":
    main()
