"""openai's CLIP tokenizer offline, open_clip's pixels, and the processor checks that refuse a tokenizer
that cannot be the model's. (tests/test_open_clip_interop.py compares both with the real open_clip.)"""

import json

import numpy as np
import pytest
import torch
from helpers.release_tiny import tiny_clip, tiny_clip_config, tiny_processor
from PIL import Image
from transformers import AutoImageProcessor, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

from fsc_clip_hf.image_processing import OpenCLIPImageProcessor, crop_offset, open_clip_image_processor, resized_size
from fsc_clip_hf.processor import TokenizerMismatchError, check_processor, load_processor
from fsc_clip_hf.tokenizer import clip_tokenizer, is_clip_vocabulary

MEAN, STD = np.array(OpenCLIPImageProcessor().image_mean), np.array(OpenCLIPImageProcessor().image_std)


def test_clip_tokenizer_gives_openai_ids_without_a_download():
    tokenizer = clip_tokenizer()
    assert len(tokenizer) == 49408 and (tokenizer.bos_token_id, tokenizer.eos_token_id) == (49406, 49407)
    assert tokenizer.pad_token_id == 49407 and tokenizer.model_max_length == 77
    # openai's ids: a=320, photo=1125, of=539, dog=1929, .=269
    assert tokenizer("a photo of a dog.")["input_ids"] == [49406, 320, 1125, 539, 320, 1929, 269, 49407]
    assert tokenizer("Two  DOGS")["input_ids"] == tokenizer("two dogs")["input_ids"]  # lower case, spaces
    long = tokenizer("dog " * 100, truncation=True)["input_ids"]
    assert len(long) == 77 and long[-1] == 49407
    assert is_clip_vocabulary(tokenizer)


def test_clip_tokenizer_saves_and_loads_as_a_plain_clip_tokenizer(tmp_path):
    clip_tokenizer().save_pretrained(tmp_path)
    loaded = CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=clip_tokenizer())
    loaded.save_pretrained(tmp_path)
    again = CLIPProcessor.from_pretrained(tmp_path)
    assert again.tokenizer("a red car")["input_ids"] == clip_tokenizer()("a red car")["input_ids"]
    assert is_clip_vocabulary(again.tokenizer)
    assert not is_clip_vocabulary(tiny_processor(tmp_path / "tiny").tokenizer)


def test_resize_and_crop_follow_torchvision():
    # torchvision truncates the long side and rounds the crop offset half to even; transformers floors it.
    assert resized_size(640, 427, 224) == (335, 224) and resized_size(427, 640, 224) == (224, 335)
    assert resized_size(300, 300, 224) == (224, 224)
    assert crop_offset(335, 224) == 56  # 55.5 -> 56 (transformers: 55)
    assert crop_offset(337, 224) == 56  # 56.5 -> 56
    assert crop_offset(334, 224) == 55 and crop_offset(224, 224) == 0
    assert crop_offset(200, 224) == -12  # padded: torchvision puts (224 - 200) // 2 zeros first


def _column_image(width, height):
    """An RGB image whose red value is the column index: the crop offset can be read off the pixels."""
    columns = np.tile(np.arange(width, dtype=np.uint8)[None, :, None], (height, 1, 3))
    return Image.fromarray(columns, "RGB")


def test_crop_offset_is_open_clip_s_where_transformers_is_one_pixel_off():
    image = _column_image(335, 224)  # already at the resize target: only the crop acts
    ours = open_clip_image_processor(224)(images=image, return_tensors="np")["pixel_values"][0]
    theirs = CLIPImageProcessorPil(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})(
        images=image, return_tensors="np")["pixel_values"][0]

    first_column = lambda pixels: round(float(pixels[0, 0, 0] * STD[0] + MEAN[0]) * 255)  # noqa: E731
    assert first_column(ours) == 56 and first_column(theirs) == 55
    assert ours.shape == (3, 224, 224) and ours.dtype == np.float32


