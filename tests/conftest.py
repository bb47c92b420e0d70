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


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """A small synthetic world (shards, processor, eval sets) and a tiny random CLIP saved beside it:
    what a local run needs, offline. Paths as strings: shards, processor, model, eval."""
    from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
    from fsc_clip_hf.modeling import FSCCLIPModel

    root = tmp_path_factory.mktemp("tiny_world")
    write_synthetic_world(str(root / "world"), seed=0, num_train=16, num_test=4, image_size=32, shard_size=250)
    meta = load_synthetic_world(str(root / "world"))
    config = tiny_clip_config(vocab_size=meta.vocab_size, image_size=32, eos_token_id=meta.eos_token_id,
                              bos_token_id=meta.bos_token_id, pad_token_id=meta.pad_token_id)
    torch.manual_seed(0)
    FSCCLIPModel(config).save_pretrained(root / "model")
    return dict(shards=str(root / "world" / "train-shards"), processor=str(root / "world" / "processor"),
                model=str(root / "model"), eval=str(root / "world" / "eval"))
