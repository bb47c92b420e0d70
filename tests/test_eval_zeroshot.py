"""Zero-shot as ELEVATER scores it: its four metrics by hand, its release layouts, clip-benchmark's copies,
Hateful Memes' own release, and all 21 tasks at once (ZS 21 of 21, shown on the model card)."""

import math

import pytest
import torch
from helpers import zeroshot_files as zf
from helpers.eval_fixtures import ColourCLIP, ColourProcessor

from fsc_clip_hf.evaluation.adapters import BENCHMARKS, GROUPS
from fsc_clip_hf.evaluation.adapters import zeroshot as zeroshot_adapter
from fsc_clip_hf.evaluation.adapters.base import mean
from fsc_clip_hf.evaluation.adapters.elevater import elevater_prompts
from fsc_clip_hf.evaluation.items import ZeroShotTask
from fsc_clip_hf.evaluation.metrics import load_metric
from fsc_clip_hf.evaluation.published import vl_compo_models
from fsc_clip_hf.evaluation.report import markdown_report
from fsc_clip_hf.evaluation.scoring import score_zeroshot
from fsc_clip_hf.evaluation.suite import evaluate_model
from fsc_clip_hf.release.model_card import build_model_card

pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture
def colour_prompts(monkeypatch):
    """ELEVATER's class names (accordion, airplane, ...) all look alike to ColourCLIP: tests of the
    release layout give its tasks colour names instead. ``set(dataset, names)`` overrides one task."""
    names = {}
    monkeypatch.setattr(zeroshot_adapter, "elevater_prompts", zf.colour_prompts(names))
    return names


def run(root, names):
    results = evaluate_model(ColourCLIP(), ColourProcessor(), names, str(root), batch_size=4, show_progress=False)
    assert not results["failed"], results["failed"]
    return results


# ---------------------------------------------------------------------------------------------- metrics


def test_top5_only_with_more_than_five_classes():
    metric = load_metric("zeroshot_accuracy")
    assert metric.compute(predictions=[[2, 0, 1], [0, 1, 2]], references=[0, 0], num_classes=3) == {"top1": 0.5}
    # Label 5: first in row 0 (top-1 and top-5 right), not among row 1's five (both wrong).
    six = metric.compute(predictions=[[5, 4, 3, 2, 1], [0, 1, 2, 3, 4]], references=[5, 5], num_classes=6)
    assert six == pytest.approx({"top1": 0.5, "top5": 0.5})


def test_mean_per_class_argmax_over_the_classes_with_test_images():
    metric = load_metric("zeroshot_mean_per_class")
    # Class 2 has no test image, so its column is dropped: row 0 is then class 0 (right), not 2.
    # Class 0: right, wrong (class 1 scores higher) -> 1/2; class 1: right -> 1. Mean 3/4 (top-1 would be 1/3).
    scores = [[0.3, 0.1, 0.6], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]]
    assert metric.compute(predictions=scores, references=[0, 0, 1]) == pytest.approx({"mean_per_class": 0.75})
    # Equal scores: the first class wins (numpy's argmax), here right for class 0 and wrong for class 1.
    assert metric.compute(predictions=[[0.5, 0.5], [0.5, 0.5]], references=[0, 1]) == {"mean_per_class": 0.5}


def test_eleven_point_map_interpolates_and_closes_with_precision_one():
    metric = load_metric("zeroshot_map_11point")
    # Class 0 ranks positive, negative, positive: precision 2/3 at recall >= 0.6 (1.0 ... 0.6, five points),
    # 1 at recall <= 0.5 (six points): 28/33. Class 1: its positive first, AP 1. Class 2 has no positive
    # and takes no part. Mean (28/33 + 1) / 2.
    scores = [[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.7, 0.9, 0.0]]
    targets = [[1, 0, 0], [0, 0, 0], [1, 1, 0]]
    assert metric.compute(predictions=scores, references=targets)["map_11point"] == pytest.approx((28 / 33 + 1) / 2)
    # A negative ranked first: precision 1/2 at every recall but 0, where the curve's closing point (recall 0,
    # precision 1) counts: (10 x 1/2 + 1) / 11 (the VOC devkit's 11-point AP would be 1/2).
    assert metric.compute(predictions=[[0.9], [0.2]], references=[[0], [1]])["map_11point"] == pytest.approx(6 / 11)
    # Tied scores are one point of the curve: both images at once, precision 1/2 at recall 1: 6/11 again.
    assert metric.compute(predictions=[[0.5], [0.5]], references=[[0], [1]])["map_11point"] == pytest.approx(6 / 11)


