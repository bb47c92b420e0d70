"""open_clip -> Hugging Face CLIP conversion, checked against a reference forward pass.

open_clip cannot be installed here, so the reference below is written from the open_clip CLIP definition
(parameter names and the order of operations of its VisionTransformer / TextTransformer / residual
blocks) at tiny widths with random weights. The converted CLIPModel must give the same embeddings.
"""

from collections import OrderedDict

import pytest
import torch
from safetensors.torch import save_file
from torch import nn
from transformers import CLIPModel, CLIPProcessor

from _release_tiny import IMAGE_SIZE, solid_image, tiny_processor
from fsc_clip_hf.convert_open_clip import convert_checkpoint, convert_state_dict, main

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
    loaded = CLIPProcessor.from_pretrained(out)
    images = [solid_image((200, 30, 30)), solid_image((10, 90, 220), size=(64, 40))]
    pixels = loaded(images=images, return_tensors="pt")["pixel_values"]
    text = _text_ids(loaded)
    with torch.no_grad():
        expected_image, expected_text = reference.encode_image(pixels), reference.encode_text(text["input_ids"])
        image = model.get_image_features(pixel_values=pixels).pooler_output
        text_features = model.get_text_features(**text).pooler_output
    assert expected_image.abs().mean() > 0.1 and expected_text.abs().mean() > 0.1
    torch.testing.assert_close(image, expected_image, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(text_features, expected_text, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.logit_scale, reference.logit_scale)
    assert model.config.text_config.hidden_act == model.config.vision_config.hidden_act == hidden_act
    assert loaded.image_processor.crop_size == {"height": IMAGE_SIZE, "width": IMAGE_SIZE}


def test_safetensors_source_without_tokenizer_then_adding_one(tmp_path, processor, capsys):
    reference = _random_open_clip(len(processor.tokenizer), QuickGELU)
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, tmp_path / "merged.safetensors")

    main([str(tmp_path / "merged.safetensors"), str(tmp_path / "hf")])

    assert "No tokenizer was written" in capsys.readouterr().out
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= {p.name for p in (tmp_path / "hf").iterdir()}
    # The printed remedy: save a CLIP tokenizer into the folder; the processor then loads.
    processor.tokenizer.save_pretrained(tmp_path / "hf")
    loaded = CLIPProcessor.from_pretrained(tmp_path / "hf")
    model = CLIPModel.from_pretrained(tmp_path / "hf")
    # Default end-of-text id = the highest id, which is where open_clip pools.
    assert model.config.text_config.eos_token_id == loaded.tokenizer.eos_token_id == len(processor.tokenizer) - 1
    with torch.no_grad():
        expected = reference.encode_text(_text_ids(loaded)["input_ids"])
        actual = model.get_text_features(**_text_ids(loaded)).pooler_output
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_arch_check_rejects_another_geometry(tmp_path, processor):
    torch.save(_random_open_clip(len(processor.tokenizer), QuickGELU).state_dict(), tmp_path / "tiny.bin")
    with pytest.raises(ValueError, match="does not hold a ViT-B-32"):
        convert_checkpoint(tmp_path / "tiny.bin", tmp_path / "hf", arch="ViT-B-32")


def test_unmerged_lora_weights_are_refused(processor):
    state = dict(_random_open_clip(len(processor.tokenizer), QuickGELU).state_dict())
    state["visual.transformer.resblocks.0.mlp.c_fc.lora_A.weight"] = torch.zeros(4, WIDTH)
    with pytest.raises(ValueError, match="merge LoRA"):
        convert_state_dict(state)
