"""One training run from `FSCTrainingArguments`: model, data, negatives, trainer, final checkpoint."""

from __future__ import annotations

import dataclasses
import glob
import logging
import math
import os
import tempfile

from ..data import DataEpochCallback, FSCCollator, load_image_text_dataset
from ..data.augment import build_train_transform
from ..data.skips import UnusableData, format_counts
from ..evaluation.benchmarks import check_benchmarks
from ..evaluation.report import write_report
from ..lora.adapters import apply_lora
from ..losses import LossOptions
from ..modeling import FSCCLIPModel
from ..negatives.options import NegativeOptions, generator_from_options, negative_options
from ..options import path_options, recorded_options
from ..processor import load_processor
from ..release.hub import release_from_trainer
from ..release.model_card import LOCAL_PATHS, RUN_RECORD, hub_base_model, hub_datasets, run_settings
from .arguments import FSCTrainingArguments
from .checkpoints import latest_complete_checkpoint, verify_checkpoint
from .engines import models_built_whole, release_model, requested_engine
from .preflight import FINAL_DIR
from .trainer import FSCTrainer

logger = logging.getLogger(__name__)


def build_negative_generator(args: FSCTrainingArguments, train_data: str | None = None):
    """The generator of `add_random_text_hard_negatives` with the negative options of `args`;
    `train_data` (default `args.train_data`) can supply the corpus vocabulary."""
    if not args.add_random_text_hard_negatives:
        return None
    generator = generator_from_options(
        args.add_random_text_hard_negatives,
        seed=args.seed,
        spacy_model=args.spacy_model,
        cache_dir=args.negatives_cache_dir,
        train_data=train_data or args.train_data,
        caption_column=args.caption_column,
        options=negative_options(args),
    )
    logger.info("hard negatives: %r", generator)
    return generator


def _input_side(image_processor) -> int:
    """The square side the model reads (the processor's crop size, or its size when it does not crop)."""
    size = getattr(image_processor, "crop_size", None) or image_processor.size
    return size["height"]


def resolve_resume(args: FSCTrainingArguments) -> str | None:
    """`resume_from_checkpoint`: a folder (verified against its completion marker), or true/last for the
    newest complete and intact checkpoint."""
    value = args.resume_from_checkpoint
    if value is None or str(value).lower() in ("false", "none", ""):
        return None
    if str(value).lower() in ("true", "last"):
        checkpoint = latest_complete_checkpoint(args.output_dir)
        if checkpoint is None:
            logger.warning("no complete checkpoint in %s: starting from the beginning", args.output_dir)
        return checkpoint
    if not os.path.isdir(value):
        raise FileNotFoundError(f"resume_from_checkpoint={value!r} is not a folder")
    verify_checkpoint(value)
    return value


def run_training(args: FSCTrainingArguments, model_path: str | None = None, train_data: str | None = None,
                 processor_path: str | None = None) -> FSCTrainer:
    """Train as `args` say; checkpoints go to `args.output_dir` (then call `save_final`).

    `model_path`, `train_data`, `processor_path` override the arguments (the demo uses them).
    """
    model_path = model_path or args.model_name_or_path
    train_data = train_data or args.train_data
    processor_path = processor_path or args.processor_name_or_path or model_path
    if train_data is None:
        raise ValueError("train_data is required: a named source, a path, a shard pattern or a Hub dataset id")
    logger.info("engine %s; model %s, processor %s, data %s, objective %s, negatives %s",
                requested_engine(args).describe(args.world_size), model_path, processor_path, train_data,
                args.loss_config(), args.add_random_text_hard_negatives)

    if args.eval_benchmarks:
        check_benchmarks(args.eval_benchmarks, args.eval_data_root)  # fail now, not at the first evaluation
    with models_built_whole():
        model = FSCCLIPModel.from_pretrained(model_path)
    # A tokenizer that cannot be the model's (e.g. transformers' placeholder for a folder without one) fails here.
    processor = load_processor(processor_path, model.config.text_config, option="--processor_name_or_path",
                               pixels=args.pixels)
    if args.use_lora:
        model = apply_lora(model, args.lora_r, args.lora_alpha, args.lora_dropout, style=args.lora_style,
                           seed=args.seed)

    data = load_image_text_dataset(
        train_data,
        args.train_data_root,
        caption_key=args.caption_key,
        image_column=args.image_column,
        caption_column=args.caption_column,
        seed=args.seed,
        shuffle_buffer=args.shuffle_buffer,
        image_draft_size=args.image_draft_size,
        process_index=args.process_index,
        num_processes=args.world_size,
        allow_paths_outside_root=args.allow_paths_outside_root,
    )
    if args.max_steps <= 0:
        if data.num_rows is None:
            raise ValueError(f"train_data {train_data!r} has no known length: set max_steps.")
        global_batch = args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps
        # With drop_last the partial batch closing each epoch is not trained on.
        per_epoch = (data.num_rows // global_batch if args.dataloader_drop_last
                     else math.ceil(data.num_rows / global_batch))
        args.max_steps = per_epoch * math.ceil(args.num_train_epochs)
        logger.info("%d samples, global batch %d: max_steps = %d for %s epochs",
                    data.num_rows, global_batch, args.max_steps, args.num_train_epochs)

    collator = FSCCollator(
        processor,
        negative_generator=build_negative_generator(args, train_data),
        train_transform=build_train_transform(args.train_transform, _input_side(processor.image_processor)),
        use_dataset_negatives=args.use_dataset_negatives,
        seed=args.seed,
        skip_stats=data.skip_stats,
    )
    logger.info("negative types: %s; training images: %s; JPEG decoding: %s", collator.negative_types or "none",
                collator.train_transform or "the evaluation transform",
                f"draft, sides >= {args.image_draft_size} px" if args.image_draft_size else "full")
    trainer = FSCTrainer(
        model=model,
        args=args,
        train_dataset=data.dataset,
        data_collator=collator,
        processing_class=processor,
        callbacks=[DataEpochCallback(data.skip_stats, collator, data.dataset, seek=data.seek,
                                     max_skipped_fraction=args.max_skipped_fraction, source=f"train_data {train_data}")],
    )
    # What save_final records: the model, processor and data this run read (the demo passes its own).
    trainer.run_sources = {"model": model_path, "train_data": train_data,
                           "processor": processor_path if processor_path != model_path else None}
    trainer.train(resume_from_checkpoint=resolve_resume(args))
    if trainer.state.global_step == 0:
        # The stream ended before its first batch: the Trainer stops at step 0 as if done.
        raise UnusableData(f"train_data {train_data}: no batch to train on ({format_counts(data.skip_stats.snapshot())})")
    return trainer