def test_roc_auc_counts_ties_as_half_and_needs_both_classes():
    metric = load_metric("zeroshot_roc_auc")
    # Positives at 0.35 and 0.8, negatives at 0.1 and 0.4: pairs (0.35 > 0.1), (0.8 > both): 3 of 4.
    assert metric.compute(predictions=[0.1, 0.4, 0.35, 0.8], references=[0, 0, 1, 1]) == {"roc_auc": 0.75}
    # A positive tied with a negative: half a pair; the other pair is right. (1 + 0.5) / 2.
    assert metric.compute(predictions=[0.2, 0.5, 0.5], references=[0, 0, 1]) == {"roc_auc": 0.75}
    with pytest.raises(ValueError, match="both classes"):
        metric.compute(predictions=[0.1, 0.9], references=[1, 1])


class _FixedEmbedder:
    """Embeddings given as they are: image rows, and one text row per class (each class one template)."""

    def __init__(self, images, texts):
        self._images, self._texts = torch.tensor(images), torch.tensor(texts)

    def images(self, sources):
        return self._images[list(sources)]

    def texts(self, prompts):
        return self._texts[[int(prompt) for prompt in prompts]]


def test_ranking_metrics_see_the_softmax_of_100_cosine_not_the_cosine():
    # Class 0 column, raw cosines: image 1 (0.32) above image 0 (0.30). After softmax(100 x cosine) over
    # the two classes, image 0 has p = 0.5 and image 1 p = sigmoid(-8) = 3e-4: image 0 first. Image 0 is
    # the positive of class 0, so ELEVATER's mAP gives class 0 an AP of 1 (raw cosines would give 6/11).
    # Class 1: image 1 (positive) first either way: AP 1.
    x, y = math.sqrt(1 - 0.30 ** 2 - 0.30 ** 2), math.sqrt(1 - 0.32 ** 2 - 0.40 ** 2)
    embedder = _FixedEmbedder(images=[[0.30, 0.30, x], [0.32, 0.40, y]], texts=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    task = ZeroShotTask(classnames=["0", "1"], templates=["{c}"], images=[0, 1], labels=[[0], [1]], metric="map_11point")
    assert score_zeroshot(task, embedder) == pytest.approx({"map_11point": 100.0, "count": 2})


# ---------------------------------------------------------------------------------------------- layouts


def test_all_21_tasks_are_elevaters_with_its_metrics():
    assert GROUPS["zs"] == [task.name for task in zeroshot_adapter.TASKS] and len(GROUPS["zs"]) == 21
    metrics = {task.config: task.metric for task in zeroshot_adapter.TASKS}
    assert [config for config, metric in metrics.items() if metric == "mean_per_class"] == [
        "caltech101", "fgvc-aircraft-2013b", "flower102", "oxford-iiit-pets"]
    assert metrics["voc2007classification"] == "map_11point" and metrics["hateful-memes"] == "roc_auc"
    assert sum(metric == "top1" for metric in metrics.values()) == 15


def test_shipped_elevater_prompts_cover_each_task_with_its_classes():
    classes = {"imagenet-1k": 1000, "caltech-101": 102, "cifar-100": 100, "country211": 211, "dtd": 47,
               "fgvc-aircraft-2013b-variants102": 100, "oxford-flower-102": 102, "food-101": 101, "gtsrb": 43,
               "stanford-cars": 196, "oxford-iiit-pets": 37, "resisc45_clip": 45, "voc-2007-classification": 20,
               "fer-2013": 7, "kitti-distance": 4, "hateful-memes": 2, "patch-camelyon": 2, "rendered-sst2": 2}
    for task in zeroshot_adapter.TASKS:
        names, templates = elevater_prompts(task.elevater)
        assert len(names) == classes.get(task.elevater, 10), task.elevater
        assert templates and all(template.count("{c}") == 1 for template in templates), task.elevater
    # ELEVATER's own order and wording, not torchvision's: CIFAR-100 starts with chimpanzee, and CIFAR-10
    # uses the CIFAR-100 templates (template_map["cifar-10"] is cifar100_templates).
    assert elevater_prompts("cifar-100")[0][:2] == ["chimpanzee", "trout"]
    assert elevater_prompts("cifar-10")[1] == elevater_prompts("cifar-100")[1]
    assert elevater_prompts("fer-2013")[0][0] == "angry" and elevater_prompts("hateful-memes")[0] == [
        "meme", "hatespeech meme"]


def test_release_uses_elevaters_prompts(tmp_path):
    zf.write_iris_release(tmp_path, "caltech_101_20211007", "test.txt", [(zf.RED, [3])])
    task = BENCHMARKS["caltech101"].load(str(tmp_path)).zeroshot["caltech101"]
    assert (task.classnames, task.templates) == elevater_prompts("caltech-101")
    assert task.classnames[3] == "ant" and task.templates[0] == "a photo of a {c}." and task.metric == "mean_per_class"


def test_iris_release_in_a_deflated_zip_skips_unlabelled_and_absent_images(tmp_path, colour_prompts):
    _, samples, score = zf.MEAN_PER_CLASS
    zf.write_iris_release(tmp_path, "caltech_101_20211007", "test.txt", samples, compression=8,
                          extra_lines=["test.zip@images/00000.png", "test.zip@images/not_there.png 1"])
    record = run(tmp_path, "caltech101")["details"]["caltech101"]
    assert record["score"] == pytest.approx(score)
    assert record["subsets"] == pytest.approx({"top1": 100 / 3, "mean_per_class": score})  # no top-5: 3 classes
    assert record["items"] == 3
    assert record["counts"] == {"caltech101": {"items": 3, "skipped": {"image_absent": 1, "malformed": 1}}}
    assert any("test.zip@images/not_there.png" in note for note in record["notes"])
    assert any("6084" in note for note in record["notes"])  # three images are not ELEVATER's 6,084: said, not hidden


def test_release_found_under_elevaters_own_dataset_root_and_unpacked(tmp_path, colour_prompts):
    # ELEVATER's dtd.yaml downloads into its DATASET.ROOT, here elevater/dtd-v1/, then classification/<release>/;
    # the zip unpacked into a folder of its name.
    _, samples, score = zf.ACCURACY
    zf.write_iris_release(tmp_path, "dtd_20211007", "test.txt", samples, unpacked=True, under="dtd-v1/classification")
    assert run(tmp_path, "dtd")["details"]["dtd"]["score"] == pytest.approx(score)


def test_coco_release_reads_categories_by_sorted_id_and_images_by_id(tmp_path, colour_prompts):
    classnames, samples, score = zf.ROC_AUC
    colour_prompts["hateful-memes"] = classnames
    zf.write_coco_release(tmp_path, "hateful_memes_20211014", "test_meta.json", samples, zip_name="img.zip",
                          first_category_id=5)
    record = run(tmp_path, "hateful_memes")["details"]["hateful_memes"]
    assert record["subsets"] == pytest.approx({"top1": 50.0, "roc_auc": score}) and record["score"] == pytest.approx(score)


def test_multilabel_voc_from_the_release_and_from_clip_benchmark(tmp_path, colour_prompts):
    classnames, samples, score = zf.MAP
    colour_prompts["voc-2007-classification"] = classnames
    zf.write_iris_release(tmp_path / "a", "voc2007_20211007", "test_ic.txt", samples)
    zf.write_wds_task(tmp_path / "b", "wds_voc2007_multilabel", samples, classnames, multilabel=True)
    for root in (tmp_path / "a", tmp_path / "b"):
        record = run(root, "voc2007")["details"]["voc2007"]
        assert record["subsets"] == pytest.approx({"map_11point": score}), root  # no top-1 for a multi-label task
    # clip-benchmark's single-label, cropped "wds_voc2007" is another task: not read for VOC 2007.
    zf.write_wds_task(tmp_path / "c", "wds_voc2007", [(zf.RED, [0])], classnames)
    assert "voc2007" in run(tmp_path / "c", "voc2007")["missing"]


def test_hateful_memes_from_the_challenges_own_release(tmp_path, colour_prompts):
    classnames, samples, score = zf.ROC_AUC
    colour_prompts["hateful-memes"] = classnames
    # A fifth meme, bluest of all and hateful, whose image is absent: skipped and counted, so still 75.
    zf.write_hateful_memes_original(tmp_path, [*samples, ((0, 0, 255), [1])], missing={4})
    record = run(tmp_path, "hateful_memes")["details"]["hateful_memes"]
    assert record["score"] == pytest.approx(score) and record["items"] == 4
    assert record["counts"]["hateful_memes"]["skipped"] == {"image_absent": 1}


def test_missing_task_names_both_downloads_and_a_missing_zip_is_named(tmp_path, colour_prompts):
    results = run(tmp_path, "caltech101,hateful_memes")
    assert "download_datasets.py --ds caltech-101" in results["missing"]["caltech101"]
    assert "hf download clip-benchmark/wds_vtab-caltech101" in results["missing"]["caltech101"]
    assert "neuralcatcher/hateful_memes" in results["missing"]["hateful_memes"]
    folder = zf.write_iris_release(tmp_path, "mnist_20211008", "test.txt", zf.ACCURACY[1], zip_name="val.zip")
    (folder / "val.zip").unlink()
    assert str(folder / "val.zip") in run(tmp_path, "mnist")["missing"]["mnist"]


def test_label_outside_the_classes_fails_the_task_naming_the_index(tmp_path, colour_prompts):
    folder = zf.write_iris_release(tmp_path, "mnist_20211008", "test.txt", [(zf.RED, [7])])
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "mnist", str(tmp_path), show_progress=False)
    assert str(folder / "test.txt") in results["failed"]["mnist"] and "outside the 3 classes" in results["failed"]["mnist"]


