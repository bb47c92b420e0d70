"""Model cards: Hub metadata checked with huggingface_hub's card classes, and the Markdown body."""

from importlib import resources

import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from fsc_clip_hf.model_card import build_model_card

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


def test_baseline_recipe_describes_the_contrastive_objective():
    text = build_model_card({"loss_name": "clip"}, None, BASE, DATASETS, lora=False).text
    assert "NegCLIP" in text and "local hard-negative term" not in text


def test_template_ships_as_package_data():
    template = resources.files("fsc_clip_hf.model_cards").joinpath("template.md")
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
    assert "| Comp | ZS |\n|---|---|\n| 73.8 | 61.0 |" in body  # the synthetic world, in its own table
    assert not any("synthetic" in r.dataset_name.lower() for r in entries)
