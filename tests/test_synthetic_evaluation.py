"""The synthetic evaluation on a hand-made eval folder and a model whose similarities the test controls."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from fsc_clip_hf.evaluation.suite import evaluate_model
from fsc_clip_hf.evaluation.synthetic_report import markdown_table, plot_comp_vs_zs, synthetic_scores


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
                                         {"image": "images/blue.png", "captions": ["red blue red"]}])
    return str(tmp_path)


def test_scores_follow_the_similarities(eval_dir, tmp_path):
    result = synthetic_scores(evaluate_model(ColourModel(), ColourProcessor(), "synthetic", eval_dir, show_progress=False))
    assert result["subsets"]["comp/swap_att"] == pytest.approx(50.0)  # one right, one tie
    assert result["subsets"]["comp/replace_att"] == pytest.approx(100.0)
    assert result["summary"]["comp"] == pytest.approx(75.0)  # mean over subsets, not items
    assert result["subsets"]["zs/colour"] == pytest.approx(50.0)  # the blue image is labelled 0 (red)
    # Image→text: the red image's best caption is "red" (cos 1.0 against 0.89 for "red blue red"); the
    # blue image's is "red blue red", the only one with blue in it: both right.
    assert result["summary"]["i2t_r1"] == pytest.approx(100.0)
    # Text→image: "red", "a red thing" → red image (right); "red blue red" leans red (2:1) → wrong.
    assert result["summary"]["t2i_r1"] == pytest.approx(200 / 3)

    table = markdown_table({"m": result})
    assert table.splitlines()[2].startswith("| m | 75.0 | 50.0 | 100.0 | 66.7 |")
    plot_comp_vs_zs({"m": result}, str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
