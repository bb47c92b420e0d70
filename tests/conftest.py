import pytest
import torch

from fsc_clip_hf.modeling import tiny_clip_config


@pytest.fixture
def tiny_config():
    """A 2-layer CLIP with 32-wide towers, 32x32 images in 16 patches, 16-d embeddings."""
    return tiny_clip_config()


def random_text(batch_shape, length, config, generator=None):
    """Token ids shaped like a CLIP tokenizer's: start-of-text, words, end-of-text, padding."""
    text = config.text_config
    ids = torch.randint(0, text.vocab_size - 2, (*batch_shape, length), generator=generator)
    mask = torch.ones_like(ids)
    ids[..., 0] = text.bos_token_id
    lengths = torch.randint(3, length + 1, batch_shape, generator=generator)
    positions = torch.arange(length)
    ids = torch.where(positions == (lengths - 1).unsqueeze(-1), text.eos_token_id, ids)
    padding = positions >= lengths.unsqueeze(-1)
    ids = ids.masked_fill(padding, text.pad_token_id)
    return ids, mask.masked_fill(padding, 0)
