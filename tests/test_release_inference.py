"""Checkpoints this project writes load unchanged with CLIPModel, CLIPProcessor and the zero-shot pipeline."""

import pytest
import torch
from helpers.release_tiny import solid_image, tiny_clip, tiny_processor
from transformers import CLIPModel, CLIPProcessor, pipeline

from fsc_clip_hf.release.hub import prepare_release

LABELS = ["cat", "dog", "square"]


@pytest.fixture(params=["save_pretrained", "prepare_release"])
def checkpoint(request, tmp_path):
    """A tiny checkpoint written either the plain transformers way or as a Hub release folder."""
    processor = tiny_processor(tmp_path / "tokenizer")
    model = tiny_clip(processor)
    directory = tmp_path / "checkpoint"
    if request.param == "save_pretrained":
        model.save_pretrained(directory)
        processor.save_pretrained(directory)
    else:
        prepare_release(directory, model, processor, base_model="openai/clip-vit-base-patch32")
    return directory, model, processor


def test_clip_model_from_pretrained_has_the_same_weights(checkpoint):
    directory, model, _ = checkpoint
    loaded = CLIPModel.from_pretrained(directory)
    expected = model.state_dict()
    for name, tensor in loaded.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], rtol=0, atol=0, msg=name)


def test_clip_processor_from_pretrained_prepares_the_same_inputs(checkpoint):
    directory, _, processor = checkpoint
    loaded = CLIPProcessor.from_pretrained(directory)
    image, captions = solid_image((200, 20, 20)), ["a red cat", "a photo of a blue dog"]
    expected = processor(text=captions, images=image, return_tensors="pt", padding=True)
    actual = loaded(text=captions, images=image, return_tensors="pt", padding=True)
    assert set(actual) == set(expected)
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], msg=key)
    # Word-level vocabulary: one token per word between start and end of text.
    assert actual["input_ids"][0, 1:4].tolist() == loaded.tokenizer.convert_tokens_to_ids(
        ["a</w>", "red</w>", "cat</w>"]
    )


def test_zero_shot_pipeline_matches_the_model_scores(checkpoint):
    directory, model, processor = checkpoint
    image = solid_image((20, 20, 200))
    classifier = pipeline("zero-shot-image-classification", model=str(directory))
    predictions = classifier(image, candidate_labels=LABELS)

    prompts = [f"This is a photo of {label}." for label in LABELS]  # the pipeline's default template
    inputs = processor(text=prompts, images=image, return_tensors="pt", padding=True)
    with torch.no_grad():
        probabilities = model(**inputs).logits_per_image.softmax(dim=-1)[0]
    expected = dict(zip(LABELS, probabilities.tolist()))
    assert sorted(p["label"] for p in predictions) == sorted(LABELS)
    assert len({round(p["score"], 6) for p in predictions}) > 1, "degenerate prompts: words missing from the vocab"
    for prediction in predictions:
        assert prediction["score"] == pytest.approx(expected[prediction["label"]], abs=1e-5)
