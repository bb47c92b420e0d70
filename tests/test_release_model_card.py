"""Model cards: Hub metadata checked with huggingface_hub's card classes, and the Markdown body."""

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from helpers.repo import REPO
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from fsc_clip_hf import cpu_kernels
from fsc_clip_hf.release.model_card import PAPER_URL, build_model_card, hub_base_model, public_recipe, run_settings
from fsc_clip_hf.training.recipes import parse_args

BASE = "openai/clip-vit-base-patch32"
DATASETS = ["ytaek-oh/laioncoco-subset-100k"]
RECIPE = {
    "arch": "ViT-B-32",
    "learning_rate": 5e-6,
    "num_train_epochs": 5,
    "loss_name": "fsc-clip",
    "neg_loss_weight": 0.5,
    "local_neg_weight": 0.2,
    "neg_loss_name": "focal_loss",
    "focal_gamma": 2.0,
    "neg_label_smoothing": 0.02,
    "hub_token": "hf_doNotPublishThis",
    "lora": {"r": 4, "target_modules": ["q_proj", "v_proj"]},
}
RESULTS = {
    "summary": {"comp": 54.2, "zs": 55.7, "i2t_r1": 66.3, "t2i_r1": 58.3},
    "benchmarks": {"ARO": 85.1, "SugarCrepe": 85.1, "Winoground": 9.5},
    "zeroshot": {"imagenet1k": 60.12},
    "retrieval": {"coco": {"i2t_r1": 66.0, "i2t_r5": 86.9, "t2i_r1": 50.1}},
}


def _metadata(card: ModelCard) -> dict:
    # What the Hub reads: the YAML block of the README, as text.
    return yaml.safe_load(str(card).split("---\n")[1])


def test_metadata_has_the_hub_fields_and_round_trips_through_the_card_classes():
    card = build_model_card(RECIPE, RESULTS, BASE, DATASETS, lora=False, repo_id="me/fsc-clip-b32")
    metadata = _metadata(card)
    assert metadata["base_model"] == BASE
    assert metadata["datasets"] == DATASETS
    assert metadata["license"] == "apache-2.0"
    assert metadata["library_name"] == "transformers"
    assert metadata["pipeline_tag"] == "zero-shot-image-classification"
    assert {"clip", "fsc-clip", "compositionality"} <= set(metadata["tags"]) and "lora" not in metadata["tags"]

    reparsed = ModelCard(str(card))  # raises on a malformed YAML block or model-index
    assert reparsed.data.to_dict() == card.data.to_dict()
    name, results = model_index_to_eval_results(metadata["model-index"])
    assert name == "fsc-clip-b32"
    scores = {r.metric_name: r.metric_value for r in results}
    assert {k: scores[k] for k in ("Comp", "ZS", "I2T Ret", "T2I Ret")} == {
        "Comp": 54.2, "ZS": 55.7, "I2T Ret": 66.3, "T2I Ret": 58.3}
    assert scores["ARO accuracy"] == 85.1 and scores["imagenet1k top-1"] == 60.12
    assert scores["I2T R@5"] == 86.9
    assert all(r.task_type == "zero-shot-image-classification" for r in results)


def test_body_reports_model_recipe_results_and_citation():
    text = build_model_card(RECIPE, RESULTS, BASE, DATASETS, lora=False, repo_id="me/fsc-clip-b32").text
    assert f"[`{BASE}`](https://huggingface.co/{BASE})" in text
    assert "https://huggingface.co/datasets/ytaek-oh/laioncoco-subset-100k" in text
    assert "| `neg_loss_weight` | 0.5 |" in text and "| `lora.target_modules` | q_proj, v_proj |" in text
    assert "local hard-negative term" in text and "focal loss" in text
    assert "| Comp | ZS | I2T Ret | T2I Ret |\n|---|---|---|---|\n| 54.2 | 55.7 | 66.3 | 58.3 |" in text
    assert "| Winoground | 9.5 |" in text and "| imagenet1k | top-1 | 60.1 |" in text
    assert "| coco | 66.0 | 86.9 | 50.1 |" in text
    assert 'pipeline("zero-shot-image-classification", model="me/fsc-clip-b32")' in text
    assert "@inproceedings{oh2024preserving" in text
    assert "Vision-Linguistic Compositionality" in text and "Oh, Youngtaek" in text
    assert "adapter" not in text