def test_zs_21_of_21_with_each_tasks_metric_and_the_model_card_shows_it(tmp_path, colour_prompts):
    expected, prompts = zf.write_all_tasks(tmp_path)
    colour_prompts.update(prompts)
    results = run(tmp_path, "zs")
    assert not results["missing"]
    assert results["coverage"]["zs"] == {"evaluated": 21, "of": 21}
    assert results["zeroshot"] == pytest.approx(expected)
    assert results["summary"]["zs"] == pytest.approx(sum(expected.values()) / 21)
    assert results["details"]["cifar100"]["subsets"] == pytest.approx({"top1": 100 / 3, "top5": 200 / 3})
    assert all("top5" not in record["subsets"] for name, record in results["details"].items() if name != "cifar100")

    assert "| Caltech-101 | mean per-class accuracy | 75.0 | 33.3 | – | 88.3 |" in markdown_report(results)

    card = build_model_card({}, results, "openai/clip-vit-base-patch32", [], lora=False)
    text = card.text
    assert f"| {results['summary']['zs']:.1f} |" in text and "| ZS |" in text
    assert "| caltech101 | mean per-class accuracy | 75.0 |" in text and "| voc2007 | 11-point mAP | 92.4 |" in text
    scores = {entry.metric_name: entry for entry in card.data.eval_results}
    assert scores["hateful_memes ROC-AUC"].metric_type == "roc_auc" and scores["ZS"].metric_value == round(
        results["summary"]["zs"], 2)


