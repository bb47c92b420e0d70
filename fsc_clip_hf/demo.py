"""The offline demo: FSC-CLIP on the embedded synthetic world, from nothing to a before/after table.

1. write the synthetic world (images, captions, eval sets, a tokenizer) into `output_dir/world`;
2. train a tiny CLIP on it with the plain CLIP loss: the "pretrained" model (cached in
   `output_dir/pretrained`, reused by later runs);
3. fine-tune it with each objective of `demo_variants` (default: the recipe's own) through the same
   pipeline as the published recipes, each into `output_dir/<variant>/final`;
4. evaluate the pretrained model and every fine-tuned one on the synthetic compositional,
   zero-shot and retrieval tasks and print the table (also `output_dir/demo_results.{json,md,png}`),
   with each model's full report in `output_dir/eval/<model>/results.{json,md}` and `comp_vs_zs.png`.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from transformers import set_seed

from .data.synthetic import load_synthetic_world, write_synthetic_world
from .modeling import FSCCLIPModel, tiny_clip_config
from .pipeline import final_dir, run_training, save_final
from .training_args import FSCTrainingArguments

logger = logging.getLogger(__name__)

# What each compared objective changes in the recipe.
VARIANTS = {
    "clip": dict(loss_name="clip", add_random_text_hard_negatives=None),
    "negclip": dict(loss_name="clip", add_random_text_hard_negatives="negclip"),
    "fsc-clip": dict(loss_name="fsc-clip", add_random_text_hard_negatives="fsc-clip"),
}


def _variant_args(args: FSCTrainingArguments, **changes) -> FSCTrainingArguments:
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if f.init}
    fields.update(changes)
    return type(args)(**fields)


def ensure_world(args: FSCTrainingArguments) -> str:
    root = os.path.join(args.output_dir, "world")
    if not os.path.exists(os.path.join(root, "world.json")):
        logger.info("writing the synthetic world (%d training pairs) to %s", args.synthetic_num_train, root)
        write_synthetic_world(root, seed=args.seed, num_train=args.synthetic_num_train)
    return root


def ensure_pretrained(args: FSCTrainingArguments, world_dir: str) -> str:
    """A tiny CLIP trained from scratch on the world with the plain CLIP loss (cached)."""
    run = _variant_args(
        args,
        output_dir=os.path.join(args.output_dir, "pretrained"),
        loss_name="clip",
        add_random_text_hard_negatives=None,
        use_lora=False,
        max_steps=args.synthetic_pretrain_steps,
        learning_rate=args.synthetic_pretrain_learning_rate,
        warmup_steps=min(50, args.synthetic_pretrain_steps // 10),
        save_strategy="no",
        push_to_hub=False,
        resume_from_checkpoint=None,
    )
    if os.path.exists(os.path.join(final_dir(run), "model.safetensors")):
        logger.info("reusing the pretrained synthetic CLIP in %s", final_dir(run))
        return final_dir(run)
    world = load_synthetic_world(world_dir)
    init_dir = os.path.join(run.output_dir, "init")
    config = tiny_clip_config(
        vocab_size=world.vocab_size,
        image_size=world.image_size,
        patch_size=8,
        hidden_size=64,
        projection_dim=64,
        num_layers=2,
        num_heads=4,
        eos_token_id=world.eos_token_id,
        bos_token_id=world.bos_token_id,
        pad_token_id=world.pad_token_id,
    )
    set_seed(args.seed)  # the initial weights, like everything after them, follow from the seed
    FSCCLIPModel(config).save_pretrained(init_dir)
    logger.info("pretraining a tiny CLIP on the synthetic world for %d steps", run.max_steps)
    trainer = run_training(run, model_path=init_dir, train_data=_shards(world_dir), processor_path=_processor(world_dir))
    return save_final(trainer) or final_dir(run)


def _shards(world_dir: str) -> str:
    return os.path.join(world_dir, "train-shards")


def _processor(world_dir: str) -> str:
    return os.path.join(world_dir, "processor")


def run_demo(args: FSCTrainingArguments) -> dict:
    # Checked before the world and the pretrained model, which take minutes.
    variants = [v.strip() for v in args.demo_variants.split(",")] if args.demo_variants else [None]
    unknown = [v for v in variants if v is not None and v not in VARIANTS]
    if unknown:
        raise ValueError(f"demo_variants: unknown {unknown}; choose from {sorted(VARIANTS)}")
    world_dir = ensure_world(args)
    pretrained = ensure_pretrained(args, world_dir)

    checkpoints = {"pretrained": pretrained}
    for variant in variants:
        name = variant or args.loss_name
        run = _variant_args(args, output_dir=os.path.join(args.output_dir, name), **VARIANTS.get(variant, {}),
                            eval_data_root=args.eval_data_root or os.path.join(world_dir, "eval"))
        trainer = run_training(run, model_path=pretrained, train_data=_shards(world_dir),
                               processor_path=_processor(world_dir))
        checkpoints[name] = save_final(trainer) or final_dir(run)
    return report(args, checkpoints, world_dir)


def report(args: FSCTrainingArguments, checkpoints: dict[str, str], world_dir: str) -> dict:
    from .evaluation.synthetic_report import evaluate_checkpoints

    return evaluate_checkpoints(checkpoints, os.path.join(world_dir, "eval"), args.output_dir)