def test_secrets_of_the_recipe_never_reach_the_card():
    card = build_model_card(RECIPE, RESULTS, BASE, DATASETS, lora=False)
    assert "hf_doNotPublishThis" not in str(card) and "hub_token" not in str(card)


def test_lora_card_tags_lora_and_explains_the_adapter():
    card = build_model_card(RECIPE, RESULTS, BASE, DATASETS, lora=True, repo_id="me/fsc-clip-b32-lora")
    assert "lora" in _metadata(card)["tags"]
    assert "LoRA, merged into the weights" in card.text
    assert 'PeftModel.from_pretrained(base, "me/fsc-clip-b32-lora", subfolder="adapter")' in card.text


def test_card_without_results_or_recipe_is_still_valid():
    card = build_model_card(None, None, BASE, [], lora=False)
    metadata = _metadata(card)
    assert "model-index" not in metadata and "model_name" not in metadata and "datasets" not in metadata
    assert ModelCard(str(card)).data.base_model == BASE
    assert "# fsc-clip-clip-vit-base-patch32" in card.text
    assert "Not evaluated yet" in card.text and "Not recorded." in card.text


@pytest.mark.parametrize("recipe, name, says, never", [
    ({"loss_name": "clip"}, "clip", "plain **CLIP** contrastive loss", ["NegCLIP", "local hard-negative term",
                                                                         "Hard-negative captions are generated"]),
    ({"loss_name": "clip", "add_random_text_hard_negatives": "negclip"}, "negclip", "fine-tuned with **NegCLIP**",
     ["local hard-negative term", "FSC-CLIP**"]),
    ({"loss_name": "fsc-clip", "add_random_text_hard_negatives": "fsc-clip"}, "fsc-clip",
     "fine-tuned with **FSC-CLIP**", ["NegCLIP**"]),
])
def test_the_card_states_the_objective_actually_used(recipe, name, says, never):
    text = build_model_card(recipe, None, BASE, DATASETS, lora=False).text
    assert f"# {name}-clip-vit-base-patch32" in text and says in text
    assert f"`loss_name: {recipe['loss_name']}`" in text
    assert not any(phrase in text for phrase in never)


def test_the_card_links_the_paper_and_tags_it_for_the_hub():
    card = build_model_card(RECIPE, None, BASE, DATASETS, lora=False)
    assert PAPER_URL == "https://arxiv.org/abs/2410.05210" and f"]({PAPER_URL})" in card.text
    assert "arxiv:2410.05210" in _metadata(card)["tags"]


def test_values_are_plain_in_the_card(tmp_path):
    from transformers import SchedulerType

    card = build_model_card({**RECIPE, "lr_scheduler_type": SchedulerType.COSINE, "output": tmp_path}, None, BASE,
                            DATASETS, lora=False)
    assert "| `lr_scheduler_type` | cosine |" in card.text and "SchedulerType" not in card.text
    assert public_recipe({"lr_scheduler_type": SchedulerType.COSINE})["lr_scheduler_type"] == "cosine"


def test_no_base_model_and_no_local_path_reach_the_card(tmp_path):
    checkpoint = tmp_path / "scratch" / "clip"
    recipe = {"model_name_or_path": str(checkpoint), "train_data": str(tmp_path / "data" / "pairs.jsonl"),
              "loss_name": "clip"}
    card = build_model_card(recipe, None, None, [], lora=True)
    assert str(tmp_path) not in str(card) and "huggingface.co//" not in str(card)
    assert "base_model" not in _metadata(card) and "Base model" not in card.text
    assert "* `pairs.jsonl` (local data)" in card.text
    assert ModelCard(str(card)).data.base_model is None
    with pytest.raises(ValueError, match="not a Hub id"):
        build_model_card(recipe, None, str(checkpoint), [], lora=False)


