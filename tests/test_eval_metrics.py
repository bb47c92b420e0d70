"""The metric modules load by local path with the Hub switched off, and compute hand-checked values."""

import os
import subprocess
import sys

import pytest

from fsc_clip_hf.evaluation.metrics import METRIC_NAMES, load_metric, metric_path


def test_modules_load_offline_from_their_local_path():
    # A fresh interpreter with both offline switches: nothing may be fetched.
    code = (
        "import evaluate, sys\n"
        f"for path in {[metric_path(name) for name in METRIC_NAMES]!r}:\n"
        "    module = evaluate.load(path, keep_in_memory=True)\n"
        "    print(type(module).__name__)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["MultipleChoiceAccuracy", "GroupScores", "ParaphraseScores", "RetrievalRecall",
                                  "ZeroshotAccuracy", "ZeroshotMeanPerClass", "ZeroshotMap11point", "ZeroshotRocAuc"]


def test_multiple_choice_counts_ties_as_wrong():
    metric = load_metric("multiple_choice_accuracy")
    result = metric.compute(predictions=[[0.3, 0.1], [0.2, 0.2], [0.1, 0.5, 0.4], [0.9, 0.1, 0.95]],
                            references=[0, 1, 1, 0])
    assert result["accuracy"] == pytest.approx(0.5)  # right, tie, right, wrong


def test_multiple_choice_argmax_first_gives_a_tie_to_the_option_listed_first():
    metric = load_metric("multiple_choice_accuracy")
    result = metric.compute(predictions=[[0.2, 0.2], [0.2, 0.2], [0.1, 0.3, 0.3], [0.1, 0.3, 0.3], [0.5, 0.1]],
                            references=[0, 1, 1, 2, 0], ties="first")
    assert result["accuracy"] == pytest.approx(3 / 5)  # right, wrong, right, wrong, right
    with pytest.raises(ValueError, match="ties must be"):
        metric.compute(predictions=[[0.1, 0.2]], references=[1], ties="random")


def test_group_scores():
    metric = load_metric("group_scores")
    # rows: [s(c0,i0), s(c0,i1), s(c1,i0), s(c1,i1)]
    result = metric.compute(predictions=[[0.9, 0.1, 0.2, 0.8],    # all right
                                         [0.9, 0.95, 0.1, 0.99],  # text right, c0 prefers i1: image wrong
                                         [0.5, 0.5, 0.5, 0.5],    # ties: all wrong
                                         # c1 ties between the images: MMVP-VLM's script gives it the second
                                         [0.9, 0.1, 0.6, 0.6]])
    assert result == pytest.approx({"text": 3 / 4, "image": 1 / 4, "group": 1 / 4, "image_ties_to_second": 2 / 4})


def test_paraphrase_scores():
    metric = load_metric("paraphrase_scores")
    # rows: [cos(I,P1), cos(I,P2), cos(I,N), cos(P1,P2), cos(P1,N), cos(P2,N)]
    result = metric.compute(predictions=[[0.3, 0.25, 0.2, 0.9, 0.5, 0.6],   # both right
                                         [0.3, 0.2, 0.2, 0.6, 0.6, 0.1],    # ties: both wrong
                                         [0.1, 0.3, 0.2, 0.7, 0.5, 0.8]])   # P1 below N; P2 nearer N than P1
    assert result == pytest.approx({"itt": 1 / 3, "tot": 1 / 3})


def test_retrieval_recall_and_zeroshot_accuracy():
    recall = load_metric("retrieval_recall").compute(predictions=[[2, 0, 1], [1, 2, 0]], references=[[0], [2, 3]],
                                                     k_values=[1, 2, 3])
    assert recall == pytest.approx({"recall@1": 0.0, "recall@2": 1.0, "recall@3": 1.0})
    accuracy = load_metric("zeroshot_accuracy").compute(predictions=[[3, 1, 0, 2, 4], [0, 2, 1, 3, 4], [4, 3, 2, 1, 0]],
                                                        references=[1, 0, 5], num_classes=6)
    assert accuracy == pytest.approx({"top1": 1 / 3, "top5": 2 / 3})
