"""The published figures (package data) against our summary functions and item sets.

The 202 models of the authors' companion study publish every benchmark's subsets and its headline: our
summary of the subsets must give the headline to 1e-6. Their subset scores are exact fractions, whose
denominators are the item counts of the official item sets: the counts the adapters' docstrings and the
README state are checked here on all 202 models.
"""

import pytest

from fsc_clip_hf.evaluation.adapters import BENCHMARKS, COMP12
from fsc_clip_hf.evaluation.adapters.aro import ARO
from fsc_clip_hf.evaluation.adapters.colorswap import ColorSwap
from fsc_clip_hf.evaluation.adapters.crepe import CREPE
from fsc_clip_hf.evaluation.adapters.eqben import FULL_SET_SIZES, EqBen
from fsc_clip_hf.evaluation.adapters.mmvp_vlm import CATEGORIES, MMVPVLM
from fsc_clip_hf.evaluation.adapters.sugarcrepe import SugarCrepe
from fsc_clip_hf.evaluation.adapters.svo_probes import SVOProbes
from fsc_clip_hf.evaluation.adapters.valse import VALSE
from fsc_clip_hf.evaluation.adapters.vl_checklist import CORPUS, VLCheckList
from fsc_clip_hf.evaluation.adapters.whatsup import WhatsUp
from fsc_clip_hf.evaluation.published import (
    COMP12_TITLES,
    REFERENCE_MODELS,
    SHARED_BENCHMARKS,
    fsc_clip_runs,
    published_model,
    vl_compo_models,
)

# Items per subset: the denominators of the published fractions (the official item sets).
SUGARCREPE_SIZES = {"replace_obj": 1652, "replace_att": 788, "replace_rel": 1406, "swap_obj": 245, "swap_att": 666,
                    "add_obj": 2062, "add_att": 692}
IMAGECODE_SIZES = {"video": 1872, "static": 430}
DENOMINATORS = {
    "aro": {"COCO_Order": 25010, "Flickr30k_Order": 5000},
    "crepe": {"atom": 17698, "swap": 7405, "negate": 17303},  # the _all files
    "eqben": {f"{source}/{kind}": size for source, size in FULL_SET_SIZES.items() for kind in ("text", "group")},
    "imagecode": IMAGECODE_SIZES,
    "sugarcrepe": SUGARCREPE_SIZES,
    "valse": {"existence": 505, "plurals": 851, "counting-hard": 868, "counting-small-quant": 900,
              "counting-adversarial": 691, "relations": 535, "action-replacement": 648, "actant-swap": 949,
              "coreference-standard": 708, "coreference-hard": 104, "foil-it": 943},
    # First 1,000 per corpus file: one VG file; two files of 1,000; VG's state file has 941 items.
    "vl_checklist": {"Relation_spatial": 1000, "Attribute_color": 2000, "Attribute_action": 2000,
                     "Attribute_state": 1882000, "Relation_action": 3000, "Object_Location_center": 12000},
    "whatsup": {"WhatsUp_A": 412, "WhatsUp_B": 408, "COCO_QA_ONE": 2247, "COCO_QA_TWO": 440, "VG_QA_ONE": 1160,
                "VG_QA_TWO": 291},
    "winoground": {"text": 400, "image": 400, "group": 400},
    "colorswap": {"text": 300, "image": 300, "group": 300},  # the test split
    "mmvp_vlm": {f"{category}/{kind}": 15 for category in CATEGORIES for kind in ("text", "image", "group")},
}


def headline(name: str, subsets: dict) -> float:
    """A benchmark's headline from its published subsets, through our summary functions."""
    summaries = {
        "aro": ARO.headline, "crepe": CREPE.headline, "eqben": EqBen.headline, "svo_probes": SVOProbes.headline,
        "valse": VALSE.headline, "vl_checklist": VLCheckList.headline, "whatsup": WhatsUp.headline,
        "colorswap": ColorSwap.headline, "mmvp_vlm": MMVPVLM.headline,
        "sugarcrepe": lambda s: SugarCrepe.headline(s, SUGARCREPE_SIZES),
    }
    if name in summaries:
        return summaries[name](subsets)
    if name == "imagecode":  # pooled over its descriptions, as the adapter summarises the engine's subsets
        return BENCHMARKS[name].summarise({s: {"accuracy": v, "count": IMAGECODE_SIZES[s]} for s, v in subsets.items()})[1]
    return BENCHMARKS[name].summarise({"winoground": {**subsets, "count": 400}})[1]


