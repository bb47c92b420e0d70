"""Training as the authors' runs: open_clip's warm-up, the training crop, the authors' LoRA end to end."""

import math
from pathlib import Path

import pytest
import torch
from helpers.world import local_run
from safetensors.torch import load_file
from torch import nn
from transformers import CLIPModel, get_cosine_schedule_with_warmup
from transformers.trainer_callback import TrainerState

from fsc_clip_hf.data.augment import RandomResizedCrop
from fsc_clip_hf.lora.adapters import apply_lora
from fsc_clip_hf.modeling import FSCCLIPModel
from fsc_clip_hf.training import pipeline
from fsc_clip_hf.training.pipeline import run_training, save_final
from fsc_clip_hf.training.recipes import parse_args
from fsc_clip_hf.training.schedules import ScheduleFollowsGlobalStep, open_clip_cosine_schedule
from fsc_clip_hf.training.trainer import FSCTrainer


def open_clip_cosine_lr(base_lr, warmup, total, step):
    """open_clip's training/scheduler.py `cosine_lr`, as the authors call it before every step."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) * base_lr


def scheduled_lrs(scheduler, steps):
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    return lrs


def test_the_authors_schedule_is_open_clips_cosine_lr():
    optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=5e-6)
    lrs = scheduled_lrs(open_clip_cosine_schedule(optimizer, 50, 1955), 1955)
    assert lrs == pytest.approx([open_clip_cosine_lr(5e-6, 50, 1955, s) for s in range(1955)], rel=1e-12, abs=0)
    assert lrs[0] == pytest.approx(5e-6 / 50) and lrs[49] == pytest.approx(5e-6)

    # transformers' cosine: the same after the warm-up, one step behind during it (lr 0 at the first step).
    hf_optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=5e-6)
    hf = scheduled_lrs(get_cosine_schedule_with_warmup(hf_optimizer, 50, 1955), 1955)
    assert hf[0] == 0 and hf[1:51] == pytest.approx(lrs[:50], rel=1e-12)
    assert hf[50:] == pytest.approx(lrs[50:], rel=1e-12)


def test_a_step_the_loss_scaler_skipped_still_moves_the_schedule_on():
    optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = open_clip_cosine_schedule(optimizer, 10, 100)
    state = TrainerState()
    callback = ScheduleFollowsGlobalStep()
    for step in range(1, 6):
        state.global_step = step
        if step not in (2, 3):  # the Trainer steps the scheduler except after a skipped optimiser step
            optimizer.step()
            scheduler.step()
        callback.on_step_end(None, state, None, lr_scheduler=scheduler)
        assert scheduler.last_epoch == step
    assert scheduler.get_last_lr()[0] == pytest.approx(open_clip_cosine_lr(1.0, 10, 100, 5))


def options(world, output_dir, *extra):
    return local_run(world, output_dir, "--learning_rate", "1e-2", "--add_random_text_hard_negatives", "negclip",
                     "--warmup_style", "authors", "--warmup_steps", "2", "--train_transform", "open_clip", *extra)


def test_the_trainer_follows_the_authors_warm_up_and_crops_the_training_images(world, tmp_path):
    trainer = run_training(parse_args(options(world, tmp_path, "--max_steps", "3")))
    lrs = [entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry]
    assert lrs == pytest.approx([open_clip_cosine_lr(1e-2, 2, 3, s) for s in range(3)])  # 5e-3, 1e-2, 1e-2
    assert isinstance(trainer.data_collator.train_transform, RandomResizedCrop)
    assert trainer.data_collator.train_transform.size == 32


def test_the_authors_schedule_needs_the_cosine(world, tmp_path):
    with pytest.raises(ValueError, match="warmup_style='authors'.*lr_scheduler_type"):
        parse_args(options(world, tmp_path, "--lr_scheduler_type", "linear"))


def authors_lora(world, output_dir, *extra):
    return options(world, output_dir, "--use_lora", "true", "--lora_style", "authors", "--seed", "3", *extra)


def test_authors_lora_trains_merges_and_keeps_its_adapter(world, tmp_path):
    trainer = run_training(parse_args(authors_lora(world, tmp_path, "--max_steps", "2")))
    model = trainer.model
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    attention = model.base_model.model.text_model.encoder.layers[0].self_attn
    assert attention.q_proj.lora_A.default.weight is attention.v_proj.lora_A.default.weight  # still one A

    folder = Path(save_final(trainer))
    adapter = load_file(folder / "adapter" / "adapter_model.safetensors")
    shared = [adapter[f"base_model.model.text_model.encoder.layers.0.self_attn.{p}.lora_A.weight"]
              for p in ("q_proj", "k_proj", "v_proj")]
    assert torch.equal(shared[0], shared[1]) and torch.equal(shared[0], shared[2])
    conv_a = adapter["base_model.model.vision_model.embeddings.patch_embedding.lora_A.weight"]
    assert conv_a.shape == (4 * 8, 3 * 8)

    merged = CLIPModel.from_pretrained(folder)
    base = CLIPModel.from_pretrained(world["model"]).state_dict()
    changed = {n for n, t in merged.state_dict().items() if not torch.equal(t, base[n])}
    assert {"vision_model.embeddings.patch_embedding.weight", "text_model.encoder.layers.0.self_attn.k_proj.weight",
            "vision_model.encoder.layers.1.mlp.fc2.weight"} <= changed
    assert "logit_scale" not in changed and not any(n.endswith("bias") for n in changed)
    batch = next(iter(trainer.get_train_dataloader()))
    batch.pop("neg_mask")
    model.eval()
    with torch.no_grad():
        expected = model(**batch).image_embeds
        got = FSCCLIPModel.from_pretrained(folder)(**batch).image_embeds
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)

    # The released adapter loads into a model given the authors' form, the shared A included.
    fresh = apply_lora(FSCCLIPModel.from_pretrained(world["model"]), style="authors", seed=0)
    fresh.load_adapter(str(folder / "adapter"), adapter_name="default")
    fresh.eval()
    attention = fresh.base_model.model.text_model.encoder.layers[0].self_attn
    assert attention.q_proj.lora_A.default.weight is attention.k_proj.lora_A.default.weight
    with torch.no_grad():
        torch.testing.assert_close(fresh(**batch).image_embeds, expected, atol=1e-6, rtol=0)


def test_a_killed_authors_lora_run_resumes_to_the_same_adapter(world, tmp_path):
    common = ("--max_steps", "4", "--save_strategy", "steps", "--save_steps", "2")
    straight = run_training(parse_args(authors_lora(world, tmp_path / "straight", *common)))
    expected = {n: p.detach().clone() for n, p in straight.model.named_parameters() if p.requires_grad}

    class Stop(Exception):
        pass

    class CountingTrainer(FSCTrainer):
        """Counts its steps; killed (an exception out of the loop) before step `kill_at`."""
        kill_at, steps = None, 0

        def training_step(self, *args, **kwargs):
            if self.state.global_step == self.kill_at:
                raise Stop
            CountingTrainer.steps += 1
            return super().training_step(*args, **kwargs)

    original, pipeline.FSCTrainer = pipeline.FSCTrainer, CountingTrainer
    try:
        CountingTrainer.kill_at = 3
        with pytest.raises(Stop):
            run_training(parse_args(authors_lora(world, tmp_path / "killed", *common)))
        CountingTrainer.kill_at, CountingTrainer.steps = None, 0
        resumed = run_training(parse_args(authors_lora(world, tmp_path / "killed", *common,
                                                       "--resume_from_checkpoint", "last")))
    finally:
        pipeline.FSCTrainer = original
    assert CountingTrainer.steps == 2  # steps 3 and 4: the run went on from checkpoint-2
    attention = resumed.model.base_model.model.vision_model.encoder.layers[1].self_attn
    assert attention.q_proj.lora_A.default.weight is attention.k_proj.lora_A.default.weight
    got = {n: p for n, p in resumed.model.named_parameters() if p.requires_grad}
    assert set(got) == set(expected)
    for name, tensor in got.items():
        torch.testing.assert_close(tensor, expected[name], atol=1e-6, rtol=0, msg=name)
