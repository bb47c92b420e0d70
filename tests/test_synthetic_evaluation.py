"""The synthetic evaluation on a hand-made eval folder and a model whose similarities the test controls."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from fsc_clip_hf.evaluation.suite import evaluate_model
from fsc_clip_hf.evaluation.synthetic_report import (
    aggregate,
    markdown_table,
    plot_comp_vs_zs,
    synthetic_scores,
    verdict,
)


class ColourProcessor:
    """Images become their mean (red, blue); captions their counts of the words red and blue."""

    def __call__(self, images=None, text=None, **kwargs):
        if images is not None:
            means = [torch.from_numpy(np.asarray(image, dtype=np.float32)).reshape(-1, 3).mean(0) for image in images]
            return {"pixel_values": torch.stack([torch.stack([m[0], m[2]]) for m in means])}
        counts = [[t.split().count("red") + 1e-3, t.split().count("blue") + 2e-3] for t in text]
        return {"input_ids": torch.tensor(counts)}


class ColourModel:
    def eval(self):
        return self

    def get_image_features(self, pixel_values):
        return SimpleNamespace(pooler_output=pixel_values)

    def get_text_features(self, input_ids):
        return SimpleNamespace(pooler_output=input_ids)


@pytest.fixture
def eval_dir(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "images" / "red.png")
    Image.new("RGB", (8, 8), (0, 0, 255)).save(tmp_path / "images" / "blue.png")

    def jsonl(path, rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    jsonl(tmp_path / "compositional.jsonl", [
        {"image": "images/red.png", "caption": "a red square", "negatives": ["a blue square"], "subset": "swap_att"},
        # Same word counts in caption and negative: a tie, which counts as wrong.
        {"image": "images/blue.png", "caption": "a blue square", "negatives": ["a square blue"], "subset": "swap_att"},
        {"image": "images/blue.png", "caption": "a blue circle", "negatives": ["a red circle", "a red red circle"],
         "subset": "replace_att"},
    ])
    jsonl(tmp_path / "zeroshot" / "colour" / "test.jsonl", [{"image": "images/red.png", "label": 0},
                                                            {"image": "images/blue.png", "label": 0}])
    (tmp_path / "zeroshot" / "colour" / "classnames.txt").write_text("red\nblue\n")
    (tmp_path / "zeroshot" / "colour" / "templates.txt").write_text("a {c} shape\na photo of {c}\n")
    jsonl(tmp_path / "retrieval.jsonl", [{"image": "images/red.png", "captions": ["red", "a red thing"]},
                                         {"image": "images/blue.png", "captions": ["red blue red"]},
                                         # Captions repeated on another image: retrieving either is right.
                                         {"image": "images/red.png", "captions": ["red", "a red thing"]}])
    return str(tmp_path)


def test_scores_follow_the_similarities(eval_dir, tmp_path):
    result = synthetic_scores(evaluate_model(ColourModel(), ColourProcessor(), "synthetic", eval_dir, show_progress=False))
    assert result["subsets"]["comp/swap_att"] == pytest.approx(50.0)  # one right, one tie
    assert result["subsets"]["comp/replace_att"] == pytest.approx(100.0)
    assert result["summary"]["comp"] == pytest.approx(75.0)  # mean over subsets, not items
    # swap_rel stays out of the headline Comp (chance for every model on the validation split).
    with_rel = shutil.copytree(eval_dir, tmp_path.parent / f"{tmp_path.name}_rel")
    rel = json.loads((with_rel / "compositional.jsonl").read_text().splitlines()[0]) | {"subset": "swap_rel"}
    with open(with_rel / "compositional.jsonl", "a") as f:
        f.write(json.dumps(rel) + "\n")
    again = synthetic_scores(evaluate_model(ColourModel(), ColourProcessor(), "synthetic", str(with_rel),
                                            show_progress=False))
    assert again["subsets"]["comp/swap_rel"] == pytest.approx(100.0) and again["summary"]["comp"] == pytest.approx(75.0)
    assert result["subsets"]["zs/colour"] == pytest.approx(50.0)  # the blue image is labelled 0 (red)
    # Image→text: each red image's best caption is a "red" or "a red thing" (cos 1.0 against 0.89 for
    # "red blue red"), right for both whichever copy is ranked first; the blue image's is "red blue red",
    # the only one with blue in it: all right.
    assert result["summary"]["i2t_r1"] == pytest.approx(100.0)
    # Text→image: the two "red"s and "a red thing"s → a red image, right whichever (both red images have
    # both captions); "red blue red" leans red (2:1) → wrong.
    assert result["summary"]["t2i_r1"] == pytest.approx(400 / 5)

    table = markdown_table({"m": aggregate({None: result})})
    assert table.splitlines()[2].startswith("| m | 1 | 75.0 | 50.0 | 100.0 | 80.0 |")
    plot_comp_vs_zs({"m": aggregate({None: result})}, str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


def _scores(comp, zs, i2t=50.0, t2i=50.0):
    return {"summary": {"comp": comp, "zs": zs, "i2t_r1": i2t, "t2i_r1": t2i}, "subsets": {"comp/swap_att": comp}}


def test_mean_sd_table_and_a_verdict_computed_from_the_numbers():
    results = {
        "pretrained": aggregate({None: _scores(80.0, 90.0)}),
        "clip": aggregate({0: _scores(80.0, 89.0), 1: _scores(82.0, 89.0)}),  # comp 81 ± 1.41
        "negclip": aggregate({0: _scores(90.0, 80.0), 1: _scores(91.0, 82.0)}),  # +9.5 > 1.41 + 0.71
        "fsc-clip": aggregate({0: _scores(82.0, 89.0), 1: _scores(83.0, 90.0)}),  # +1.5 < 1.41 + 0.71
    }
    assert results["clip"]["mean"]["summary"]["comp"] == pytest.approx(81.0)
    assert results["clip"]["sd"]["summary"]["comp"] == pytest.approx(2 ** 0.5)
    assert "| clip | 2 | 81.0 ± 1.4 | 89.0 ± 0.0 |" in markdown_table(results)
    line = verdict(results)
    assert "NegCLIP raises Comp over CLIP fine-tuning beyond the seed spread: yes (+9.5, spread 2.1)" in line
    assert "FSC-CLIP raises Comp over CLIP fine-tuning beyond the seed spread: no (+1.5, spread 2.1)" in line
    # ZS: FSC-CLIP 89.5 ± 0.71 against NegCLIP 81.0 ± 1.41; retrieval equal.
    assert ("FSC-CLIP keeps ZS and retrieval above NegCLIP beyond the seed spread: ZS yes (+8.5, spread 2.1), "
            "I2T R@1 no (+0.0, spread 0.0), T2I R@1 no (+0.0, spread 0.0)") in line
    # One seed has no spread to judge by: the line says what the differences from the base are, and that.
    single = verdict({"pretrained": results["pretrained"], "fsc-clip": aggregate({0: _scores(83.0, 90.0)})})
    assert single == ("Differences from the base, one seed each (FSC-CLIP Comp (without swap_rel) +3.0, ZS +0.0, "
                      "I2T R@1 +0.0, T2I R@1 +0.0): one seed has no spread, so they do not tell an effect from the "
                      "seed's noise; --config demo_compare.yaml compares over 3 seeds.")
