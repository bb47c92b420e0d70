"""`FSCTrainingArguments`: `TrainingArguments` plus the model, data, negative and loss options.

Option names follow the published recipes (the authors' open_clip fork), so a recipe reads the same
here: `loss_name`, `neg_loss_weight`, `add_random_text_hard_negatives`, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from transformers import TrainingArguments

from ..data.augment import TRAIN_TRANSFORMS
from ..lora.adapters import LORA_STYLES
from ..losses import FSCLossConfig
from ..negatives.options import NEGATIVE_OPTIONS
from .schedules import WARMUP_STYLES


@dataclass
class FSCTrainingArguments(TrainingArguments):
    # --- model ---
    model_name_or_path: str = field(
        default="openai/clip-vit-base-patch32",
        metadata={"help": "Hub id or local folder of a CLIP checkpoint; 'synthetic' pretrains a tiny CLIP first."},
    )
    processor_name_or_path: str | None = field(
        default=None, metadata={"help": "CLIPProcessor to use; defaults to model_name_or_path."}
    )
    pixels: str = field(
        default="open_clip",
        metadata={"help": "How images become pixels where they are not cropped by train_transform (evaluation, "
                          "train_transform: eval) and in the saved processor: open_clip (open_clip's evaluation "
                          "transform, as the authors and the benchmarks' published numbers) | transformers "
                          "(CLIPImageProcessor's; its centre crop is one pixel off for a third of image sizes) | "
                          "folder (as the processor's config says)."},
    )
    use_lora: bool = field(default=False, metadata={"help": "Train LoRA adapters instead of all weights."})
    lora_r: int = field(default=4, metadata={"help": "LoRA rank."})
    lora_alpha: float = field(default=1.0, metadata={"help": "LoRA alpha (scaling alpha / r)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    lora_style: str = field(
        default="peft",
        metadata={"help": "authors: the authors' lora_utils form (fused q/k/v adapter with xavier A and B, "
                          "loralib Conv2d on the patch embedding); peft: peft's standard LoRA (zero B)."},
    )

    # --- data ---
    train_data: str | None = field(
        default=None,
        metadata={"help": "Required: train_neg_clip | laioncoco_100k | cc3m_100k | a shard pattern, table (.csv, .tsv, "
                          ".jsonl), save_to_disk folder or Hub dataset id | synthetic (the demo's world)."},
    )
    train_data_root: str | None = field(default=None, metadata={"help": "Data root of the named sources."})
    caption_key: str | None = field(default=None, metadata={"help": "WebDataset caption field (e.g. coca_captions)."})
    image_column: str | None = field(default=None, metadata={"help": "Image column of a table / dataset."})
    caption_column: str | None = field(default=None, metadata={"help": "Caption column of a table / dataset."})
    shuffle_buffer: int = field(default=1000, metadata={"help": "Streaming shuffle buffer (0 = no shuffle)."})
    train_transform: str = field(
        default="eval",
        metadata={"help": "open_clip: the authors' training crop (RandomResizedCrop, scale 0.9-1, bicubic, seeded "
                          "per sample); eval: the processor's evaluation resize + centre crop."},
    )
    image_draft_size: int | None = field(
        default=None,
        metadata={"help": "Decode JPEGs at the smallest DCT scale (1/2, 1/4, 1/8) that keeps both sides >= this "
                          "many pixels (the model's input side, e.g. 224): 2-3x faster for 640x480 photos, but "
                          "the pixels differ slightly from a full decode (README, Training). None: full decode "
                          "(the published recipes)."},
    )
    use_dataset_negatives: bool = field(
        default=False, metadata={"help": "Add the source's precomputed negatives (NegCLIP TSV) as one more type."}
    )
    allow_paths_outside_root: bool = field(
        default=False,
        metadata={"help": "Read table rows whose image path is absolute or leaves the image root through '..' "
                          "(refused and counted as path_outside_root by default)."},
    )

    # --- hard negatives ---
    add_random_text_hard_negatives: str | None = field(
        default=None,
        metadata={"help": "Negative style: negclip | replace | ngram_shuffle_N | svlc | fsc-clip (None = no negatives)."},
    )
    negatives_cache_dir: str | None = field(
        default=None, metadata={"help": "Candidate cache written by `python -m fsc_clip_hf.negatives precompute`."}
    )
    spacy_model: str = field(default="en_core_web_sm", metadata={"help": "spaCy English pipeline for the negatives."})
    # Generator options (fsc_clip_hf.negatives.options.NEGATIVE_OPTIONS); defaults are the authors'.
    replace_senses: str = field(default="all", metadata={"help": NEGATIVE_OPTIONS["replace_senses"][2]})
    replace_count_memo: str = field(
        default="process", metadata={"help": NEGATIVE_OPTIONS["replace_count_memo"][2]})
    replace_numbers: str = field(default="never", metadata={"help": NEGATIVE_OPTIONS["replace_numbers"][2]})
    replace_vocabulary: str = field(default="wordnet", metadata={"help": NEGATIVE_OPTIONS["replace_vocabulary"][2]})
    replace_vocabulary_file: str | None = field(
        default=None, metadata={"help": NEGATIVE_OPTIONS["replace_vocabulary_file"][2]})
    replace_vocabulary_min_count: int = field(
        default=1, metadata={"help": NEGATIVE_OPTIONS["replace_vocabulary_min_count"][2]})
    swap_skip_modifier_reorder: bool = field(
        default=False, metadata={"help": NEGATIVE_OPTIONS["swap_skip_modifier_reorder"][2]})
    negatives_article_agreement: bool = field(
        default=False, metadata={"help": NEGATIVE_OPTIONS["negatives_article_agreement"][2]})

    # --- objective (see FSCLossConfig) ---
    loss_name: str = field(default="fsc-clip", metadata={"help": "clip | fsc-clip."})
    neg_loss_name: str = field(default="focal_loss", metadata={"help": "cross_entropy | focal_loss."})
    focal_gamma: float = field(default=2.0, metadata={"help": "Focal loss gamma."})
    neg_label_smoothing: float | None = field(default=0.02, metadata={"help": "Negative-aware label smoothing."})
    apply_global_neg_loss: bool = field(default=True, metadata={"help": "Global hard-negative term."})
    neg_loss_weight: float = field(default=0.5, metadata={"help": "Weight of the global HN term."})
    apply_local_neg_loss: bool = field(default=True, metadata={"help": "Local (token-level) hard-negative term."})
    local_neg_weight: float = field(default=0.2, metadata={"help": "Weight of the local HN term."})
    sim_normalizer: str = field(default="minmax", metadata={"help": "minmax | softmax."})
    sim_sparsify: bool = field(default=False, metadata={"help": "Zero patch weights below 1/P (minmax only)."})
    gather_with_grad: bool = field(
        default=True,
        metadata={"help": "Multi-process contrastive term: gather embeddings with gradient (the exact global-batch "
                          "gradient) or without (the authors' runs: 1/world_size of it)."},
    )
    hn_global_mean: bool = field(
        default=False,
        metadata={"help": "Multi-process hard-negative terms: mean over the global batch's rows with a negative (the "
                          "exact global-batch gradient) instead of each process's own mean (the authors')."},
    )

    # --- evaluation and release ---
    eval_benchmarks: str | None = field(
        default=None,
        metadata={"help": "Benchmarks evaluated at each evaluation step and on the final model (e.g. 'synthetic' "
                          "or 'comp'); images and captions go per_device_eval_batch_size at a time, images are "
                          "decoded by dataloader_num_workers workers."},
    )
    eval_data_root: str | None = field(default=None, metadata={"help": "Where the benchmark data lives."})
    base_model: str | None = field(
        default=None,
        metadata={"help": "Hub id of the pretrained CLIP, for the model card when model_name_or_path is a local "
                          "folder (default: model_name_or_path if it is a Hub id, else read from the checkpoint; "
                          "left out of the card when unknown)."},
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start a fresh run in an output_dir that holds checkpoints (otherwise refused: resume "
                          "with resume_from_checkpoint: last, or choose another output_dir)."},
    )
    # --- the synthetic demo (model_name_or_path: synthetic) ---
    demo_variants: str | None = field(
        default=None, metadata={"help": "Comma-separated objectives to fine-tune and compare: clip,negclip,fsc-clip."}
    )
    demo_seeds: str | None = field(
        default=None, metadata={"help": "Comma-separated seeds of the fine-tunes (each variant once per seed; the "
                                        "table shows mean ± sd); default: seed alone. The base model uses seed."}
    )
    synthetic_num_train: int = field(default=5000, metadata={"help": "Training pairs of the synthetic world."})
    synthetic_pretrain_steps: int = field(
        default=1500, metadata={"help": "Steps of plain CLIP training that make the synthetic 'pretrained' model."}
    )
    synthetic_pretrain_learning_rate: float = field(default=2e-3, metadata={"help": "Its learning rate."})
    synthetic_cache_dir: str | None = field(
        default=None, metadata={"help": "Where the world and the pretrained model are cached, each in a folder named "
                                        "by a hash of what made it (default: output_dir)."}
    )
    synthetic_eval_split: str = field(
        default="eval", metadata={"help": "The world's split the demo evaluates: eval (the test split, reported) or "
                                          "validation (for choosing settings)."}
    )

    # Recipe defaults that differ from TrainingArguments' own.
    weight_decay: float = 0.1
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = 50
    remove_unused_columns: bool = False
    hub_strategy: str = "end"
    # Every trainable parameter takes part in every step (full, LoRA, every objective; tested), so DDP
    # need not search the graph for unused ones, which PyTorch warns costs time on every rank.
    ddp_find_unused_parameters: bool | None = False
    warmup_style: str = field(
        default="transformers",
        metadata={"help": "authors: open_clip's cosine_lr, lr*(s+1)/warmup at step s, also over steps the fp16 "
                          "loss scaler skips; transformers: transformers' schedule, lr*s/warmup."},
    )

    def __post_init__(self):
        super().__post_init__()
        for name, allowed in (("lora_style", LORA_STYLES), ("train_transform", TRAIN_TRANSFORMS),
                              ("warmup_style", WARMUP_STYLES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}; expected one of {allowed}")
        if self.image_draft_size is not None and self.image_draft_size < 1:
            raise ValueError(f"image_draft_size={self.image_draft_size}; expected a side in pixels (e.g. 224) or None")
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
        return FSCLossConfig(**{f.name: getattr(self, f.name) for f in fields(FSCLossConfig)})
