"""The offline demo: FSC-CLIP on the embedded synthetic world, from nothing to a before/after table.

1. write the synthetic world (images, captions, test and validation sets, a tokenizer) into
   `<cache>/world/<key>` (cache: `synthetic_cache_dir`, default `output_dir`);
2. train a tiny CLIP on it with the plain CLIP loss: the "pretrained" model, cached in
   `<cache>/pretrained/<key>`. Each key is a hash of everything that made the folder (settings and the
   world's code), so a changed setting never reuses a stale world or base;
3. fine-tune it with each objective of `demo_variants` (default: the recipe's own) for each seed of
   `demo_seeds` (default: `seed`), through the same pipeline as the published recipes, each into
   `output_dir/<variant>/seed<k>/final`;
4. evaluate the pretrained model and every fine-tune on the world's `synthetic_eval_split` and print
   the table (mean ± sd over seeds) and the verdict (`output_dir/demo_results.{json,md}`,
   `demo_comp_vs_zs.png`), with each model's full report in `output_dir/eval/<model>[/seed<k>]/`.

Runs are deterministic: everything follows from the seeds, and torch uses a fixed number of threads
(:data:`THREADS`), since the order of a parallel reduction changes the last bits of a sum.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os

import torch
from transformers import set_seed

from .. import cpu_kernels
from ..data.synthetic import load_synthetic_world, render, scenes, tokenizer, world, write_synthetic_world
from ..modeling import FSCCLIPModel, tiny_clip_config
from ..release.hub import record_results
from .arguments import FSCTrainingArguments
from .pipeline import final_dir, run_training, save_final

logger = logging.getLogger(__name__)

THREADS = 2  # docs/demo.md's figures are measured on 2 cores with this many threads
SPLITS = ("eval", "validation")

# What each compared objective changes in the recipe.
VARIANTS = {
    "clip": dict(loss_name="clip", add_random_text_hard_negatives=None),
    "negclip": dict(loss_name="clip", add_random_text_hard_negatives="negclip"),
    "fsc-clip": dict(loss_name="fsc-clip", add_random_text_hard_negatives="fsc-clip"),
}

# The tiny towers: 8x8 patches of 8 pixels on the 64-pixel images, 2 layers of width 64.
TINY_MODEL = dict(patch_size=8, hidden_size=64, projection_dim=64, num_layers=2, num_heads=4)


def _variant_args(args: FSCTrainingArguments, **changes) -> FSCTrainingArguments:
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if f.init}
    fields.update(changes)
    return type(args)(**fields)


def _key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def world_settings(args: FSCTrainingArguments) -> dict:
    """What the world's files follow from: its arguments and the code that draws and writes it."""
    code = hashlib.sha256("".join(inspect.getsource(m) for m in (scenes, render, tokenizer, world)).encode())
    return {"seed": args.seed, "num_train": args.synthetic_num_train, "code": code.hexdigest()}


def pretrain_settings(args: FSCTrainingArguments) -> dict:
    """What the pretrained model follows from: the world, every setting of its training, and the CPU kernels
    that run it (another kernel gives other weights)."""
    return {"world": world_settings(args), "model": TINY_MODEL, "steps": args.synthetic_pretrain_steps,
            "learning_rate": args.synthetic_pretrain_learning_rate, "batch": args.per_device_train_batch_size,
            "warmup": _pretrain_warmup(args), "weight_decay": args.weight_decay,
            "schedule": str(args.lr_scheduler_type), "shuffle_buffer": args.shuffle_buffer, "threads": THREADS,
            "kernels": cpu_kernels.in_use()}


