"""ColorSwap, MMVP-VLM and SugarCrepe++: each read from files in its published format and scored against a
re-implementation of its official script here (on ColourCLIP's features); bad rows skipped and counted;
Comp-12 and SugarCrepe++ in the results and the report."""

import csv
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F
from helpers.eval_breadth_files import write_colorswap, write_mmvp_vlm, write_sugarcrepe_pp
from helpers.eval_fixtures import RED, ColourCLIP, ColourProcessor
from PIL import Image

from fsc_clip_hf.evaluation.adapters.mmvp_vlm import CATEGORIES
from fsc_clip_hf.evaluation.report import markdown_report
from fsc_clip_hf.evaluation.suite import evaluate_model

pytestmark = pytest.mark.usefixtures("offline_hub")
MODEL, PROCESSOR = ColourCLIP(), ColourProcessor()


def image_features(path) -> torch.Tensor:
    with Image.open(path) as picture:
        pixels = PROCESSOR(images=[picture.convert("RGB")])["pixel_values"]
    return F.normalize(MODEL.get_image_features(pixels), dim=-1)


def text_features(*texts) -> torch.Tensor:
    return F.normalize(MODEL.get_text_features(PROCESSOR(text=list(texts))["input_ids"]), dim=-1)


def run(root, names):
    results = evaluate_model(ColourCLIP(), ColourProcessor(), names, str(root), batch_size=4, show_progress=False)
    assert not results["failed"], results["failed"]
    return results


# ------------------------------------------------------------------------------------------------ ColorSwap


def colorswap_reference(folder) -> dict[str, float]:
    """ColorSwap's image-text-matching protocol (Winoground's, strict) over test.json, in percent."""
    scores = {"text": [], "image": [], "group": []}
    for record in json.loads((folder / "test.json").read_text()):
        images = torch.cat([image_features(folder / record[key]) for key in ("image_1", "image_2")])
        s = text_features(record["caption_1"], record["caption_2"]) @ images.T  # s[c, i]
        text = bool(s[0, 0] > s[1, 0] and s[1, 1] > s[0, 1])
        image = bool(s[0, 0] > s[0, 1] and s[1, 1] > s[1, 0])
        for kind, value in (("text", text), ("image", image), ("group", text and image)):
            scores[kind].append(value)
    return {kind: 100 * sum(values) / len(values) for kind, values in scores.items()}


def test_colorswap_scores_the_test_split_as_winoground_and_counts_bad_rows(tmp_path):
    expected = colorswap_reference(write_colorswap(tmp_path / "clean"))
    assert expected == {"text": 50.0, "image": 25.0, "group": 25.0}  # the swapped colour words tie
    write_colorswap(tmp_path / "data", bad=True)
    record = run(tmp_path / "data", "colorswap")["details"]["colorswap"]
    assert record["subsets"] == pytest.approx(expected) and record["score"] == pytest.approx(expected["group"])
    assert record["item_set"] == "test split, 7 examples (test.json of the GitHub release; the published split has 300)"
    assert record["counts"]["colorswap"] == {"items": 4, "skipped": {"image_absent": 1, "malformed": 2}}
    notes = " ".join(record["notes"])
    assert "test.json [4]: no 'caption_2'" in notes and "test.json [6]: " in notes and "outside" in notes


