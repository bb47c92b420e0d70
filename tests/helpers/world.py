"""A tiny synthetic world and a random CLIP that fits it: what a local training run needs, offline."""

from pathlib import Path

import torch
from safetensors.torch import load_file

from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config


def write_tiny_world(root: Path, num_train: int, num_test: int) -> dict[str, str]:
    """Write the world (32-pixel images, one shard) and a tiny random CLIP (seed 0) under ``root``.

    Returns the paths as strings: ``shards``, ``processor``, ``model``, ``eval``.
    """
    write_synthetic_world(str(root / "world"), seed=0, num_train=num_train, num_test=num_test, image_size=32,
                          shard_size=250)
    meta = load_synthetic_world(str(root / "world"))
    config = tiny_clip_config(vocab_size=meta.vocab_size, image_size=32, eos_token_id=meta.eos_token_id,
                              bos_token_id=meta.bos_token_id, pad_token_id=meta.pad_token_id)
    torch.manual_seed(0)
    FSCCLIPModel(config).save_pretrained(root / "model")
    return dict(shards=str(root / "world" / "train-shards"), processor=str(root / "world" / "processor"),
                model=str(root / "model"), eval=str(root / "world" / "eval"))


def local_run(world: dict[str, str], output_dir, *extra: str) -> list[str]:
    """``recipes/train.py`` options of a short CPU run on ``world``: batches of 8, no checkpoints, no reports,
    every step logged, loading in the main process; ``extra`` adds or overrides options."""
    return [
        "--model_name_or_path", world["model"], "--processor_name_or_path", world["processor"],
        "--train_data", world["shards"], "--output_dir", str(output_dir), "--use_cpu", "true",
        "--per_device_train_batch_size", "8", "--report_to", "none", "--save_strategy", "no", "--logging_steps", "1",
        "--shuffle_buffer", "16", "--dataloader_num_workers", "0", *extra,
    ]


def final_weights(output_dir) -> dict[str, torch.Tensor]:
    """The weights a run released in ``output_dir/final``."""
    return load_file(Path(output_dir) / "final" / "model.safetensors")


def assert_same_weights(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], atol: float = 1e-5) -> None:
    assert set(got) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, atol=atol, rtol=0, msg=name)