def test_published_figures_of_202_models_bear_out_each_tasks_metric_and_zs():
    # The companion study's per-task figures (package data; columns elevator::<ELEVATER config>).
    models = vl_compo_models()
    assert len(models) == 202
    for model in models:
        figures = model.subsets["elevator"]
        assert sorted(figures) == sorted(task.config for task in zeroshot_adapter.TASKS)
        for task in zeroshot_adapter.TASKS:
            correct = figures[task.config] / 100 * task.test_images
            # An accuracy is a whole number of ELEVATER's test images; the other metrics are not counts.
            assert (abs(correct - round(correct)) < 1e-6) == (task.metric == "top1"), (model.name, task.config)
        # Hateful Memes: a ROC-AUC over the 253 x 247 (negative, positive) pairs of dev_seen, ties counting 1/2.
        pairs = 2 * figures["hateful-memes"] / 100 * 253 * 247
        assert abs(pairs - round(pairs)) < 1e-6, model.name
        # ZS (21_tasks_avg) is the plain mean of the 21 headlines, as the suite averages our tasks' headlines.
        headlines = [BENCHMARKS[task.name].summarise({task.name: {task.metric: figures[task.config]}})[1]
                     for task in zeroshot_adapter.TASKS]
        assert mean(headlines) == pytest.approx(model.zs, abs=1e-6), model.name
