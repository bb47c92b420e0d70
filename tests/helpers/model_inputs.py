"""Model inputs shaped like real ones, for the numerical tests."""

import torch


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
