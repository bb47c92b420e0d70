"""Every published recipe parses and carries the published hyperparameters (spec: recipes.md)."""

import pytest
from helpers.repo import RECIPES

from fsc_clip_hf.training.recipes import load_recipe, parse_args

# name: (pretrained, train_data, batch per GPU, GPUs, neg_loss_weight, local_neg_weight)
PUBLISHED = {
    "coco_b32": ("openai/clip-vit-base-patch32", "train_neg_clip", 256, 1, 0.5, 0.2),
    "cc3m_b32": ("openai/clip-vit-base-patch32", "cc3m_100k", 256, 1, 1.0, 0.2),
    "laioncoco_b32": ("openai/clip-vit-base-patch32", "laioncoco_100k", 256, 1, 0.5, 0.2),
    "laioncoco_b16": ("openai/clip-vit-base-patch16", "laioncoco_100k", 128, 1, 0.5, 0.5),
    "laioncoco_l14": ("openai/clip-vit-large-patch14", "laioncoco_100k", 64, 4, 0.5, 0.5),
    "dcxl_laioncoco_b32": ("laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K", "laioncoco_100k", 256, 1, 0.5, 0.2),
}
BASELINE_DATA = {"coco": "train_neg_clip", "cc3m": "cc3m_100k", "laioncoco": "laioncoco_100k"}

# How each published run trained, read from the authors' code (ytaek-oh/fsc-clip: params.py, main.py,
# scheduler.py, data.py, open_clip/transform.py, models/lora_utils; spec: recipes.md). None: not used
# by the run (no LoRA; a table source, which is permuted per epoch rather than buffered).
COLUMNS = ("adam_betas", "adam_epsilon", "max_grad_norm", "weight_decay", "lr_scheduler", "warmup", "precision",
           "train_transform", "lora_style", "gather_with_grad", "drop_last", "shuffle_buffer")
_ADAMW = ((0.9, 0.98), 1e-6, 0.0, 0.1, "cosine", ("authors", 50), "fp16")
AUTHORS_TABLE = {
    "coco_b32":                (*_ADAMW, "open_clip", None, True, True, None),
    "coco_b32_lora":           (*_ADAMW, "open_clip", "authors", True, True, None),
    "cc3m_b32":                (*_ADAMW, "open_clip", None, True, True, 5000),
    "cc3m_b32_lora":           (*_ADAMW, "open_clip", "authors", True, True, 5000),
    "laioncoco_b32":           (*_ADAMW, "open_clip", None, True, True, 5000),
    "laioncoco_b32_lora":      (*_ADAMW, "open_clip", "authors", True, True, 5000),
    "laioncoco_b16":           (*_ADAMW, "open_clip", None, True, True, 5000),
    "laioncoco_b16_lora":      (*_ADAMW, "open_clip", "authors", True, True, 5000),
    "laioncoco_l14":           (*_ADAMW, "open_clip", None, False, True, 5000),
    "laioncoco_l14_lora":      (*_ADAMW, "open_clip", "authors", False, True, 5000),
    "dcxl_laioncoco_b32":      (*_ADAMW, "open_clip", None, True, True, 5000),
    "dcxl_laioncoco_b32_lora": (*_ADAMW, "open_clip", "authors", True, True, 5000),
    "clip_coco_b32":           (*_ADAMW, "open_clip", None, True, True, None),
    "clip_cc3m_b32":           (*_ADAMW, "open_clip", None, True, True, 5000),
    "clip_laioncoco_b32":      (*_ADAMW, "open_clip", None, True, True, 5000),
    "negclip_coco_b32":        (*_ADAMW, "open_clip", None, True, True, None),
    "negclip_cc3m_b32":        (*_ADAMW, "open_clip", None, True, True, 5000),
    "negclip_laioncoco_b32":   (*_ADAMW, "open_clip", None, True, True, 5000),
}


def _parse(name, *overrides):
    # The recipes ask for fp16 on GPUs; this machine checks them on its CPU.
    return parse_args(["--config", f"{name}.yaml", "--output_dir", "unused", "--use_cpu", "true", *overrides])


def _training_row(args) -> tuple:
    """The recipe's values in the order of COLUMNS."""
    precision = "fp16" if args.fp16 and not args.bf16 else "bf16" if args.bf16 and not args.fp16 else "fp32"
    return ((args.adam_beta1, args.adam_beta2), args.adam_epsilon, args.max_grad_norm, args.weight_decay,
            str(args.lr_scheduler_type.value), (args.warmup_style, args.warmup_steps), precision,
            args.train_transform, args.lora_style if args.use_lora else None, args.gather_with_grad,
            args.dataloader_drop_last, args.shuffle_buffer if args.train_data != "train_neg_clip" else None)


