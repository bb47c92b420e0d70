"""open_clip <-> Hugging Face CLIP conversion, checked against a reference forward pass.

The reference below is written from the open_clip CLIP definition (parameter names and the order of
operations of its VisionTransformer / TextTransformer / residual blocks) at tiny widths with random
weights, so that these tests need no open_clip; tests/test_open_clip_interop.py checks the same against
the real open_clip where it is installed. The converted CLIPModel must give the same embeddings.
"""

from collections import OrderedDict

import pytest
import torch
from helpers.authors_lora import add_authors_lora, as_saved_by_the_authors
from helpers.release_tiny import IMAGE_SIZE, solid_image, tiny_processor
from safetensors.torch import save_file
from torch import nn
from transformers import CLIPModel

from fsc_clip_hf.image_processing import OpenCLIPImageProcessor
from fsc_clip_hf.processor import TokenizerMismatchError, load_processor
from fsc_clip_hf.release.convert_open_clip import (
    convert_checkpoint,
    convert_to_open_clip,
    merge_authors_lora,
    open_clip_to_hf,
    read_open_clip,
)
from fsc_clip_hf.release.convert_open_clip.__main__ import main
from fsc_clip_hf.tokenizer import clip_tokenizer

WIDTH, LAYERS, HEADS, EMBED, PATCH, CONTEXT = 128, 2, 2, 32, 8, 77  # heads of 64 channels, as open_clip


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, act):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)  # in_proj_weight/bias hold q, k, v stacked
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict(
            [("c_fc", nn.Linear(width, 4 * width)), ("gelu", act()), ("c_proj", nn.Linear(4 * width, width))]
        ))

    def forward(self, x, attn_mask=None):  # x: (sequence, batch, width)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, act):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, act) for _ in range(layers)])

    def forward(self, x, attn_mask=None):  # batch-first in and out, sequence-first inside
        x = x.transpose(0, 1)
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x.transpose(0, 1)


class VisionTransformer(nn.Module):
    def __init__(self, act):
        super().__init__()
        grid = IMAGE_SIZE // PATCH
        self.conv1 = nn.Conv2d(3, WIDTH, kernel_size=PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(WIDTH))
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, WIDTH))
        self.ln_pre = nn.LayerNorm(WIDTH)
        self.transformer = Transformer(WIDTH, LAYERS, HEADS, act)
        self.ln_post = nn.LayerNorm(WIDTH)
        self.proj = nn.Parameter(torch.randn(WIDTH, EMBED))

    def forward(self, pixels):
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # (batch, patches, width)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], dim=1) + self.positional_embedding
        x = self.ln_post(self.transformer(self.ln_pre(x)))
        return x[:, 0] @ self.proj  # class token pooling


class OpenClipCLIP(nn.Module):
    def __init__(self, vocab_size, act):
        super().__init__()
        self.visual = VisionTransformer(act)
        self.token_embedding = nn.Embedding(vocab_size, WIDTH)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, WIDTH))
        self.transformer = Transformer(WIDTH, LAYERS, HEADS, act)
        self.ln_final = nn.LayerNorm(WIDTH)
        self.text_projection = nn.Parameter(torch.randn(WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))
        self.register_buffer("attn_mask", torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1), persistent=False)

    def encode_image(self, pixels):
        return self.visual(pixels)

    def encode_text(self, text):
        length = text.shape[1]
        x = self.token_embedding(text) + self.positional_embedding[:length]
        x = self.ln_final(self.transformer(x, self.attn_mask[:length, :length]))
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection  # end-of-text pooling


def _random_open_clip(vocab_size, act, seed=0):
    torch.manual_seed(seed)
    model = OpenClipCLIP(vocab_size, act).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name == "logit_scale":
                continue
            # LayerNorm gains around 1, everything else small: O(1) activations, so 1e-5 is a real test.
            base = 1.0 if name.endswith("weight") and parameter.ndim == 1 else 0.0
            parameter.copy_(base + 0.05 * torch.randn_like(parameter))
    return model


@pytest.fixture
def processor(tmp_path):
    return tiny_processor(tmp_path / "tokenizer")


def _text_ids(processor):
    captions = ["a red cat", "a photo of a blue square .", "dog"]
    return processor.tokenizer(captions, padding=True, return_tensors="pt")


def _pixels(processor):
    images = [solid_image((200, 30, 30)), solid_image((10, 90, 220), size=(64, 40))]
    return processor(images=images, return_tensors="pt")["pixel_values"]


def _features(model, pixels, text):
    with torch.no_grad():
        return (model.get_image_features(pixel_values=pixels).pooler_output,
                model.get_text_features(**text).pooler_output)


def _reference_features(reference, pixels, text):
    with torch.no_grad():
        return reference.encode_image(pixels), reference.encode_text(text["input_ids"])


@pytest.mark.parametrize("act, hidden_act", [(QuickGELU, "quick_gelu"), (nn.GELU, "gelu")],
                         ids=["openai-quick_gelu", "datacomp-gelu"])