def _unused_options(args: FSCTrainingArguments) -> set[str]:
    """Options the run never read: with loss_name clip, those of the hard-negative terms; without a
    negative style, the generator's."""
    unused = set()
    if args.loss_name == "clip":
        unused |= {f.name for f in dataclasses.fields(LossOptions)} - {"loss_name"}
    if not args.add_random_text_hard_negatives:
        unused |= {f.name for f in dataclasses.fields(NegativeOptions)} | {"spacy_model"}
    return unused


def absolute_local_paths(recipe: dict, keys: list[str]) -> list[str]:
    """Make each of ``keys`` whose value is a path on this machine (a file, folder or shard pattern)
    absolute in ``recipe``, so that the recipe runs again from any folder; returns those keys."""
    local = []
    for key in keys:
        value = recipe.get(key)
        if isinstance(value, str) and "://" not in value and (os.path.exists(value) or glob.glob(value)):
            recipe[key] = os.path.abspath(value)
            local.append(key)
    return local


def final_dir(args: FSCTrainingArguments) -> str:
    return os.path.join(args.output_dir, FINAL_DIR)


def save_final(trainer: FSCTrainer) -> str | None:
    """Write `output_dir/final` (plain CLIP weights with adapters merged, processor, model card, recipe,
    LoRA adapter in `adapter/`) and push it when `push_to_hub` is set. The same folder is what goes to
    the Hub: checkpoints and `training_args.bin` stay out of it.

    With `eval_benchmarks`, the final model is evaluated on them first: the card reports the results,
    `results.json` holds them all and `eval/` the report's table and plot. Every process must call this.
    """
    args = trainer.args
    sources = getattr(trainer, "run_sources", {"model": args.model_name_or_path, "train_data": args.train_data,
                                               "processor": args.processor_name_or_path})
    base_model = hub_base_model(args.base_model, sources["model"])
    # What the run was: the recipe's options, with the precision accelerate actually ran (an accelerate
    # config can turn on bf16 while the arguments say false), and the run's effective settings.
    run = run_settings(trainer.accelerator, args)
    recipe = {key: getattr(args, key) for key in recorded_options(type(args)) if key not in _unused_options(args)}
    recipe.update(model_name_or_path=sources["model"], processor_name_or_path=sources["processor"],
                  train_data=sources["train_data"], base_model=base_model, bf16=run["precision"] == "bf16",
                  fp16=run["precision"] == "fp16")
    recipe[RUN_RECORD] = {**run, LOCAL_PATHS: absolute_local_paths(recipe, path_options(type(args)))}
    results, report_files = None, []
    with tempfile.TemporaryDirectory() as report_dir:
        if args.eval_benchmarks:
            logger.info("evaluating the final model on %s", args.eval_benchmarks)
            results = trainer.benchmark_results()
            if trainer.is_world_process_zero():
                paths = write_report(results, report_dir)
                report_files = [paths["results.md"], paths["comp_vs_zs.png"]]  # results.json goes to the root
        model = release_model(trainer)  # every process: under FSDP2 and DeepSpeed the weights are gathered
        with models_built_whole():  # the release builds plain CLIP models on the main process alone
            folder = release_from_trainer(
                trainer,
                base_model=base_model,
                datasets=hub_datasets(sources["train_data"]),
                recipe=recipe,
                results=results,
                result_files=report_files,
                release_dir=final_dir(args),
                model=model,
            )
    if folder is not None:
        logger.info("final checkpoint: %s", folder)
    return None if folder is None else str(folder)
