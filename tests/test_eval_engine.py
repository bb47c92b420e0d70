"""The engine: cached embedding, the four scoring shapes, decode failures, and the split over processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.eval_fixtures import BLUE, GREEN, RED, ColourCLIP, ColourProcessor, colours, image
from helpers.repo import REPO

from fsc_clip_hf.evaluation.embedding import CLIPEmbedder
from fsc_clip_hf.evaluation.images import ImageBytes, ImageFile
from fsc_clip_hf.evaluation.items import FIRST, BenchmarkData, ImageChoice, Pair, RetrievalSet, TextChoice, ZeroShotTask
from fsc_clip_hf.evaluation.scoring import (
    drop_unreadable,
    score_benchmark,
    score_image_choices,
    score_pairs,
    score_retrieval,
    score_text_choices,
    score_zeroshot,
)


@pytest.fixture
def pictures(tmp_path):
    return {name: ImageFile(image(tmp_path / f"{name}.png", colour))
            for name, colour in (("red", RED), ("green", GREEN), ("blue", BLUE))}


def embedder(model=None, **options):
    return CLIPEmbedder(model or ColourCLIP(), ColourProcessor(), batch_size=2, show_progress=False, **options)


def test_each_image_and_caption_is_embedded_once(pictures):
    model = ColourCLIP()
    engine = embedder(model)
    first = engine.images([pictures["red"], pictures["blue"], pictures["red"]])
    again = engine.images([pictures["blue"], pictures["green"]])
    assert model.images_embedded == 3  # red, blue, then only green
    assert torch.allclose(first[1], again[0]) and torch.allclose(first[0], first[2])
    assert torch.allclose(first.norm(dim=1), torch.ones(3))
    engine.texts(["red", "a blue thing", "red"])
    engine.texts(["a blue thing", "green"])
    assert model.texts_embedded == 3


def test_crops_and_byte_sources_have_their_own_keys(tmp_path):
    path = image(tmp_path / "red.png", RED)
    data = open(path, "rb").read()
    assert ImageFile(path).key != ImageFile(path, box=(0, 0, 4, 4)).key
    assert ImageBytes(data).key == ImageBytes(bytes(data)).key
    assert ImageBytes(data).open().getpixel((0, 0)) == RED


def test_unreadable_images_are_recorded_and_get_nan_rows(tmp_path, pictures):
    broken = ImageFile(str(tmp_path / "broken.png"))
    Path(broken.path).write_bytes(b"not a png")
    missing = ImageFile(str(tmp_path / "gone.jpg"))
    engine = embedder()
    rows = engine.images([pictures["red"], broken, missing])
    assert engine.unreadable == {broken.key, missing.key}
    assert torch.isfinite(rows[0]).all() and torch.isnan(rows[1:]).all()


def test_items_with_unreadable_images_are_skipped_and_counted(tmp_path, pictures):
    broken = ImageFile(str(tmp_path / "broken.jpg"))
    Path(broken.path).write_bytes(b"<html>404</html>")  # an error page saved as an image
    data = BenchmarkData(
        text_choices=[TextChoice("a", pictures["red"], ["a red car", "a blue car"]),     # right
                      TextChoice("a", broken, ["a red car", "a blue car"]),             # skipped
                      TextChoice("a", pictures["blue"], ["a red car", "a blue car"])],  # wrong
        image_choices=[ImageChoice("b", "a red dog", [pictures["red"], broken])],       # skipped
        retrieval={"gallery": RetrievalSet(images=[broken, pictures["blue"], pictures["green"]],
                                           captions=[["red"], ["blue"], ["green", "a red thing"]])},
        zeroshot={"colour": ZeroShotTask(["red", "blue"], ["{c}"], [pictures["red"], broken], [0, 1])},
        notes=["1 rows skipped: no image"],
    )
    engine = embedder()
    clean = drop_unreadable(data, engine, "bench")
    assert clean.skips.counts == {"a": {"unreadable_image": 1}, "b": {"unreadable_image": 1},
                                  "gallery": {"unreadable_image": 1}, "colour": {"unreadable_image": 1}}
    assert clean.skips.notes() == [f"4 items skipped (unreadable_image), e.g. {'; '.join([broken.key] * 3)}"]
    assert clean.notes == ["1 rows skipped: no image"] and not data.skips.counts  # the loaded data is unchanged
    assert data.item_count() == 9 and clean.item_count() == 5
    scores = score_benchmark(clean, engine)
    assert scores["a"] == {"accuracy": pytest.approx(50.0), "count": 2} and "b" not in scores
    # Blue and green images left; "a red thing" (green's) leans blue by its 3e-3 blue offset: t2i 2 of 3.
    assert scores["gallery"]["count"] == 2 and scores["gallery"]["i2t_r1"] == pytest.approx(100.0)
    assert scores["gallery"]["t2i_r1"] == pytest.approx(200 / 3)
    assert scores["colour"] == {"top1": pytest.approx(100.0), "count": 1}  # two classes: no top-5
    assert len(data.text_choices) == 3  # the loaded data, cached between evaluations, is left as it was


def test_text_choices_settle_ties_by_each_benchmarks_rule(pictures):
    items = [
        TextChoice("a", pictures["red"], ["a red car", "a blue car"]),        # right
        TextChoice("a", pictures["blue"], ["a blue car", "a car blue"]),      # tie, strict: wrong
        TextChoice("b", pictures["green"], ["red", "green", "blue"], answer=1),  # right
        # argmax-first: a tie goes to the option listed first.
        TextChoice("first", pictures["blue"], ["a blue car", "a car blue", "red"], ties=FIRST),             # right
        TextChoice("first", pictures["blue"], ["a car blue", "a blue car", "red"], answer=1, ties=FIRST),   # wrong
    ]
    scores = score_text_choices(items, embedder())
    assert scores == {"a": {"accuracy": pytest.approx(50.0), "count": 2},
                      "b": {"accuracy": pytest.approx(100.0), "count": 1},
                      "first": {"accuracy": pytest.approx(50.0), "count": 2}}
    with pytest.raises(ValueError, match="mixes tie rules"):
        score_text_choices([items[0], TextChoice("a", pictures["red"], ["red", "blue"], ties=FIRST)], embedder())
    with pytest.raises(ValueError, match="true option 2 of 2"):
        TextChoice("a", pictures["red"], ["red", "blue"], answer=2)


def test_captions_with_the_same_token_ids_share_one_embedding(tmp_path):
    """"A  Red circle" and "a red circle" tokenise alike: one embedding, whatever batch each came in,
    so they tie exactly instead of differing by padding noise."""
    from transformers import CLIPModel

    from fsc_clip_hf.data.synthetic.tokenizer import save_word_tokenizer
    from fsc_clip_hf.modeling import tiny_clip_config

    tokenizer = save_word_tokenizer(["a", "red", "blue", "circle", "big", "and", "square"], str(tmp_path / "tok"))
    config = tiny_clip_config(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                              bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = CLIPModel(config).eval()
    calls = []
    forward = model.get_text_features
    model.get_text_features = lambda **tokens: calls.append(tokens["input_ids"].shape) or forward(**tokens)
    engine = CLIPEmbedder(model, tokenizer, batch_size=4, show_progress=False)
    alone = engine.texts(["A  Red circle"])  # a batch of one, no padding
    rows = engine.texts(["a big blue square and a big red circle", "a red circle", "a blue circle"])
    assert torch.equal(rows[1], alone[0]) and len(engine.text_cache) == 3
    assert [shape[0] for shape in calls] == [1, 2]  # "a red circle" was not embedded again
    assert not torch.equal(rows[1], rows[2])


def test_image_choices(pictures):
    items = [ImageChoice("s", "a red dog", [pictures["blue"], pictures["red"]], answer=1),  # right
             ImageChoice("s", "a blue dog", [pictures["red"], pictures["green"]])]          # best is green: wrong
    assert score_image_choices(items, embedder())["s"] == {"accuracy": pytest.approx(50.0), "count": 2}


def test_pairs(tmp_path, pictures):
    # Text right, image wrong: captions at about 40 and 50 degrees in the red-blue plane, images at 0 and 46.
    purple = ImageFile(image(tmp_path / "purple.png", (150, 0, 155)))
    items = [Pair("g", (pictures["red"], pictures["blue"]), ("red", "blue")),
             Pair("g", (pictures["red"], purple), (colours(red=6, blue=5), colours(red=5, blue=6))),
             Pair("g", (pictures["red"], pictures["blue"]), ("red", "red"))]
    assert score_pairs(items, embedder())["g"] == {"text": pytest.approx(200 / 3), "image": pytest.approx(100 / 3),
                                                   "group": pytest.approx(100 / 3), "count": 3,
                                                   "image_ties_to_second": pytest.approx(100 / 3)}


def test_retrieval(pictures):
    gallery = RetrievalSet(images=[pictures["red"], pictures["blue"], pictures["green"]],
                           captions=[["red", "a red car"], ["blue"], ["green", colours(red=2, green=1)]])
    scores = score_retrieval(gallery, embedder())
    # Every image finds one of its captions first; "a red red green thing" finds the red image.
    assert scores["i2t_r1"] == pytest.approx(100.0)
    assert scores["t2i_r1"] == pytest.approx(80.0) and scores["t2i_r5"] == pytest.approx(100.0)


def test_zeroshot_averages_prompts_over_templates(pictures):
    task = ZeroShotTask(classnames=["red", "green", "blue"], templates=["a {c} shape", "a photo of {c}"],
                        images=[pictures["red"], pictures["green"], pictures["blue"]], labels=[0, 1, 0])
    assert score_zeroshot(task, embedder()) == {"top1": pytest.approx(200 / 3), "count": 3}  # 3 classes: no top-5


WORKER = """
import json, sys
sys.path[:0] = [{tests!r}, {repo!r}]
from accelerate import PartialState
from helpers.eval_fixtures import ColourCLIP, ColourProcessor
from fsc_clip_hf.evaluation.suite import evaluate_model, flat_scores

state = PartialState(cpu=True)  # sets up the gloo process group under torchrun
model = ColourCLIP()
results = evaluate_model(model, ColourProcessor(), "sugarcrepe", {root!r}, batch_size=2, show_progress=False)
with open({out!r} + f".{{state.process_index}}", "w") as handle:
    json.dump({{"scores": flat_scores(results), "images": model.images_embedded}}, handle)
"""


@pytest.mark.slow
def test_two_processes_split_the_embedding_and_agree(tmp_path):
    from helpers.eval_benchmark_files import write_sugarcrepe

    root = tmp_path / "data"
    expected = write_sugarcrepe(root)
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(REPO / "tests"), repo=str(REPO), root=str(root), out=str(tmp_path / "out")))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
                    str(script)], check=True, env=env, timeout=300, cwd=tmp_path)
    outputs = [json.loads((tmp_path / f"out.{rank}").read_text()) for rank in (0, 1)]
    assert outputs[0]["scores"] == outputs[1]["scores"]
    assert outputs[0]["scores"]["sugarcrepe"] == pytest.approx(expected)
    # 8 unique images: each process embedded its half.
    assert [output["images"] for output in outputs] == [4, 4]