def test_rgba_loses_its_alpha_after_resizing_as_in_open_clip():
    rgba = Image.new("RGBA", (224, 224), (200, 10, 10, 40))
    ours = open_clip_image_processor(224)(images=rgba, return_tensors="np")["pixel_values"][0]
    expected = ((np.array([200, 10, 10]) / 255 - MEAN) / STD).astype(np.float32)
    np.testing.assert_allclose(ours[:, 5, 5], expected, rtol=1e-6)
    # transformers composites on white instead: another colour.
    theirs = CLIPImageProcessorPil()(images=rgba, return_tensors="np")["pixel_values"][0]
    assert abs(float(theirs[1, 5, 5]) - float(expected[1])) > 1.0


def test_resizing_is_pil_bicubic_of_the_short_side():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8), "RGB")
    ours = open_clip_image_processor(32)(images=image, return_tensors="pt")["pixel_values"][0]
    # By hand: bicubic to (48, 32), columns 8..39 (offset round(16 / 2) = 8), then ToTensor and Normalize.
    by_hand = np.array(image.resize((48, 32), Image.Resampling.BICUBIC).crop((8, 0, 40, 32)), dtype=np.float32)
    by_hand = (torch.from_numpy(by_hand).permute(2, 0, 1) / 255 - torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
               ) / torch.tensor(STD, dtype=torch.float32)[:, None, None]
    torch.testing.assert_close(ours, by_hand, rtol=0, atol=0)


def test_saved_open_clip_processor_loads_without_this_package_as_the_standard_one(tmp_path):
    processor = CLIPProcessor(image_processor=open_clip_image_processor(32), tokenizer=tiny_processor(tmp_path / "t").tokenizer)
    processor.save_pretrained(tmp_path / "folder")

    saved = json.loads((tmp_path / "folder" / "processor_config.json").read_text())["image_processor"]
    assert saved["image_processor_type"] == "CLIPImageProcessor" and saved["open_clip_preprocess"] is True
    plain = CLIPProcessor.from_pretrained(tmp_path / "folder")  # what a user without fsc_clip_hf gets
    assert not isinstance(plain.image_processor, OpenCLIPImageProcessor)
    assert plain.image_processor.crop_size == {"height": 32, "width": 32}
    assert isinstance(load_processor(str(tmp_path / "folder")).image_processor, OpenCLIPImageProcessor)
    processor.image_processor.save_pretrained(tmp_path / "image_only")
    assert not isinstance(AutoImageProcessor.from_pretrained(tmp_path / "image_only"), OpenCLIPImageProcessor)
    assert isinstance(OpenCLIPImageProcessor.from_pretrained(tmp_path / "image_only"), OpenCLIPImageProcessor)


