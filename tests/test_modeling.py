import pytest
import torch
import torch.nn.functional as F
from helpers.model_inputs import random_text
from transformers import CLIPModel

from fsc_clip_hf.modeling import FSCCLIPModel


@pytest.fixture
def batch(tiny_config):
    generator = torch.Generator().manual_seed(0)
    ids, mask = random_text((3,), 10, tiny_config, generator)
    neg_ids, neg_mask = random_text((2, 3), 10, tiny_config, generator)
    pixels = torch.randn(3, 3, 32, 32, generator=generator)
    return dict(input_ids=ids, attention_mask=mask, neg_input_ids=neg_ids, neg_attention_mask=neg_mask, pixel_values=pixels)


def test_checkpoints_round_trip_with_clipmodel(tmp_path, tiny_config, batch):
    torch.manual_seed(0)
    plain = CLIPModel(tiny_config).eval()
    plain.save_pretrained(tmp_path / "plain")
    ours = FSCCLIPModel.from_pretrained(tmp_path / "plain").eval()
    ours.save_pretrained(tmp_path / "ours")
    back = CLIPModel.from_pretrained(tmp_path / "ours").eval()
    for name, tensor in plain.state_dict().items():
        assert torch.equal(tensor, ours.state_dict()[name]), name
        assert torch.equal(tensor, back.state_dict()[name]), name

    with torch.no_grad():
        out = ours(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=batch["pixel_values"])
        image = F.normalize(plain.get_image_features(pixel_values=batch["pixel_values"]).pooler_output, dim=-1)
        text = F.normalize(
            plain.get_text_features(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).pooler_output,
            dim=-1,
        )
        reference = plain(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=batch["pixel_values"])
    torch.testing.assert_close(out.image_embeds, image, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.text_embeds, text, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.logits_per_image, reference.logits_per_image, atol=1e-5, rtol=0)
    assert out.logit_scale == plain.logit_scale.exp()


def test_negatives_encode_in_the_same_pass_as_separately(tiny_config, batch):
    model = FSCCLIPModel(tiny_config).eval()
    with torch.no_grad():
        joint = model(**batch, return_dense=True)
        for k in range(2):
            alone = model(
                input_ids=batch["neg_input_ids"][k],
                attention_mask=batch["neg_attention_mask"][k],
                pixel_values=batch["pixel_values"],
                return_dense=True,
            )
            torch.testing.assert_close(joint.neg_text_embeds[k], alone.text_embeds, atol=1e-6, rtol=0)
            torch.testing.assert_close(joint.neg_text_tokens[k], alone.text_tokens, atol=1e-6, rtol=0)
            assert torch.equal(joint.neg_text_token_mask[k], alone.text_token_mask)


def test_dense_features_follow_the_definition(tiny_config, batch):
    model = FSCCLIPModel(tiny_config).eval()
    with torch.no_grad():
        out = model(**batch, return_dense=True)
        vision = model.vision_model(pixel_values=batch["pixel_values"])
        text = model.text_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    patches = (32 // 8) ** 2
    assert out.image_tokens.shape == (3, patches, 16)
    assert out.text_tokens.shape == (3, 10, 16)
    assert out.neg_text_tokens.shape == (2, 3, 10, 16)
    expected_patches = model.visual_projection(model.vision_model.post_layernorm(vision.last_hidden_state[:, 1:]))
    torch.testing.assert_close(out.image_tokens, expected_patches)
    torch.testing.assert_close(out.text_tokens, model.text_projection(text.last_hidden_state))
    # The pooled caption embedding is the end-of-text token's, so it must be among the dense tokens.
    eos = (batch["input_ids"] == tiny_config.text_config.eos_token_id).int().argmax(-1)
    torch.testing.assert_close(F.normalize(out.text_tokens[torch.arange(3), eos], dim=-1), out.text_embeds)
    assert torch.equal(out.text_token_mask[:, 0], torch.zeros(3, dtype=out.text_token_mask.dtype))
    assert torch.equal(out.text_token_mask[:, 1:], batch["attention_mask"][:, 1:])


def test_dense_features_are_absent_unless_asked(tiny_config, batch):
    out = FSCCLIPModel(tiny_config)(input_ids=batch["input_ids"], pixel_values=batch["pixel_values"])
    assert out.image_tokens is None and out.text_tokens is None and out.neg_text_embeds is None


def test_padding_to_the_longest_caption_does_not_change_pooled_output(tiny_config, batch):
    model = FSCCLIPModel(tiny_config).eval()
    ids, mask = batch["input_ids"], batch["attention_mask"]
    pad = tiny_config.text_config.pad_token_id
    longer = torch.cat([ids, torch.full((3, 67), pad)], dim=1)
    longer_mask = torch.cat([mask, torch.zeros(3, 67, dtype=mask.dtype)], dim=1)
    with torch.no_grad():
        short = model(input_ids=ids, attention_mask=mask, pixel_values=batch["pixel_values"])
        padded = model(input_ids=longer, attention_mask=longer_mask, pixel_values=batch["pixel_values"])
    torch.testing.assert_close(short.text_embeds, padded.text_embeds, atol=1e-6, rtol=0)


def test_mismatched_negative_shape_is_a_clear_error(tiny_config, batch):
    with pytest.raises(ValueError, match=r"neg_input_ids must be \(K, B, T\)"):
        FSCCLIPModel(tiny_config)(
            input_ids=batch["input_ids"], pixel_values=batch["pixel_values"], neg_input_ids=batch["neg_input_ids"][:, :, :5]
        )