@pytest.mark.parametrize("name", sorted(AUTHORS_TABLE))
def test_every_published_recipe_trains_as_the_authors_run(name):
    row = _training_row(_parse(name))
    assert dict(zip(COLUMNS, row)) == dict(zip(COLUMNS, AUTHORS_TABLE[name]))
    assert row[COLUMNS.index("gather_with_grad")] == _parse(name).loss_config().gather_with_grad


# The hard-negative generator as the authors' (text_negatives/ of their fork): every WordNet sense, numbers never
# replaced, any WordNet word, modifier-only swaps and a/an disagreement kept.
AUTHORS_NEGATIVES = {"replace_senses": "all", "replace_count_memo": "process",
                     "replace_numbers": "never", "replace_vocabulary": "wordnet",
                     "swap_skip_modifier_reorder": False, "negatives_article_agreement": False}


@pytest.mark.parametrize("name", sorted(AUTHORS_TABLE))
def test_every_published_recipe_generates_negatives_as_the_authors(name):
    args = _parse(name)
    assert {option: getattr(args, option) for option in AUTHORS_NEGATIVES} == AUTHORS_NEGATIVES


def test_the_table_covers_every_published_recipe():
    published = {p.stem for p in RECIPES.glob("*.yaml") if not p.stem.startswith("demo")}
    assert published == set(AUTHORS_TABLE)


def test_there_is_one_recipe_per_published_run():
    expected = {f"{n}{s}" for n in PUBLISHED for s in ("", "_lora")}
    expected |= {f"{b}_{d}_b32" for b in ("clip", "negclip") for d in BASELINE_DATA}
    assert expected <= {p.stem for p in RECIPES.glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
@pytest.mark.parametrize("lora", [False, True])
def test_fsc_recipes_match_the_published_table(name, lora):
    pretrained, data, batch, gpus, neg_w, local_w = PUBLISHED[name]
    args = _parse(name + ("_lora" if lora else ""))
    assert args.model_name_or_path == pretrained and args.train_data == data
    assert args.per_device_train_batch_size == batch
    assert (args.neg_loss_weight, args.local_neg_weight) == (neg_w, local_w)
    assert args.learning_rate == (5e-5 if lora else 5e-6)
    assert args.use_lora is lora and (not lora or (args.lora_r, args.lora_alpha) == (4, 1.0))
    assert args.num_train_epochs == 5 and args.weight_decay == 0.1 and args.warmup_steps == 50
    assert args.lr_scheduler_type == "cosine"
    assert args.add_random_text_hard_negatives == "fsc-clip"
    loss = args.loss_config()
    assert (loss.loss_name, loss.neg_loss_name, loss.focal_gamma, loss.neg_label_smoothing) == (
        "fsc-clip", "focal_loss", 2.0, 0.02)
    assert loss.apply_global_neg_loss and loss.apply_local_neg_loss and loss.sim_normalizer == "minmax"
    if data != "train_neg_clip":
        # 100K pairs, 5 epochs at the global batch (ViT-L-14: 4 GPUs x 64).
        assert args.max_steps == -(-100_000 // (batch * gpus)) * 5
    if name == "cc3m_b32":
        assert args.caption_key == "coca_captions"


@pytest.mark.parametrize("data", sorted(BASELINE_DATA))
def test_baselines(data):
    clip, negclip = _parse(f"clip_{data}_b32"), _parse(f"negclip_{data}_b32")
    for args in (clip, negclip):
        assert args.loss_name == "clip" and args.learning_rate == 5e-6 and args.per_device_train_batch_size == 256
        assert args.train_data == BASELINE_DATA[data] and args.model_name_or_path == "openai/clip-vit-base-patch32"
    assert clip.add_random_text_hard_negatives is None and negclip.add_random_text_hard_negatives == "negclip"


def test_command_line_overrides_the_recipe():
    args = _parse("laioncoco_b32", "--learning_rate", "1e-5", "--neg_loss_weight", "2")
    assert args.learning_rate == 1e-5 and args.neg_loss_weight == 2.0 and args.local_neg_weight == 0.2


def test_unknown_recipe_option_names_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rate: 1e-5\nneg_los_weight: 0.5\n")
    with pytest.raises(ValueError, match=r"bad\.yaml.*neg_los_weight"):
        load_recipe(str(bad))
    with pytest.raises(FileNotFoundError, match="known recipes"):
        load_recipe("no_such_recipe.yaml")
