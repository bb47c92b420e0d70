"""LoRA in the authors' form (`lora_style: authors`) and peft's: shapes, counts, step 0, merge, resume."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from helpers.model_inputs import random_text
from transformers import CLIPConfig

from fsc_clip_hf.lora.adapters import apply_lora
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config

VIT_B32 = CLIPConfig(
    text_config=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
    vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                       image_size=224, patch_size=32),
    projection_dim=512,
)


@pytest.mark.parametrize("style, expected", [("authors", 4_141_056), ("peft", 1_121_280)])
def test_trainable_parameters_of_a_vit_b32_at_rank_4(style, expected):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = apply_lora(FSCCLIPModel(VIT_B32), r=4, alpha=1.0, style=style)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert sum(p.numel() for p in trainable.values()) == expected
    assert all("lora_" in n for n in trainable)  # the logit scale and all base weights are frozen


def tiny_lora(style, seed=0):
    torch.manual_seed(0)
    base = FSCCLIPModel(tiny_clip_config()).eval()
    return base, apply_lora(copy.deepcopy(base), r=4, alpha=1.0, style=style, seed=seed).eval()


def inputs(config=None):
    config = config or tiny_clip_config()
    g = torch.Generator().manual_seed(1)
    ids, mask = random_text((3,), 9, config, g)
    return dict(pixel_values=torch.randn(3, 3, 32, 32, generator=g), input_ids=ids, attention_mask=mask)


def test_authors_form_shapes_shared_a_and_xavier_init():
    _, model = tiny_lora("authors")
    layer = model.base_model.model.vision_model.encoder.layers[0]
    attention = layer.self_attn
    a = attention.q_proj.lora_A.default.weight
    assert a is attention.k_proj.lora_A.default.weight is attention.v_proj.lora_A.default.weight
    d, r = 32, 4
    blocks = torch.cat([getattr(attention, n).lora_B.default.weight for n in ("q_proj", "k_proj", "v_proj")])
    assert a.shape == (r, d) and blocks.shape == (3 * d, r)
    # xavier-uniform bounds of the fused matrices: sqrt(6 / (fan_in + fan_out)).
    for tensor, bound in ((a, math.sqrt(6 / (d + r))), (blocks, math.sqrt(6 / (r + 3 * d)))):
        assert tensor.abs().max() <= bound and tensor.abs().max() > 0.8 * bound
    # out_proj and the MLP: loralib's kaiming A, zero B.
    for linear in (attention.out_proj, layer.mlp.fc1, layer.mlp.fc2):
        assert not torch.all(linear.lora_A.default.weight == 0) and torch.all(linear.lora_B.default.weight == 0)
    # The patch embedding: loralib's Conv2d factors, rank r·k.
    conv = model.base_model.model.vision_model.embeddings.patch_embedding
    k = 8
    assert conv.lora_A.default.weight.shape == (r * k, 3 * k) and conv.lora_B.default.weight.shape == (d * k, r * k)
    assert torch.all(conv.lora_B.default.weight == 0)


def test_authors_qkv_is_the_fused_in_proj_adapter():
    """q, k, v outputs equal open_clip's fused projection qkv = x Wᵀ + b + s (x Aᵀ) Bᵀ, chunked in three."""
    _, model = tiny_lora("authors")
    attention = model.base_model.model.text_model.encoder.layers[1].self_attn
    projections = [getattr(attention, n) for n in ("q_proj", "k_proj", "v_proj")]
    weight = torch.cat([p.base_layer.weight for p in projections])
    bias = torch.cat([p.base_layer.bias for p in projections])
    a = projections[0].lora_A.default.weight
    b = torch.cat([p.lora_B.default.weight for p in projections])
    x = torch.randn(5, 7, 32)
    fused = F.linear(x, weight, bias) + F.linear(F.linear(x, a), b) * (1.0 / 4)
    torch.testing.assert_close(torch.cat([p(x) for p in projections], dim=-1), fused, atol=1e-6, rtol=1e-6)
    # One shared A: its gradient sums what the three projections send back, as the fused product's does.
    sum(p(x).square().sum() for p in projections).backward()
    assert a.grad is not None and all(p.lora_A.default.weight.grad is a.grad for p in projections)


def test_authors_conv_is_loralibs_reshaped_product():
    _, model = tiny_lora("authors")
    conv = model.base_model.model.vision_model.embeddings.patch_embedding
    with torch.no_grad():
        conv.lora_B.default.weight.normal_()
    x = torch.randn(2, 3, 32, 32)
    a, b, base = conv.lora_A.default.weight, conv.lora_B.default.weight, conv.base_layer
    expected = F.conv2d(x, base.weight + (b @ a).view(base.weight.shape) / 4, None, base.stride)
    torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


def test_at_step_0_the_authors_model_differs_from_the_base_and_peft_does_not():
    batch = inputs()
    base, authors = tiny_lora("authors")
    _, peft = tiny_lora("peft")
    with torch.no_grad():
        reference = base(**batch).image_embeds
        assert torch.equal(peft(**batch).image_embeds, reference)
        assert (authors(**batch).image_embeds - reference).abs().max() > 1e-3


def test_the_initialisation_follows_the_seed_and_leaves_the_global_random_state_alone():
    _, one = tiny_lora("authors", seed=1)
    _, again = tiny_lora("authors", seed=1)
    _, other = tiny_lora("authors", seed=2)
    key = "base_model.model.vision_model.encoder.layers.0.self_attn.q_proj.lora_A.default.weight"
    params = [m.state_dict()[key] for m in (one, again, other)]
    assert torch.equal(params[0], params[1]) and not torch.equal(params[0], params[2])
    model = FSCCLIPModel(tiny_clip_config())
    state = torch.random.get_rng_state()
    apply_lora(model, style="authors", seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("style", ["authors", "peft"])
def test_merged_weights_give_the_unmerged_forward(style):
    _, model = tiny_lora(style)
    with torch.no_grad():  # as after training: every adapter moved away from its initialisation
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    batch = inputs()
    merged = copy.deepcopy(model).merge_and_unload()
    assert type(merged) is FSCCLIPModel and not any("lora" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        expected, got = model(**batch, return_dense=True), merged(**batch, return_dense=True)
    for field in ("image_embeds", "text_embeds", "image_tokens", "text_tokens"):
        torch.testing.assert_close(got[field], expected[field], atol=2e-5, rtol=1e-4, msg=field)
