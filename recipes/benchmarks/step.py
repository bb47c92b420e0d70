"""Time and peak memory of one optimiser step, CLIP objective vs. FSC objective, same model and batch.

The FSC step encodes B captions plus K·B negatives (K = 3) and the dense tokens. Captions are padded
to the longest of the batch rather than to 77 tokens (the pooled output does not depend on padding;
`--check_padding` prints the difference). Each step runs in its own subprocess so that its peak
memory is its own: `torch.cuda.max_memory_allocated` on CUDA, peak resident set size on CPU (with glibc
returning every freed block of 64 KiB or more to the system, so that the resident size follows the live
tensors). "step" memory is the peak above what the process holds between steps (weights, optimiser states).

`--gradient_cache_chunk_size N` adds the FSC step in chunks of N (`fsc_clip_hf.gradient_cache`) and prints
its memory and time against the unchunked FSC step. `--engine ddp|fsdp|zero2|zero3 --processes P` runs each
step on P processes (torchrun; batch per process) prepared by accelerate as the Trainer prepares them.

    python recipes/benchmark.py step                                  # tiny CLIP, CPU
    python recipes/benchmark.py step --model vit-b32 --batch 256 --device cuda --bf16
    python recipes/benchmark.py step --model vit-b32 --batch 128 --gradient_cache_chunk_size 16 --repeats 2 --threads 1
    python recipes/benchmark.py step --model vit-b16 --batch 128 --device cuda --bf16 --engine fsdp --processes 4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers import CLIPConfig

from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.gradient_cache import gradient_cached_step
from fsc_clip_hf.losses import FSCLoss, FSCLossConfig
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmark.py"
TARGET_TIME_RATIO = 1.6
TARGET_MEMORY_GB = 24
# The chunked FSC step against the unchunked one (CPU float32, ViT-B/32 shapes, batch 128, chunks of 16).
TARGET_CHUNKED_MEMORY_RATIO = 0.35
TARGET_CHUNKED_TIME_RATIO = 1.4
ENGINES = ("none", "ddp", "fsdp", "zero2", "zero3")
# glibc keeps freed blocks below its (adaptive) mmap threshold in the heap: the resident size would then
# remember the largest step instead of following the live tensors.
CPU_WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}


MODELS = ("tiny", "vit-b32", "vit-b16", "vit-l14")


def model_config(name: str) -> CLIPConfig:
    if name == "tiny":
        return tiny_clip_config(vocab_size=49408, image_size=64, patch_size=8, hidden_size=64, projection_dim=64)
    if name == "vit-b32":
        return CLIPConfig()  # the defaults are ViT-B/32's shapes
    if name == "vit-b16":
        return CLIPConfig(vision_config=dict(patch_size=16))
    if name == "vit-l14":
        return CLIPConfig(text_config=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12),
                          vision_config=dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16,
                                             num_hidden_layers=24, patch_size=14),
                          projection_dim=768)
    raise ValueError(f"--model {name!r}: choose one of {MODELS}")


class StepMemory:
    """Peak memory of a step: in total, and above what the process held when the step began."""

    def __init__(self, device: torch.device):
        self.device = device

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            self.before = torch.cuda.memory_allocated()
        else:
            with open("/proc/self/clear_refs", "w") as handle:  # the peak resident size starts again from now
                handle.write("5")
            self.before = self._status("VmRSS")

    def peak(self) -> int:
        return torch.cuda.max_memory_allocated() if self.device.type == "cuda" else self._status("VmHWM")

    @staticmethod
    def _status(key: str) -> int:
        with open("/proc/self/status") as handle:
            line = next(line for line in handle if line.startswith(key + ":"))
        return int(line.split()[1]) * 1024


def prepare_engine(engine: str, model, optimizer, device: torch.device, batch: int):
    """The model and optimiser prepared by accelerate for `engine` (None: as they are), with the accelerator."""
    if engine == "none":
        return model, optimizer, None
    from accelerate import Accelerator
    from accelerate.utils import DeepSpeedPlugin

    from fsc_clip_hf.training.engines import fsdp_on_cpu, vector_logit_scale

    kwargs = {"cpu": device.type == "cpu"}
    fsdp = {"fsdp_version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "transformer_cls_names_to_wrap": ["CLIPEncoderLayer"], "state_dict_type": "FULL_STATE_DICT"}
    if engine in ("zero2", "zero3"):
        kwargs["deepspeed_plugin"] = DeepSpeedPlugin(hf_ds_config={
            "zero_optimization": {"stage": int(engine[-1])}, "train_micro_batch_size_per_gpu": batch,
            "gradient_accumulation_steps": 1, "bf16": {"enabled": model.dtype == torch.bfloat16}})
    accelerator = Accelerator(**kwargs)
    if engine == "fsdp":
        from accelerate.utils import FullyShardedDataParallelPlugin

        accelerator.state.fsdp_plugin = FullyShardedDataParallelPlugin(**fsdp)
        fsdp_on_cpu(accelerator, fsdp)
    if engine in ("fsdp", "zero2", "zero3"):
        vector_logit_scale(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.1)
    model, optimizer = accelerator.prepare(model, optimizer)
    return model, optimizer, accelerator


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
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = FSCCLIPModel(model_config(args.model)).to(device).train()
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.1)
    model, optimizer, accelerator = prepare_engine(args.engine, model, optimizer, device, args.batch)
    device = accelerator.device if accelerator is not None else device
    inputs, neg_mask = make_batch(model_config(args.model), args.batch, 3, args.pad_to, device)
    if args.objective == "clip":
        loss, neg_mask = FSCLoss(FSCLossConfig(loss_name="clip")), None
        inputs = {k: v for k, v in inputs.items() if not k.startswith("neg_")}
    else:
        loss = FSCLoss(FSCLossConfig())
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)
    backward = accelerator.backward if accelerator is not None else torch.Tensor.backward
    bare = accelerator.unwrap_model(model) if accelerator is not None else model

    def encoder(module):
        def encode(chunk):
            with autocast:
                return module(**chunk, return_dense=loss.config.needs_dense_features)
        return encode

    def step():
        if args.chunked:
            gradient_cached_step(encoder(bare), encoder(model), inputs, lambda out: loss(out, neg_mask),
                                 args.gradient_cache_chunk_size, backward)
        else:
            backward(loss(encoder(model)(inputs), neg_mask)["loss"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up: optimiser states, allocator, kernels
    memory = StepMemory(device)
    times, cpu_times, peaks = [], [], []
    for _ in range(args.repeats):
        memory.start()
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        peaks.append((memory.peak(), memory.peak() - memory.before))
    total = (torch.cuda.max_memory_allocated() if device.type == "cuda"
             else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"time": statistics.median(times), "cpu_time": statistics.median(cpu_times),
            "peak": max(total, *(p for p, _ in peaks)),
            "step_peak": max(p for _, p in peaks), "length": inputs["input_ids"].shape[1]}


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


def run_step(args, argv: list[str], step: str) -> dict:
    """One step variant (clip, fsc, fsc-chunked) in a process of its own (or `--processes` under torchrun)."""
    worker = [a for a in argv if a != "--check_padding"]
    objective = "clip" if step == "clip" else "fsc"
    command = [str(BENCHMARK), "step", *worker, "--objective", objective, *(["--chunked"] if step == "fsc-chunked" else [])]
    if args.engine != "none":
        command = ["-m", "torch.distributed.run", "--nproc_per_node", str(args.processes), *command]
    env = dict(os.environ, **(CPU_WORKER_ENV if args.device == "cpu" else {}))
    out = subprocess.run([sys.executable, *command], check=True, capture_output=True, text=True, env=env).stdout
    return json.loads([line for line in out.strip().splitlines() if line.startswith("{")][-1])


def main(argv=None) -> None:
    parser = ArgumentParser(prog="benchmark.py step", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", choices=MODELS)
    parser.add_argument("--batch", type=int, default=64, help="pairs per process")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--pad_to", type=int, default=None, help="pad captions to this length (default: longest)")
    parser.add_argument("--gradient_checkpointing", action="store_true")
    parser.add_argument("--gradient_cache_chunk_size", type=int, default=None,
                        help="also run the FSC step in chunks of this many pairs and compare it with the unchunked one")
    parser.add_argument("--engine", default="none", choices=ENGINES,
                        help="run each step on --processes processes with this engine (accelerate-prepared)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per process (default: torch's); on a machine shared with other work, 1 "
                             "keeps threads from waiting on each other, which weighs most on small chunks")
    parser.add_argument("--check_padding", action="store_true")
    parser.add_argument("--objective", choices=["clip", "fsc"], help=argparse.SUPPRESS)
    parser.add_argument("--chunked", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.objective:
        result = run_worker(args)
        if int(os.environ.get("RANK", "0")) == 0:
            print(json.dumps(result))
        return
    if args.gradient_cache_chunk_size and args.engine not in ("none", "ddp"):
        parser.error(f"--gradient_cache_chunk_size runs with --engine none or ddp (the Trainer refuses it with "
                     f"{args.engine})")

    engine = "one process" if args.engine == "none" else f"{args.engine} x {args.processes} processes"
    print(f"one optimiser step: model={args.model} batch={args.batch} per process ({engine}) device={args.device} "
          f"bf16={args.bf16} padding={'to ' + str(args.pad_to) if args.pad_to else 'longest'} "
          f"checkpointing={args.gradient_checkpointing} threads={args.threads or torch.get_num_threads()}, "
          f"median of {args.repeats}")
    if args.check_padding:
        print(f"pooled caption embeddings, longest vs. 77-token padding: max difference {padding_gap(args):.2e}")
    steps = ["clip", "fsc", *(["fsc-chunked"] if args.gradient_cache_chunk_size else [])]
    results = {step: run_step(args, list(argv or []), step) for step in steps}
    print(f"{'step':<18} {'captions':>9} {'tokens':>7} {'step (ms)':>10} {'CPU (ms)':>9} {'samples/s':>10} "
          f"{'peak (GiB)':>11} {'step peak (GiB)':>16}")
    for step, r in results.items():
        captions = args.batch * (1 if step == "clip" else 4)
        name = step if step != "fsc-chunked" else f"fsc, chunks of {args.gradient_cache_chunk_size}"
        print(f"{name:<18} {captions:>9} {r['length']:>7} {1e3 * r['time']:>10.1f} {1e3 * r['cpu_time']:>9.1f} "
              f"{args.batch / r['time']:>10.1f} {r['peak'] / 2**30:>11.2f} {r['step_peak'] / 2**30:>16.2f}")
    ratio = results["fsc"]["time"] / results["clip"]["time"]
    print(f"FSC / CLIP step time: {ratio:.2f} (target <= {TARGET_TIME_RATIO} on the ViT-B/32-sized model); "
          f"FSC peak {results['fsc']['peak'] / 2**30:.2f} GiB (target < {TARGET_MEMORY_GB} GB at batch 256)")
    if args.gradient_cache_chunk_size:
        chunked, whole = results["fsc-chunked"], results["fsc"]
        # On a CPU shared with other work, the process's CPU time per step is the steadier measure of the work.
        cpu = (f", CPU time {chunked['cpu_time'] / whole['cpu_time']:.2f}" if args.device == "cpu" else "")
        print(f"FSC in chunks of {args.gradient_cache_chunk_size} / unchunked: step peak memory "
              f"{chunked['step_peak'] / whole['step_peak']:.2f} (target <= {TARGET_CHUNKED_MEMORY_RATIO}), "
              f"peak memory {chunked['peak'] / whole['peak']:.2f}; step time {chunked['time'] / whole['time']:.2f}"
              f"{cpu} (target <= {TARGET_CHUNKED_TIME_RATIO}; CPU float32, ViT-B/32 shapes, batch 128, chunks of 16)")