def _pretrain_warmup(args: FSCTrainingArguments) -> int:
    return min(50, args.synthetic_pretrain_steps // 10)


def _cache(args: FSCTrainingArguments) -> str:
    return args.synthetic_cache_dir or args.output_dir


def ensure_world(args: FSCTrainingArguments) -> str:
    root = os.path.join(_cache(args), "world", _key(world_settings(args)))
    if not os.path.exists(os.path.join(root, "world.json")):
        logger.info("writing the synthetic world (%d training pairs) to %s", args.synthetic_num_train, root)
        # Written beside and renamed: an interrupted write never looks like a finished world.
        partial = root + ".partial"
        write_synthetic_world(partial, seed=args.seed, num_train=args.synthetic_num_train)
        os.replace(partial, root)
    return root


def ensure_pretrained(args: FSCTrainingArguments, world_dir: str) -> str:
    """A tiny CLIP trained from scratch on the world with the plain CLIP loss (cached)."""
    run = _variant_args(
        args,
        output_dir=os.path.join(_cache(args), "pretrained", _key(pretrain_settings(args))),
        loss_name="clip",
        add_random_text_hard_negatives=None,
        use_lora=False,
        max_steps=args.synthetic_pretrain_steps,
        learning_rate=args.synthetic_pretrain_learning_rate,
        warmup_steps=_pretrain_warmup(args),
        save_strategy="no",
        push_to_hub=False,
        resume_from_checkpoint=None,
    )
    if os.path.exists(os.path.join(final_dir(run), "model.safetensors")):
        logger.info("reusing the pretrained synthetic CLIP in %s", final_dir(run))
        return final_dir(run)
    meta = load_synthetic_world(world_dir)
    init_dir = os.path.join(run.output_dir, "init")
    config = tiny_clip_config(vocab_size=meta.vocab_size, image_size=meta.image_size, **TINY_MODEL,
                              eos_token_id=meta.eos_token_id, bos_token_id=meta.bos_token_id,
                              pad_token_id=meta.pad_token_id)
    set_seed(args.seed)  # the initial weights, like everything after them, follow from the seed
    FSCCLIPModel(config).save_pretrained(init_dir)
    logger.info("pretraining a tiny CLIP on the synthetic world for %d steps", run.max_steps)
    trainer = run_training(run, model_path=init_dir, train_data=_shards(world_dir), processor_path=_processor(world_dir))
    return save_final(trainer) or final_dir(run)


def _shards(world_dir: str) -> str:
    return os.path.join(world_dir, "train-shards")


def _processor(world_dir: str) -> str:
    return os.path.join(world_dir, "processor")


def demo_seeds(args: FSCTrainingArguments) -> list[int]:
    return [int(s) for s in args.demo_seeds.split(",")] if args.demo_seeds else [args.seed]


def fine_tune_args(args: FSCTrainingArguments, variant: str | None, seed: int, world_dir: str) -> FSCTrainingArguments:
    """One fine-tune's arguments: the recipe with the variant's objective and the seed. With
    ``replace_vocabulary: corpus`` and no file, replacements come from the world's training captions."""
    name = variant or args.loss_name
    changes = dict(VARIANTS.get(variant, {}), seed=seed, output_dir=os.path.join(args.output_dir, name, f"seed{seed}"),
                   eval_data_root=args.eval_data_root or os.path.join(world_dir, args.synthetic_eval_split))
    if args.replace_vocabulary == "corpus" and not args.replace_vocabulary_file:
        changes["replace_vocabulary_file"] = os.path.join(world_dir, "train.jsonl")
    return _variant_args(args, **changes)


def run_demo(args: FSCTrainingArguments) -> dict:
    # Checked before the world and the pretrained model, which take minutes.
    variants = [v.strip() for v in args.demo_variants.split(",")] if args.demo_variants else [None]
    unknown = [v for v in variants if v is not None and v not in VARIANTS]
    if unknown:
        raise ValueError(f"demo_variants: unknown {unknown}; choose from {sorted(VARIANTS)}")
    if args.synthetic_eval_split not in SPLITS:
        raise ValueError(f"synthetic_eval_split must be one of {SPLITS}, got {args.synthetic_eval_split!r}")
    seeds = demo_seeds(args)
    torch.set_num_threads(THREADS)
    world_dir = ensure_world(args)
    pretrained = ensure_pretrained(args, world_dir)

    checkpoints = {"pretrained": {None: pretrained}}
    for variant in variants:
        name = variant or args.loss_name
        checkpoints[name] = {}
        for seed in seeds:
            run = fine_tune_args(args, variant, seed, world_dir)
            trainer = run_training(run, model_path=pretrained, train_data=_shards(world_dir),
                                   processor_path=_processor(world_dir))
            checkpoints[name][seed] = save_final(trainer) or final_dir(run)
    return report(args, checkpoints, world_dir)


def report(args: FSCTrainingArguments, checkpoints: dict[str, dict], world_dir: str) -> dict:
    """Evaluate every model, print and write the comparison, and put each model's results in its card."""
    from ..evaluation.synthetic_report import evaluate_checkpoints, report_dir

    results = evaluate_checkpoints(checkpoints, os.path.join(world_dir, args.synthetic_eval_split), args.output_dir)
    for name, paths in checkpoints.items():
        for seed, path in paths.items():
            reported = report_dir(args.output_dir, name, seed)
            with open(os.path.join(reported, "results.json"), encoding="utf-8") as handle:
                full = json.load(handle)
            record_results(path, full, [os.path.join(reported, "results.md"), os.path.join(reported, "comp_vs_zs.png")])
    return results