def test_converted_checkpoint_gives_the_open_clip_embeddings(tmp_path, processor, act, hidden_act):
    reference = _random_open_clip(len(processor.tokenizer), act)
    # As the authors' training script saves it: DDP prefixes under "state_dict", next to training state.
    checkpoint = {"epoch": 5, "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}
    torch.save(checkpoint, tmp_path / "epoch_5.pt")

    out = convert_checkpoint(tmp_path / "epoch_5.pt", tmp_path / "hf", hidden_act=hidden_act,
                             processor=str(tmp_path / "tokenizer"))

    model = CLIPModel.from_pretrained(out).eval()
    loaded = load_processor(str(out), model.config.text_config)
    pixels, text = _pixels(loaded), _text_ids(loaded)
    expected_image, expected_text = _reference_features(reference, pixels, text)
    image, text_features = _features(model, pixels, text)
    assert expected_image.abs().mean() > 0.1 and expected_text.abs().mean() > 0.1
    torch.testing.assert_close(image, expected_image, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(text_features, expected_text, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.logit_scale, reference.logit_scale)
    assert model.config.text_config.hidden_act == model.config.vision_config.hidden_act == hidden_act
    assert isinstance(loaded.image_processor, OpenCLIPImageProcessor)
    assert loaded.image_processor.crop_size == {"height": IMAGE_SIZE, "width": IMAGE_SIZE}


def test_authors_lora_checkpoint_converts_to_the_model_of_its_unmerged_forward(tmp_path, processor):
    reference = add_authors_lora(_random_open_clip(len(processor.tokenizer), QuickGELU), rank=4, seed=1)
    saved = as_saved_by_the_authors(reference)
    factors = [key for key in saved["state_dict"] if "lora_" in key]
    # Per block: in_proj, out_proj, c_fc, c_proj (an A and a B each); plus the patch convolution.
    assert len(factors) == 2 * (4 * 2 * LAYERS + 1)
    assert "module.visual.transformer.resblocks.0.attn.in_proj_weight_lora_A" in factors
    torch.save(saved, tmp_path / "epoch_5.pt")

    out = convert_checkpoint(tmp_path / "epoch_5.pt", tmp_path / "hf", processor=str(tmp_path / "tokenizer"))

    model = CLIPModel.from_pretrained(out).eval()
    pixels, text = _pixels(processor), _text_ids(processor)
    expected_image, expected_text = _reference_features(reference, pixels, text)
    image, text_features = _features(model, pixels, text)
    torch.testing.assert_close(image, expected_image, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(text_features, expected_text, rtol=1e-5, atol=1e-5)
    # The factors matter: the base weights alone give another model.
    base = {k: v for k, v in reference.state_dict().items() if "lora_" not in k}
    without = CLIPModel(model.config).eval()
    without.load_state_dict(open_clip_to_hf(base))
    assert (_features(without, pixels, text)[0] - expected_image).abs().max() > 1e-2


def test_merging_lora_factors_by_hand():
    weight = torch.zeros(2, 3)
    state = {"mlp.c_fc.weight": weight, "mlp.c_fc.bias": torch.ones(2),
             "mlp.c_fc.lora_A": torch.tensor([[1.0, 0.0, 0.0]]), "mlp.c_fc.lora_B": torch.tensor([[1.0], [2.0]]),
             "attn.in_proj_weight": torch.eye(3), "attn.in_proj_weight_lora_A": torch.tensor([[0.0, 1.0, 0.0]] * 2),
             "attn.in_proj_weight_lora_B": torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 3.0]])}
    merged = merge_authors_lora(state, alpha=2.0)
    # Linear: W + B @ A * alpha / r with r = 1; attention: r = 2, so scaling 1.
    torch.testing.assert_close(merged["mlp.c_fc.weight"], torch.tensor([[2.0, 0, 0], [4.0, 0, 0]]))
    torch.testing.assert_close(merged["attn.in_proj_weight"], torch.tensor([[1.0, 2, 0], [0, 1, 0], [0, 3, 1]]))
    assert set(merged) == {"mlp.c_fc.weight", "mlp.c_fc.bias", "attn.in_proj_weight"}
    assert merge_authors_lora({"w": weight}) == {"w": weight}  # nothing to merge: unchanged

    conv = {"conv1.weight": torch.zeros(2, 1, 2, 2), "conv1.lora_A": torch.ones(2, 2), "conv1.lora_B": torch.ones(4, 2)}
    # kernel 2, rows(A) = 2 -> r = 1; (B @ A) is all 2, viewed as the (2, 1, 2, 2) weight.
    torch.testing.assert_close(merge_authors_lora(conv)["conv1.weight"], torch.full((2, 1, 2, 2), 2.0))


@pytest.mark.parametrize("state, message", [
    ({"c_fc.weight": torch.zeros(2, 3), "c_fc.lora_A": torch.zeros(1, 3)}, "has no 'c_fc.lora_B'"),
    ({"c_fc.weight": torch.zeros(2, 3), "c_fc.lora_A": torch.zeros(1, 4), "c_fc.lora_B": torch.zeros(2, 1)},
     "do not fit 'c_fc.weight'"),
    ({"c_fc.lora_A": torch.zeros(1, 3), "c_fc.lora_B": torch.zeros(2, 1)}, "has no 'c_fc.weight'"),
])
def test_misshapen_or_unpaired_lora_factors_are_named(state, message):
    with pytest.raises(ValueError, match=message):
        merge_authors_lora(state)


