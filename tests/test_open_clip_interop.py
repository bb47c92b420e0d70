"""Against the real open_clip (PyPI open_clip_torch 3.3.0): tokenizer ids, pixels, checkpoints converted
to Hugging Face (the authors' LoRA form included), and our release folders loaded by open_clip.

open_clip runs in a subprocess (tests/helpers/open_clip_reference.py says why) and must be installed as
``make install`` does: ``pip install --no-deps open_clip_torch==3.3.0`` and torchvision in
``.venv/open_clip_torchvision`` (``FSC_OPEN_CLIP_TORCHVISION`` names another folder). Without them the
tests are skipped; ``pytest.importorskip("open_clip")`` cannot decide it, since importing open_clip
here would need torchvision in this process.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.release_tiny import tiny_processor
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

from fsc_clip_hf.image_processing import open_clip_image_processor
from fsc_clip_hf.release.convert_open_clip import convert_checkpoint
from fsc_clip_hf.release.hub import prepare_release
from fsc_clip_hf.tokenizer import clip_tokenizer

HERE = Path(__file__).resolve().parent
TORCHVISION_DIR = Path(os.environ.get("FSC_OPEN_CLIP_TORCHVISION", Path(sys.prefix) / "open_clip_torchvision"))
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("open_clip") is None or not TORCHVISION_DIR.is_dir(),
    reason="open_clip not installed as `make install` does (open_clip_torch --no-deps, torchvision in "
           f"{TORCHVISION_DIR})",
)
CAPTIONS = (HERE / "fixtures" / "coco_style_captions.txt").read_text(encoding="utf-8").splitlines()
RELEASE_CAPTIONS = ["a photo of a red cat", "a blue square .", "this is a dog"]
# (width, height, mode): sizes where transformers' crop is one pixel off open_clip's, and every mode.
IMAGES = [(640, 427, "RGB"), (427, 640, "RGB"), (333, 251, "RGBA"), (500, 375, "L"), (200, 100, "P"), (224, 224, "RGB")]


def _release_model(tokenizer, image_size=224):
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(image_size=image_size, patch_size=32, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
        projection_dim=16)
    torch.manual_seed(len(tokenizer))
    model = CLIPModel(config).eval()
    with torch.no_grad():  # norms away from 1 and 0, so that a misplaced norm weight shows
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.add_(0.1 * torch.randn_like(parameter))
    return model


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Inputs written here, open_clip's outputs computed by the subprocess."""
    work = tmp_path_factory.mktemp("open_clip")
    rng = np.random.default_rng(0)
    (work / "images").mkdir()
    for width, height, mode in IMAGES:
        pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
        image = Image.fromarray(pixels, "RGBA")
        image = image.convert("RGB").convert(mode) if mode == "P" else image.convert(mode)  # P: an opaque palette
        image.save(work / "images" / f"{width}x{height}_{mode}.png")
    words = tiny_processor(work / "words_tokenizer")
    releases = {"release_openai": CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=clip_tokenizer()),
                "release_words": CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=words.tokenizer)}
    for name, processor in releases.items():
        prepare_release(work / name, _release_model(processor.tokenizer), processor, base_model=None)
    torch.manual_seed(0)
    # Padded to the context length: open_clip adds all 77 positional embeddings.
    text = words.tokenizer(RELEASE_CAPTIONS, padding="max_length", max_length=77, return_tensors="pt")
    request = {"captions": CAPTIONS, "image_size": 32, "vocab_size": len(words.tokenizer), "ids": text["input_ids"],
               "attention_mask": text["attention_mask"], "pixels": torch.randn(2, 3, 32, 32),
               "releases": list(releases), "release_captions": RELEASE_CAPTIONS}
    torch.save(request, work / "request.pt")
    subprocess.run([sys.executable, str(HERE / "helpers" / "open_clip_reference.py"), str(work), str(TORCHVISION_DIR)],
                   check=True, timeout=600)
    return work, request, torch.load(work / "reference.pt", weights_only=False)


def _through_eos(ids, eos):
    ids = list(ids)
    return ids[: ids.index(eos) + 1]


def test_clip_tokenizer_ids_are_open_clip_s(work):
    _, _, reference = work
    ours = clip_tokenizer()(CAPTIONS, truncation=True)["input_ids"]
    assert len(ours) == len(CAPTIONS) > 300
    for caption, mine, theirs in zip(CAPTIONS, ours, reference["tokens"].tolist()):
        assert mine == _through_eos(theirs, 49407), caption


def test_pixels_are_open_clip_s(work):
    folder, _, reference = work
    processor = open_clip_image_processor(224)
    for name, expected in reference["pixels"].items():
        ours = processor(images=Image.open(folder / "images" / name), return_tensors="pt")["pixel_values"][0]
        torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6, msg=name)
    # transformers' own processor is one pixel off on these sizes: the test can tell.
    plain = CLIPImageProcessorPil()(images=Image.open(folder / "images" / "640x427_RGB.png"), return_tensors="pt")
    assert (plain["pixel_values"][0] - reference["pixels"]["640x427_RGB.png"]).abs().max() > 0.5


@pytest.mark.parametrize("name, hidden_act", [("quick_gelu", "quick_gelu"), ("gelu", "gelu"), ("lora", "quick_gelu")],
                         ids=["openai-quick_gelu", "datacomp-gelu", "authors-lora"])
def test_open_clip_checkpoints_convert_to_the_same_model(work, name, hidden_act, tmp_path):
    folder, request, reference = work
    out = convert_checkpoint(folder / f"{name}.pt", tmp_path / name, hidden_act=hidden_act,
                             processor=str(folder / "words_tokenizer"))
    model = CLIPModel.from_pretrained(out).eval()
    with torch.no_grad():
        image = model.get_image_features(pixel_values=request["pixels"]).pooler_output
        text = model.get_text_features(input_ids=request["ids"],
                                       attention_mask=request["attention_mask"]).pooler_output
    expected = reference["checkpoints"][name]
    assert expected["image"].abs().mean() > 0.05
    torch.testing.assert_close(image, expected["image"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(text, expected["text"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("release", ["release_openai", "release_words"])
def test_open_clip_loads_our_release_folders(work, release):
    folder, _, reference = work
    loaded = reference["releases"][release]
    model = CLIPModel.from_pretrained(folder / release).eval()
    processor = CLIPProcessor.from_pretrained(folder / release)
    text = processor.tokenizer(RELEASE_CAPTIONS, padding=True, return_tensors="pt")
    eos = processor.tokenizer.eos_token_id
    for mine, theirs in zip(text["input_ids"].tolist(), loaded["ids"].tolist()):
        assert _through_eos(mine, eos) == _through_eos(theirs, eos)
    with torch.no_grad():
        image = model.get_image_features(pixel_values=loaded["pixels"]).pooler_output
        text_features = model.get_text_features(**text).pooler_output
    torch.testing.assert_close(image, loaded["image"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(text_features, loaded["text"], rtol=1e-5, atol=1e-5)
