"""`FSCTrainingArguments`: `TrainingArguments` plus the model, data, negative and loss options.

Option names follow the published recipes (the authors' open_clip fork), so a recipe reads the same
here: `loss_name`, `neg_loss_weight`, `add_random_text_hard_negatives`, ... Each option is declared once
(`fsc_clip_hf.options`): the loss options in `LossOptions`, the generator's in `NegativeOptions`, the
rest here, with the `--help` group, whether `recipe.yaml` records it, and the values a run can use. The
Trainer's options that a run relies on are restated with `inherited`: its default (or the recipes'),
its help, and what we check and record.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial

from transformers import TrainingArguments

from ..cpu_kernels import CPU_KERNELS
from ..data.augment import TRAIN_TRANSFORMS
from ..data.synthetic.world import EVAL_SPLITS
from ..lora.adapters import LORA_STYLES
from ..losses import FSCLossConfig, LossOptions
from ..negatives.options import NegativeOptions
from ..options import DATA, DEMO, EVALUATION, LORA, MODEL, NEGATIVES, RELEASE, Bounds, check_values, inherited, option
from ..processor import PIXELS
from .schedules import WARMUP_STYLES

POSITIVE = Bounds(0, low_open=True)
NON_NEGATIVE = Bounds(0)
AT_LEAST_ONE = Bounds(1)
FRACTION = Bounds(0, 1, high_open=True)  # [0, 1)


# The Trainer's option `name` restated with what a run checks and records (and another default).
_trainer = partial(inherited, TrainingArguments)


@dataclass
class FSCTrainingArguments(TrainingArguments, LossOptions, NegativeOptions):
    # --- model ---
    model_name_or_path: str = option(
        "openai/clip-vit-base-patch32", "Hub id or local folder of a CLIP checkpoint; 'synthetic' pretrains a tiny "
        "CLIP first.", group=MODEL, recorded=True, path=True)
    processor_name_or_path: str | None = option(
        None, "CLIPProcessor to use; defaults to model_name_or_path.", group=MODEL, recorded=True, path=True)
    pixels: str = option(
        "open_clip", "How images become pixels where they are not cropped by train_transform (evaluation, "
        "train_transform: eval) and in the saved processor: open_clip (open_clip's evaluation transform, as the "
        "authors and the benchmarks' published numbers) | transformers (CLIPImageProcessor's; its centre crop is "
        "one pixel off for a third of image sizes) | folder (as the processor's config says).",
        group=MODEL, recorded=True, choices=PIXELS)
    use_lora: bool = option(False, "Train LoRA adapters instead of all weights.", group=LORA, recorded=True)
    lora_style: str = option(
        "peft", "authors: the authors' lora_utils form (fused q/k/v adapter with xavier A and B, loralib Conv2d on "
        "the patch embedding); peft: peft's standard LoRA (zero B).", group=LORA, recorded=True, choices=LORA_STYLES)
    lora_r: int = option(4, "LoRA rank.", group=LORA, recorded=True, bounds=AT_LEAST_ONE)
    lora_alpha: float = option(1.0, "LoRA alpha (scaling alpha / r).", group=LORA, recorded=True, bounds=POSITIVE)
    lora_dropout: float = option(0.0, "LoRA dropout.", group=LORA, bounds=FRACTION)

    # --- data ---
    train_data: str | None = option(
        None, "Required: train_neg_clip | laioncoco_100k | cc3m_100k | a shard pattern, table (.csv, .tsv, .jsonl), "
        "save_to_disk folder or Hub dataset id | synthetic (the demo's world).", group=DATA, recorded=True,
        path=True)
    train_data_root: str | None = option(None, "Data root of the named sources.", group=DATA, recorded=True,
                                         path=True)
    caption_key: str | None = option(None, "WebDataset caption field (e.g. coca_captions).", group=DATA,
                                     recorded=True)
    image_column: str | None = option(None, "Image column of a table / dataset.", group=DATA, recorded=True)
    caption_column: str | None = option(None, "Caption column of a table / dataset.", group=DATA, recorded=True)
    shuffle_buffer: int = option(1000, "Streaming shuffle buffer (0 = no shuffle).", group=DATA, recorded=True,
                                 bounds=NON_NEGATIVE)
    train_transform: str = option(
        "eval", "open_clip: the authors' training crop (RandomResizedCrop, scale 0.9-1, bicubic, seeded per sample); "
        "eval: the processor's evaluation resize + centre crop.", group=DATA, recorded=True, choices=TRAIN_TRANSFORMS)
    image_draft_size: int | None = option(
        None, "Decode JPEGs at the smallest DCT scale (1/2, 1/4, 1/8) that keeps both sides >= this many pixels (the "
        "model's input side, e.g. 224): 2-3x faster for 640x480 photos, but the pixels differ slightly from a full "
        "decode (docs/training.md). None: full decode (the published recipes).",
        group=DATA, recorded=True, bounds=Bounds(1, also=(None,)))
    use_dataset_negatives: bool = option(
        False, "Add the source's precomputed negatives (NegCLIP TSV) as one more type.", group=NEGATIVES,
        recorded=True)
    max_skipped_fraction: float = option(
        0.1, "Stop the run at the end of an epoch in which more than this share of the samples was skipped "
        "(missing or undecodable images, empty captions, ...); a run that reads no sample at all always fails. "
        "1 never stops.", group=DATA, recorded=True, bounds=Bounds(0, 1))
    allow_paths_outside_root: bool = option(
        False, "Read table rows whose image path is absolute or leaves the image root through '..' (refused and "
        "counted as path_outside_root by default).", group=DATA)

    # --- hard negatives (and the generator's options, NegativeOptions) ---
    add_random_text_hard_negatives: str | None = option(
        None, "Negative style: negclip | replace | ngram_shuffle_N | svlc | fsc-clip (None = no negatives).",
        group=NEGATIVES, recorded=True)
    negatives_cache_dir: str | None = option(
        None, "Candidate cache written by `python -m fsc_clip_hf.negatives precompute`.", group=NEGATIVES,
        path=True)
    spacy_model: str = option("en_core_web_sm", "spaCy English pipeline for the negatives.", group=NEGATIVES,
                              recorded=True)

    # --- evaluation and release ---
    eval_benchmarks: str | None = option(
        None, "Benchmarks evaluated at each evaluation step and on the final model (e.g. 'synthetic' or 'comp'); "
        "images and captions go per_device_eval_batch_size at a time, images are decoded by dataloader_num_workers "
        "workers.", group=EVALUATION, recorded=True)
    eval_data_root: str | None = option(None, "Where the benchmark data lives.", group=EVALUATION, recorded=True,
                                        path=True)
    base_model: str | None = option(
        None, "Hub id of the pretrained CLIP, for the model card when model_name_or_path is a local folder (default: "
        "model_name_or_path if it is a Hub id, else read from the checkpoint; left out of the card when unknown).",
        group=RELEASE)
    output_dir: str | None = _trainer("output_dir", group=RELEASE, recorded=True, path=True)
    overwrite_output_dir: bool = option(
        False, "Start a fresh run in an output_dir that holds checkpoints (otherwise refused: resume with "
        "resume_from_checkpoint: last, or choose another output_dir).", group=RELEASE)
    push_to_hub: bool = _trainer("push_to_hub", group=RELEASE)
    hub_model_id: str | None = _trainer("hub_model_id", group=RELEASE)
    hub_private_repo: bool | None = _trainer("hub_private_repo", group=RELEASE)
    hub_token: str | None = _trainer("hub_token", group=RELEASE)
    hub_strategy: str = _trainer("hub_strategy", "end", group=RELEASE)

    # --- the synthetic demo (model_name_or_path: synthetic) ---
    demo_variants: str | None = option(
        None, "Comma-separated objectives to fine-tune and compare: clip,negclip,fsc-clip.", group=DEMO)
    demo_seeds: str | None = option(
        None, "Comma-separated seeds of the fine-tunes (each variant once per seed; the table shows mean ± sd); "
        "default: seed alone. The base model uses seed.", group=DEMO)
    synthetic_num_train: int = option(5000, "Training pairs of the synthetic world.", group=DEMO,
                                      bounds=AT_LEAST_ONE)
    synthetic_pretrain_steps: int = option(
        1500, "Steps of plain CLIP training that make the synthetic 'pretrained' model.", group=DEMO,
        bounds=AT_LEAST_ONE)
    synthetic_pretrain_learning_rate: float = option(2e-3, "Its learning rate.", group=DEMO, bounds=POSITIVE)
    synthetic_cache_dir: str | None = option(
        None, "Where the world and the pretrained model are cached, each in a folder named by a hash of what made "
        "it (default: output_dir).", group=DEMO, path=True)
    synthetic_eval_split: str = option(
        "eval", "The world's split the demo evaluates: eval (the test split, reported) or validation (for choosing "
        "settings).", group=DEMO, choices=EVAL_SPLITS)

    cpu_kernels: str = option(
        "native", "native: each library picks the CPU kernels fastest on this processor; portable: the AVX2 "
        "kernels of ATen and MKL, which MKL documents as giving the same results on every Intel CPU with AVX2, "
        "so that a CPU run prints the same digits on such machines (the demo's recipes; docs/demo.md). Read "
        "from the command line or the recipe before torch loads.", recorded=True, choices=CPU_KERNELS)

    # --- the Trainer's options that a run records or checks (the recipes' defaults where they differ) ---
    learning_rate: float = _trainer("learning_rate", recorded=True, bounds=POSITIVE)
    weight_decay: float = _trainer("weight_decay", 0.1, recorded=True, bounds=NON_NEGATIVE)
    adam_beta1: float = _trainer("adam_beta1", recorded=True, bounds=FRACTION)
    adam_beta2: float = _trainer("adam_beta2", recorded=True, bounds=FRACTION)
    adam_epsilon: float = _trainer("adam_epsilon", recorded=True, bounds=NON_NEGATIVE)
    max_grad_norm: float = _trainer("max_grad_norm", recorded=True, bounds=NON_NEGATIVE)
    lr_scheduler_type: str = _trainer("lr_scheduler_type", "cosine", recorded=True)
    warmup_steps: float = _trainer("warmup_steps", 50, recorded=True, bounds=NON_NEGATIVE)
    gradient_cache_chunk_size: int | None = option(
        None, "Encode each batch N pairs at a time and backpropagate the whole objective through cached gradients "
        "(GradCache): the gradient of the whole batch, with the towers' activations of N pairs in memory instead of "
        "the batch's, at the cost of encoding every chunk twice. None: one forward over the batch. DDP or one "
        "process.", recorded=True, bounds=Bounds(1, also=(None,)))
    warmup_style: str = option(
        "transformers", "authors: open_clip's cosine_lr, lr*(s+1)/warmup at step s, also over steps the fp16 loss "
        "scaler skips; transformers: transformers' schedule, lr*s/warmup.", recorded=True, choices=WARMUP_STYLES)
    num_train_epochs: float = _trainer("num_train_epochs", recorded=True, bounds=POSITIVE)
    max_steps: int = _trainer("max_steps", recorded=True, bounds=Bounds(1, also=(-1,)))
    per_device_train_batch_size: int = _trainer("per_device_train_batch_size", recorded=True, bounds=AT_LEAST_ONE)
    per_device_eval_batch_size: int = _trainer("per_device_eval_batch_size", bounds=AT_LEAST_ONE)
    gradient_accumulation_steps: int = _trainer("gradient_accumulation_steps", recorded=True, bounds=AT_LEAST_ONE)
    seed: int = _trainer("seed", recorded=True, bounds=Bounds(0, 2**32 - 1))
    bf16: bool = _trainer("bf16", recorded=True)
    fp16: bool = _trainer("fp16", recorded=True)
    dataloader_drop_last: bool = _trainer("dataloader_drop_last", recorded=True)
    dataloader_num_workers: int = _trainer("dataloader_num_workers", bounds=NON_NEGATIVE)
    logging_steps: float = _trainer("logging_steps", bounds=POSITIVE)
    save_steps: float = _trainer("save_steps", bounds=POSITIVE)
    save_total_limit: int | None = _trainer("save_total_limit", bounds=Bounds(1, also=(None,)))
    ddp_timeout: int = _trainer("ddp_timeout", bounds=AT_LEAST_ONE)
    remove_unused_columns: bool = _trainer("remove_unused_columns", False)
    # Every trainable parameter takes part in every step (full, LoRA, every objective; tested), so DDP
    # need not search the graph for unused ones, which PyTorch warns costs time on every rank.
    ddp_find_unused_parameters: bool | None = _trainer("ddp_find_unused_parameters", False)

    def __post_init__(self):
        # Before the Trainer's own checks, on the values as given: every option outside its bounds or
        # choices at once (options.InvalidOptions; recipes.parse_command says where each was set).
        check_values(self)
        super().__post_init__()
        if self.warmup_style == "authors" and self.lr_scheduler_type != "cosine":
            raise ValueError(f"warmup_style='authors' is open_clip's cosine schedule; lr_scheduler_type is "
                             f"{self.lr_scheduler_type!r} (use 'cosine', or warmup_style='transformers')")

    def __getstate__(self) -> dict:
        # The Trainer pickles its arguments into every checkpoint (training_args.bin), also those it
        # uploads: the token stays out of them (it is still used for the upload itself).
        return {**self.__dict__, "hub_token": None}

    def benchmark_options(self) -> dict:
        """How `eval_benchmarks` embeds: the Trainer's own evaluation batch size and loader workers."""
        return {"batch_size": self.per_device_eval_batch_size, "num_workers": self.dataloader_num_workers}

    def loss_config(self) -> FSCLossConfig:
        return FSCLossConfig(**{f.name: getattr(self, f.name) for f in fields(LossOptions)})