def test_default_tokenizer_is_openai_clip_and_the_folder_is_complete_offline(tmp_path):
    reference = _random_open_clip(len(clip_tokenizer()), QuickGELU)
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, tmp_path / "merged.safetensors")

    main([str(tmp_path / "merged.safetensors"), str(tmp_path / "hf")])

    model = CLIPModel.from_pretrained(tmp_path / "hf")
    loaded = load_processor(str(tmp_path / "hf"), model.config.text_config)
    assert len(loaded.tokenizer) == 49408 and loaded.tokenizer.eos_token_id == model.config.text_config.eos_token_id
    text = loaded.tokenizer(["a photo of a dog.", "two cats"], padding=True, return_tensors="pt")
    torch.testing.assert_close(_features(model, _pixels(loaded), text)[1],
                               _reference_features(reference, _pixels(loaded), text)[1], rtol=1e-5, atol=1e-5)


def test_a_tokenizer_that_does_not_fit_is_refused_and_nothing_is_written(tmp_path, processor):
    torch.save(_random_open_clip(len(processor.tokenizer), QuickGELU).state_dict(), tmp_path / "tiny.bin")
    # The default (openai's 49,408 tokens) does not fit this tiny-vocabulary checkpoint.
    with pytest.raises(TokenizerMismatchError, match="--processor"):
        convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf")
    # A folder without tokenizer files gives transformers' 2-token placeholder: refused too.
    CLIPModel(CLIPModel.config_class()).config.save_pretrained(tmp_path / "no_tokenizer")
    with pytest.raises(TokenizerMismatchError, match="2 tokens"):
        convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", processor=str(tmp_path / "no_tokenizer"))
    assert not (tmp_path / "hf").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial folder left
    # An existing folder is not replaced unless asked.
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", processor=str(tmp_path / "tokenizer"))
    convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", processor=str(tmp_path / "tokenizer"), overwrite=True)
    assert not (tmp_path / "hf" / "notes.txt").exists() and (tmp_path / "hf" / "model.safetensors").is_file()


def test_round_trip_hf_open_clip_hf_is_exact(tmp_path, processor):
    reference = _random_open_clip(len(processor.tokenizer), nn.GELU)
    torch.save(reference.state_dict(), tmp_path / "tiny.bin")
    hf = convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", hidden_act="gelu",
                            processor=str(tmp_path / "tokenizer"))

    main(["--to-open-clip", str(hf), str(tmp_path / "oc")])
    state, model_cfg, preprocess_cfg = read_open_clip(tmp_path / "oc")
    back = convert_checkpoint(tmp_path / "oc", tmp_path / "hf2", processor=str(tmp_path / "tokenizer"))

    for key, value in reference.state_dict().items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    assert model_cfg["quick_gelu"] is False and model_cfg["text_cfg"]["hf_tokenizer_name"] == "."
    assert preprocess_cfg == {"size": IMAGE_SIZE, "mean": list(OpenCLIPImageProcessor().image_mean),
                              "std": list(OpenCLIPImageProcessor().image_std), "interpolation": "bicubic",
                              "resize_mode": "shortest"}
    assert (tmp_path / "oc" / "tokenizer.json").is_file()  # not openai's vocabulary: open_clip reads it there
    original, again = CLIPModel.from_pretrained(hf).state_dict(), CLIPModel.from_pretrained(back).state_dict()
    assert original.keys() == again.keys()
    for key in original:
        torch.testing.assert_close(again[key], original[key], rtol=0, atol=0)
    assert CLIPModel.from_pretrained(back).config.text_config.hidden_act == "gelu"


def test_to_open_clip_refuses_a_folder_without_tokenizer(tmp_path, processor):
    torch.save(_random_open_clip(len(processor.tokenizer), QuickGELU).state_dict(), tmp_path / "tiny.bin")
    hf = convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", processor=str(tmp_path / "tokenizer"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (hf / name).unlink()
    with pytest.raises(TokenizerMismatchError, match="save it into"):
        convert_to_open_clip(hf)


def test_arch_check_rejects_another_geometry(tmp_path, processor):
    torch.save(_random_open_clip(len(processor.tokenizer), QuickGELU).state_dict(), tmp_path / "tiny.bin")
    with pytest.raises(ValueError, match="does not hold a ViT-B-32"):
        convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", arch="ViT-B-32")


def test_peft_style_lora_weights_are_refused(processor):
    state = dict(_random_open_clip(len(processor.tokenizer), QuickGELU).state_dict())
    state["visual.transformer.resblocks.0.mlp.c_fc.lora_A.weight"] = torch.zeros(4, WIDTH)
    with pytest.raises(ValueError, match="no CLIPModel counterpart"):
        open_clip_to_hf(merge_authors_lora(state))