@pytest.mark.parametrize("name", COMP12)
def test_our_summaries_give_the_published_headlines_of_202_models(name):
    models = vl_compo_models()
    assert len(models) == 202
    worst = max(abs(headline(name, model.subsets[name]) - model.benchmarks[COMP12_TITLES[name]]) for model in models)
    assert worst < 1e-6  # results.csv rounds to 8 decimals


def test_comp12_of_our_summaries_reproduces_the_published_comp_avg_of_202_models():
    # The suite's Comp-12: the plain mean of the 12 headlines, each from the published subsets through our
    # summaries (ColorSwap's group score, MMVP-VLM's group score averaged over its 9 categories, ...).
    for model in vl_compo_models():
        comp12 = sum(headline(name, model.subsets[name]) for name in COMP12) / len(COMP12)
        assert comp12 == pytest.approx(model.comp12, abs=1e-6), model.name
    openai = published_model(REFERENCE_MODELS["openai ViT-B/32"])
    assert (openai.comp12, openai.benchmarks["ColorSwap"], openai.benchmarks["MMVP-VLM"]) == (41.15145899, 12,
                                                                                              6.666666667)


def test_mmvp_vlm_figures_are_group_scores_over_135_pairs():
    for model in vl_compo_models():
        pairs = model.benchmarks["MMVP-VLM"] * 135 / 100
        assert pairs == pytest.approx(round(pairs), abs=1e-6), model.name


# The one published row whose figures are rounded rather than exact: openai ViT-B/32's EqBen AG and
# YouCook2 scores are given to two decimals (14.7, 8.7, 3.04; 49.12, 52.68, 37.34).
ROUNDED = {("ViT-B-32 openai", "eqben", source) for source in ("eqbenag", "eqbenyoucook2")}


@pytest.mark.parametrize("name", sorted(DENOMINATORS))
def test_published_subsets_are_fractions_of_the_official_item_counts(name):
    for model in vl_compo_models():
        for subset, count in DENOMINATORS[name].items():
            if (model.name, name, subset.split("/")[0]) in ROUNDED:
                continue
            correct = model.subsets[name][subset] * count / 100
            assert correct == pytest.approx(round(correct), abs=1e-6), (model.name, subset, count)


def test_svo_probes_figures_are_half_of_a_pair_of_accuracies_with_one_at_100():
    # (pos_acc + neg_acc) / 2 over unique pairs, one of the two exactly 100 % for every model (README).
    pairs = {"subj_neg": (3727, 3728), "verb_neg": (13523, 13592), "obj_neg": (4937, 4911)}
    for model in vl_compo_models():
        for subset, (first, second) in pairs.items():
            value = model.subsets["svo_probes"][subset] / 100
            rests = [2 * value - 1]  # the other accuracy, if one is 100 %
            assert any(abs(rest * n - round(rest * n)) < 1e-6 for rest in rests for n in (first, second)), model.name


def test_vl_checklist_metrics_are_the_13_of_its_corpus():
    assert sorted(vl_compo_models()[0].subsets["vl_checklist"]) == sorted(CORPUS)


def test_fsc_clip_runs_comp_is_the_mean_of_the_eleven():
    runs = fsc_clip_runs()
    assert len(runs) == 12 and round(runs["coco_b32"].comp, 1) == 54.2 and round(runs["laioncoco_l14_lora"].zs, 1) == 62.2
    for run in runs.values():
        assert run.comp == pytest.approx(sum(run.benchmarks.values()) / 11, abs=1e-9)


def test_reference_models_for_the_report():
    openai = published_model(REFERENCE_MODELS["openai ViT-B/32"])
    assert (round(openai.zs, 1), round(openai.i2t_r1, 1), round(openai.t2i_r1, 1)) == (57.1, 64.5, 44.6)
    assert round(openai.benchmarks["SugarCrepe"], 1) == 73.0 and openai.shared_comp() == pytest.approx(
        sum(openai.benchmarks[title] for title in SHARED_BENCHMARKS) / 10)
    assert round(published_model(REFERENCE_MODELS["NegCLIP (COCO)"]).benchmarks["ARO"], 1) == 80.9
    with pytest.raises(KeyError):
        published_model("ViT-Z-99 nowhere")