def test_colorswap_from_the_hubs_parquet_files(tmp_path):
    release = write_colorswap(tmp_path / "release")
    rows = json.loads((release / "test.json").read_text())
    for row in rows:
        for key in ("image_1", "image_2"):
            row[key] = {"bytes": (release / row[key]).read_bytes(), "path": None}
    folder = tmp_path / "data" / "colorswap" / "data"
    os.makedirs(folder)
    pq.write_table(pa.Table.from_pylist(rows), folder / "test-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(rows[:1]), folder / "train-00000-of-00001.parquet")  # not read
    record = run(tmp_path / "data", "colorswap")["details"]["colorswap"]
    assert record["subsets"] == pytest.approx(colorswap_reference(release)) and record["items"] == 4
    assert record["item_set"] == "test split, 4 examples (the Hub's parquet, 1 file(s); the published split has 300)"


# ------------------------------------------------------------------------------------------------ MMVP-VLM


def mmvp_reference(folder) -> tuple[dict, dict]:
    """MMVP's scripts/evaluate_vlm.py with ColourCLIP (logit scale 100, as openai's CLIP), and the companion
    study's Winoground group score per category; both in percent."""
    official, group = dict.fromkeys(CATEGORIES, 0), dict.fromkeys(CATEGORIES, 0)
    num_pairs = 0
    with open(folder / "Questions.csv") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            qid1, qtype1, statement1 = row
            row = next(reader, None)
            if not row:
                break
            qid2, qtype2, statement2 = row
            qid1, qid2 = int(qid1), int(qid2)
            imgs = torch.cat([image_features(folder / "MLLM_VLM Images" / qtype1 / f"{qid}.jpg")
                              for qid in (qid1, qid2)])
            logits = 100 * text_features("a photo of " + statement1, "a photo of " + statement2) @ imgs.T
            probs = logits.softmax(dim=-1)
            pred1 = "img1" if probs[0][0] > 0.5 else "img2"
            pred2 = "img1" if probs[1][0] > 0.5 else "img2"
            gt1 = "img1" if qid1 % 2 == 1 else "img2"
            gt2 = "img1" if qid2 % 2 == 1 else "img2"
            category = CATEGORIES[num_pairs // 15]
            official[category] += pred1 == gt1 and pred2 == gt2
            # The 2x2 group: caption k is the statement of image k.
            s = logits if gt1 == "img1" else logits.flip(0)
            group[category] += bool(s[0, 0] > s[1, 0] and s[1, 1] > s[0, 1] and s[0, 0] > s[0, 1] and s[1, 1] > s[1, 0])
            num_pairs += 1
    per = num_pairs // len(CATEGORIES)
    return {c: n / per * 100 for c, n in official.items()}, {c: n / per * 100 for c, n in group.items()}


def test_mmvp_vlm_reports_its_official_pair_scores_and_the_companion_studys_group_score(tmp_path):
    folder = write_mmvp_vlm(tmp_path)
    official, group = mmvp_reference(folder)
    assert official != group  # the text-score failures count in the group score only
    record = run(tmp_path, "mmvp_vlm")["details"]["mmvp_vlm"]
    assert {c: record["subsets"][f"{c}/official"] for c in CATEGORIES} == pytest.approx(official)
    assert {c: record["subsets"][f"{c}/group"] for c in CATEGORIES} == pytest.approx(group)
    assert record["score"] == pytest.approx(sum(group.values()) / 9)
    assert record["figures"] == {"official": pytest.approx(sum(official.values()) / 9)}
    assert record["items"] == 135 and record["item_set"] == "135 pairs of Questions.csv"


def test_mmvp_vlm_skips_and_counts_bad_pairs_keeping_each_pairs_category(tmp_path):
    write_mmvp_vlm(tmp_path, pairs=2, extra_rows=[
        ("x5", "Orientation", "a red thing", None), (6, "Orientation", "a blue thing", RED),   # not a number
        (7, "Orientation", "a red thing", RED), (9, "Orientation", "a red thing", RED),         # both odd
        (11, "Orientation", "a red thing", RED), (12, "Orientation", "a blue thing", None),     # image absent
        (13, "Orientation", "a red thing", RED)])                                                # unpaired: unread
    record = run(tmp_path, "mmvp_vlm")["details"]["mmvp_vlm"]
    assert record["counts"] == {"Orientation and Direction": {"items": 2, "skipped": {"image_absent": 1}},
                                "(all)": {"items": 0, "skipped": {"malformed": 2}}}
    assert record["score"] is None  # 8 categories have no pair: no headline
    notes = " ".join(record["notes"])
    assert "invalid literal for int() with base 10: 'x5'" in notes and "one must be odd" in notes


# ------------------------------------------------------------------------------------------------ SugarCrepe++


def sugarcrepe_pp_reference(data_path, img_path) -> dict[str, float]:
    """SugarCrepe++'s VLMs/test_*.py (e.g. test_ALIGN.py) with ColourCLIP: per file ITT and TOT, in percent."""
    results = {}
    for fname in os.listdir(data_path):
        total = correct_full = correct_text = 0
        for line in json.load(open(os.path.join(data_path, fname))):
            img_feats = image_features(os.path.join(img_path, line["filename"]))
            p1_feats, p2_feats, neg_feats = (text_features(line[key])
                                             for key in ("caption", "caption2", "negative_caption"))
            cos = torch.nn.CosineSimilarity(dim=1, eps=1e-6)
            cos_p1, cos_p2, cos_neg = cos(img_feats, p1_feats), cos(img_feats, p2_feats), cos(img_feats, neg_feats)
            cos_p1p2, cos_p1_neg = cos(p1_feats, p2_feats), cos(p1_feats, neg_feats)
            cos_p2_neg = cos(p2_feats, neg_feats)
            total += 1
            correct_full += bool(cos_p1 > cos_neg and cos_p2 > cos_neg)
            correct_text += bool(cos_p1p2 > cos_p1_neg and cos_p1p2 > cos_p2_neg)
        subset = fname.removesuffix(".json")
        results[f"{subset}/itt"], results[f"{subset}/tot"] = 100 * correct_full / total, 100 * correct_text / total
    return results


def test_sugarcrepe_pp_itt_and_tot_per_subset_as_its_scripts(tmp_path):
    expected = sugarcrepe_pp_reference(write_sugarcrepe_pp(tmp_path / "clean"), tmp_path / "clean" / "coco" / "val2017")
    assert expected["replace_rel/itt"] == expected["replace_rel/tot"] == 0  # negative == caption: ties, wrong
    assert expected["swap_att/itt"] == expected["swap_att/tot"] == pytest.approx(100 / 3)  # not the same item
    write_sugarcrepe_pp(tmp_path / "data", bad=True)
    record = run(tmp_path / "data", "sugarcrepe_pp")["details"]["sugarcrepe_pp"]
    assert record["subsets"] == pytest.approx(expected)
    itt, tot = (sum(expected[f"{s}/{task}"] for s in ("replace_att", "replace_obj", "replace_rel", "swap_att",
                                                       "swap_obj")) / 5 for task in ("itt", "tot"))
    assert record["score"] == pytest.approx(itt) and record["figures"] == pytest.approx({"itt": itt, "tot": tot})
    assert record["counts"]["swap_obj"] == {"items": 2, "skipped": {"image_absent": 1, "malformed": 1}}
    assert record["item_set"] == "12 records of 5 subset files (the published five hold 4,757)"
    assert any("swap_obj.json [3]: negative_caption is null, not text" in note for note in record["notes"])


def test_a_subset_file_missing_leaves_sugarcrepe_pp_partial(tmp_path):
    write_sugarcrepe_pp(tmp_path)
    (tmp_path / "sugarcrepe_pp" / "swap_att.json").unlink()
    results = run(tmp_path, "sugarcrepe_pp")
    assert results["details"]["sugarcrepe_pp"]["score"] is None
    assert results["details"]["sugarcrepe_pp"]["figures"] == {"itt": None, "tot": None}
    assert "swap_att.json" in results["missing"]["sugarcrepe_pp"]


# ------------------------------------------------------------------------------------------------ the report


def test_comp12_and_sugarcrepe_pp_in_the_results_and_the_report(tmp_path):
    write_colorswap(tmp_path)
    write_mmvp_vlm(tmp_path)
    write_sugarcrepe_pp(tmp_path)
    results = run(tmp_path, "colorswap,mmvp_vlm,sugarcrepe_pp")
    details = results["details"]
    comp12 = (details["colorswap"]["score"] + details["mmvp_vlm"]["score"]) / 2
    assert results["summary"] == {"comp12": pytest.approx(comp12)}
    assert results["coverage"]["comp12"] == {"evaluated": 2, "of": 12} and results["coverage"]["comp"]["evaluated"] == 0
    markdown = markdown_report(results)
    itt, tot = (details["sugarcrepe_pp"]["figures"][task] for task in ("itt", "tot"))
    assert f"| **{results['model']}** | – | – | – | – | {comp12:.1f} | {itt:.1f} | {tot:.1f} |" in markdown
    mmvp = details["mmvp_vlm"]
    assert (f"| **{results['model']}** | {details['colorswap']['score']:.1f} | {mmvp['score']:.1f} | "
            f"{mmvp['figures']['official']:.1f} | {comp12:.1f} | {itt:.1f} | {tot:.1f} |") in markdown
    # openai ViT-B/32 as the companion study published it: ColorSwap 12, MMVP-VLM 6.67, comp_avg 41.15.
    assert "| openai ViT-B/32 (published) | 12.0 | 6.7 | – | 41.2 | – | – |" in markdown
    assert "| MMVP-VLM | Texts/official |" in markdown and "| ColorSwap | group | 25.0 | 12.0 |" in markdown