def test_the_data_is_described_as_given():
    negclip = build_model_card({"train_data": "train_neg_clip"}, None, BASE, [], lora=False)
    assert "* `train_neg_clip`: COCO 2014 captions with NegCLIP's hard negatives" in negclip.text
    hub = build_model_card({"train_data": "me/my-pairs"}, None, BASE, [], lora=False)
    assert _metadata(hub)["datasets"] == ["me/my-pairs"] and "huggingface.co/datasets/me/my-pairs" in hub.text
    laion = build_model_card({"train_data": "laioncoco_100k"}, None, BASE, [], lora=False)
    assert _metadata(laion)["datasets"] == ["ytaek-oh/laioncoco-subset-100k"]


def test_the_base_model_is_the_option_or_the_hub_id_the_checkpoint_came_from(tmp_path):
    assert hub_base_model("me/base", str(tmp_path)) == "me/base"
    assert hub_base_model(None, BASE) == BASE
    snapshot = tmp_path / "hub" / "models--laion--CLIP-ViT-B-32-DataComp.XL-s13B-b90K" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    assert hub_base_model(None, str(snapshot)) == "laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K"
    downloaded = tmp_path / "clip-b32"
    downloaded.mkdir()
    (downloaded / "config.json").write_text(json.dumps({"_name_or_path": BASE}))
    assert hub_base_model(None, str(downloaded)) == BASE
    (downloaded / "config.json").write_text(json.dumps({"_name_or_path": str(tmp_path / "elsewhere")}))
    assert hub_base_model(None, str(downloaded)) is None
    (downloaded / "config.json").write_text("{}")
    assert hub_base_model(None, str(downloaded)) is None
    assert hub_base_model(None, str(tmp_path / "missing" / "folder")) is None


class _Accelerator:
    def __init__(self, mixed_precision, native_amp, processes=1, distributed="NO", device="cuda"):
        from accelerate.utils import DistributedType

        self.mixed_precision, self.native_amp, self.num_processes = mixed_precision, native_amp, processes
        self.device = torch.device(device)
        self.distributed_type = DistributedType[distributed]
        self.state = SimpleNamespace(deepspeed_plugin=SimpleNamespace(zero_stage=2),
                                     fsdp_plugin=SimpleNamespace(fsdp_version=2))


@pytest.mark.parametrize("accelerator, expected", [
    (_Accelerator("bf16", True), {"precision": "bf16", "processes": 1, "global_batch_size": 32, "distributed": "no"}),
    (_Accelerator("fp16", False), {"precision": "float32", "processes": 1, "global_batch_size": 32,
                                   "distributed": "no"}),  # fp16 asked on a CPU: accelerate runs float32
    (_Accelerator("no", False, 4, "MULTI_GPU"), {"precision": "float32", "processes": 4, "global_batch_size": 128,
                                                 "distributed": "multi_gpu", "gather": "with gradient"}),
    (_Accelerator("bf16", False, 2, "DEEPSPEED"), {"precision": "bf16", "processes": 2, "global_batch_size": 64,
                                                   "distributed": "deepspeed", "zero_stage": 2,
                                                   "gather": "with gradient"}),
    (_Accelerator("no", False, 2, "FSDP"), {"precision": "float32", "processes": 2, "global_batch_size": 64,
                                            "distributed": "fsdp", "fsdp_version": 2, "gather": "with gradient"}),
    # On a CPU, the kernels that ran: what the digits of the run depend on.
    (_Accelerator("no", False, device="cpu"), {"precision": "float32", "processes": 1, "global_batch_size": 32,
                                               "distributed": "no", "cpu_kernels": cpu_kernels.in_use()}),
])
def test_run_settings_come_from_accelerates_state(accelerator, expected):
    args = SimpleNamespace(per_device_train_batch_size=16, gradient_accumulation_steps=2, gather_with_grad=True)
    assert run_settings(accelerator, args) == expected
    card = build_model_card({**RECIPE, "run": expected}, None, BASE, DATASETS, lora=False).text
    assert f"| Processes | {expected['processes']} (global batch {expected['global_batch_size']})" in card
    assert "| Precision | " + expected["precision"] in card and "`run`" not in card
    engine = {"deepspeed": "| Distributed engine | deepspeed ZeRO-2 |", "fsdp": "| Distributed engine | fsdp (FSDP2) |",
              "multi_gpu": "| Distributed engine | multi_gpu |"}.get(expected["distributed"])
    assert (engine in card) if engine else ("Distributed engine" not in card)