def test_pixels_option_picks_open_clip_s_or_transformers_whatever_the_folder_says(tmp_path):
    plain = tiny_processor(tmp_path / "plain")  # a Hub-style folder: transformers' image processor config
    plain.save_pretrained(tmp_path / "plain")
    flagged = CLIPProcessor(image_processor=open_clip_image_processor(32), tokenizer=plain.tokenizer)
    flagged.save_pretrained(tmp_path / "flagged")

    def loaded(folder, pixels):
        return type(load_processor(str(tmp_path / folder), pixels=pixels).image_processor)

    assert loaded("plain", "open_clip") is OpenCLIPImageProcessor
    assert loaded("plain", "folder") is not OpenCLIPImageProcessor
    assert loaded("flagged", "folder") is OpenCLIPImageProcessor
    assert loaded("flagged", "transformers") is not OpenCLIPImageProcessor
    image = _column_image(640, 427)  # a size whose crop transformers takes one pixel off open_clip's
    exact = open_clip_image_processor(32)(images=image, return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(load_processor(str(tmp_path / "plain"), pixels="open_clip").image_processor(
        images=image, return_tensors="pt")["pixel_values"], exact, rtol=0, atol=0)
    with pytest.raises(ValueError, match="pixels='torchvision'"):
        load_processor(str(tmp_path / "plain"), pixels="torchvision")


def test_recipes_eval_measures_with_open_clip_pixels_by_default():
    from fsc_clip_hf.cli.evaluate import parse_args

    assert parse_args(["--model_name_or_path", "m", "--output_dir", "o"]).pixels == "open_clip"


@pytest.fixture
def model_without_tokenizer(tmp_path):
    """What a bare `save_pretrained` of model and image processor leaves: no tokenizer files."""
    processor = tiny_processor(tmp_path / "tokenizer")
    tiny_clip(processor).save_pretrained(tmp_path / "model")
    processor.image_processor.save_pretrained(tmp_path / "model")
    return str(tmp_path / "model")


def test_a_folder_without_tokenizer_is_refused_with_what_to_pass(model_without_tokenizer, tmp_path):
    text_config = CLIPModel.from_pretrained(model_without_tokenizer).config.text_config
    # transformers "succeeds" with a 2-token placeholder...
    assert len(CLIPProcessor.from_pretrained(model_without_tokenizer).tokenizer) == 2
    # ...which is refused.
    expected = rf"2 tokens .* {text_config.vocab_size} rows.*--processor_name_or_path.*clip_tokenizer"
    with pytest.raises(TokenizerMismatchError, match=expected):
        load_processor(model_without_tokenizer, text_config)
    right = tiny_processor(tmp_path / "tokenizer")
    check_processor(right, text_config, source="tiny", option="--x")  # the model's own tokenizer passes


def test_a_tokenizer_of_the_right_size_that_cannot_encode_text_or_pools_elsewhere_is_refused(tmp_path):
    processor = tiny_processor(tmp_path / "tokenizer")
    config = tiny_clip_config(processor.tokenizer)
    mute = CLIPProcessor.from_pretrained(_folder_without_tokenizer(tmp_path)).tokenizer
    config.text_config.vocab_size = len(mute)
    with pytest.raises(TokenizerMismatchError, match="special tokens only"):
        check_processor(mute, config.text_config, source="x", option="--processor")
    config = tiny_clip_config(processor.tokenizer)
    config.text_config.eos_token_id = 0
    with pytest.raises(TokenizerMismatchError, match="pools the text at token id 0"):
        check_processor(processor, config.text_config, source="x", option="--processor")
    config.text_config.eos_token_id = 2  # transformers' legacy rule: pool at argmax, whatever the tokenizer
    check_processor(processor, config.text_config, source="x", option="--processor")


def _folder_without_tokenizer(tmp_path):
    CLIPModel.config_class().save_pretrained(tmp_path / "bare")
    CLIPImageProcessorPil().save_pretrained(tmp_path / "bare")
    return tmp_path / "bare"


def test_training_refuses_a_model_folder_without_tokenizer(model_without_tokenizer, tmp_path):
    from fsc_clip_hf.training.pipeline import run_training
    from fsc_clip_hf.training.recipes import parse_args

    args = parse_args(["--model_name_or_path", model_without_tokenizer, "--train_data", str(tmp_path / "none.jsonl"),
                       "--output_dir", str(tmp_path / "out"), "--use_cpu", "true", "--report_to", "none",
                       "--max_steps", "1", "--loss_name", "clip"])
    with pytest.raises(TokenizerMismatchError, match="--processor_name_or_path"):
        run_training(args)


def test_recipes_eval_refuses_a_model_folder_without_tokenizer(model_without_tokenizer, tmp_path, capsys):
    from fsc_clip_hf.cli.evaluate import main

    with pytest.raises(SystemExit) as exited:  # the pre-flight finds it, before anything loads
        main(["--model_name_or_path", model_without_tokenizer, "--benchmarks", "synthetic", "--device", "cpu",
              "--data_root", str(tmp_path), "--output_dir", str(tmp_path / "eval"), "--no_progress"])
    assert exited.value.code == 2
    assert "MISSING  processor" in capsys.readouterr().out
    assert not (tmp_path / "eval").exists()