def test_template_ships_as_package_data():
    template = resources.files("fsc_clip_hf.release").joinpath("model_card_template.md")
    assert template.is_file() and "{{ card_data }}" in template.read_text(encoding="utf-8")


def test_averages_over_part_of_a_suite_stay_out_of_the_card():
    # As the evaluation suite writes them: Comp over 2 of the 11 benchmarks, ZS and Ret complete.
    results = {**RESULTS, "coverage": {"comp": {"evaluated": 2, "of": 11}, "zs": {"evaluated": 21, "of": 21},
                                       "retrieval": {"evaluated": 2, "of": 2}},
               "synthetic": {"summary": {"comp": 73.8, "zs": 61.0}}}
    card = build_model_card(RECIPE, results, BASE, DATASETS, lora=False, repo_id="me/fsc-clip-b32")
    _, entries = model_index_to_eval_results(_metadata(card)["model-index"])
    scores = {r.metric_name: r.metric_value for r in entries}
    assert "Comp" not in scores and scores["ZS"] == 55.7 and scores["T2I Ret"] == 58.3
    assert scores["ARO accuracy"] == 85.1  # a benchmark's own score is over the whole benchmark
    body = str(card)
    assert "| ZS | I2T Ret | T2I Ret |" in body and "54.2" not in body
    assert "Comp (2 of 11)" in body
    assert "| Comp (without swap_rel) | ZS |\n|---|---|\n| 73.8 | 61.0 |" in body  # the synthetic world, own table
    assert not any("synthetic" in r.dataset_name.lower() for r in entries)


def test_a_run_from_a_local_checkpoint_records_what_accelerate_ran_and_its_card_names_no_local_path(tiny_world,
                                                                                                     tmp_path):
    # `accelerate launch` with an accelerate config asking for bf16 sets this variable; the arguments say bf16: false.
    env = {**os.environ, "ACCELERATE_MIXED_PRECISION": "bf16", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    out = tmp_path / "run"
    command = [sys.executable, str(REPO / "recipes" / "train.py"), "--model_name_or_path", tiny_world["model"],
               "--processor_name_or_path", tiny_world["processor"], "--train_data", tiny_world["shards"],
               "--output_dir", str(out), "--use_cpu", "true", "--loss_name", "clip", "--max_steps", "1",
               "--per_device_train_batch_size", "4", "--save_strategy", "no", "--report_to", "none",
               "--dataloader_num_workers", "0", "--lr_scheduler_type", "cosine", "--disable_tqdm", "true"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    final = out / "final"
    assert f"results: final model: {final}" in done.stdout  # the run says where its results went

    card = ModelCard.load(final / "README.md")  # the Hub's card classes read it back
    assert card.data.base_model is None and "clip" in card.data.tags
    recipe = yaml.safe_load((final / "recipe.yaml").read_text())
    assert str(tmp_path) not in str(card) and str(Path(tiny_world["model"]).parent) not in str(card)
    assert "SchedulerType" not in (final / "recipe.yaml").read_text()
    assert recipe["bf16"] is True and recipe["run"]["precision"] == "bf16" and recipe["run"]["processes"] == 1
    # The recipe re-runs: local paths recorded absolute, and named as local.
    assert recipe["lr_scheduler_type"] == "cosine" and recipe["train_data"] == tiny_world["shards"]
    assert recipe["model_name_or_path"] == tiny_world["model"] and recipe["output_dir"] == str(out)
    assert set(recipe["run"]["local_paths"]) == {"model_name_or_path", "processor_name_or_path", "train_data",
                                                 "output_dir"}
    assert "neg_loss_weight" not in recipe and "apply_local_neg_loss" not in recipe  # not read by loss_name: clip
    assert "| Precision | bf16 mixed precision |" in card.text and "plain **CLIP** contrastive loss" in card.text
    # A release's recipe.yaml reads back as a recipe (its `run` record is not an option).
    assert parse_args(["--config", str(final / "recipe.yaml"), "--output_dir", str(tmp_path / "again"),
                       "--use_cpu", "true", "--train_data", tiny_world["shards"]]).lr_scheduler_type == "cosine"
