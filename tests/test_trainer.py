"""FSCTrainer end to end on a tiny synthetic world: terms logged, LoRA, resume, two-process equivalence."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from helpers.data_fixtures import image_bytes, write_tar
from helpers.repo import REPO
from helpers.world import local_run
from safetensors.torch import load_file
from transformers import CLIPModel, CLIPProcessor, TrainerCallback

from fsc_clip_hf.data import FSCCollator, load_image_text_dataset
from fsc_clip_hf.data.synthetic import write_synthetic_world
from fsc_clip_hf.modeling import FSCCLIPModel
from fsc_clip_hf.training import pipeline
from fsc_clip_hf.training import trainer as trainer_module
from fsc_clip_hf.training.checkpoints import (
    COMPLETE_MARKER,
    DamagedCheckpoint,
    latest_complete_checkpoint,
    rotate_checkpoints,
    write_marker,
)
from fsc_clip_hf.training.pipeline import final_dir, run_training, save_final
from fsc_clip_hf.training.recipes import parse_args
from fsc_clip_hf.training.trainer import MAX_LOGIT_SCALE, FSCTrainer


def options(world, output_dir, *extra):
    return local_run(world, output_dir, "--learning_rate", "1e-3", "--warmup_steps", "0",
                     "--add_random_text_hard_negatives", "negclip", *extra)


def train(world, output_dir, *extra):
    return run_training(parse_args(options(world, output_dir, *extra)))


def test_every_term_and_the_logit_scale_are_logged_and_the_result_is_plain_clip(world, tmp_path):
    trainer = train(world, tmp_path, "--max_steps", "2")
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logged) == 2
    for entry in logged:
        assert {"contrastive_loss", "global_hn_loss", "local_hn_loss", "logit_scale"} <= set(entry)
        parts = entry["contrastive_loss"] + entry["global_hn_loss"] + entry["local_hn_loss"]
        assert parts == pytest.approx(entry["loss"], rel=1e-3)
    folder = save_final(trainer)
    model = CLIPModel.from_pretrained(folder)
    assert model.config.architectures == ["CLIPModel"]
    trained = trainer.model.state_dict()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, trained[name]), name
    assert (Path(folder) / "README.md").exists() and (Path(folder) / "processor_config.json").exists()


def test_eval_benchmarks_are_evaluated_and_logged_during_training(world, tmp_path):
    eval_dir = str(Path(world["shards"]).parent / "eval")
    trainer = train(world, tmp_path, "--max_steps", "2", "--eval_strategy", "steps", "--eval_steps", "1",
                    "--eval_benchmarks", "synthetic", "--eval_data_root", eval_dir)
    evaluations = [entry for entry in trainer.state.log_history if "eval_synthetic/comp" in entry]
    assert [entry["step"] for entry in evaluations] == [1, 2]
    assert all(0 <= entry["eval_synthetic/zs"] <= 100 for entry in evaluations)
    trainer.model.train()
    assert trainer.evaluate()["eval_synthetic/comp"] == evaluations[-1]["eval_synthetic/comp"]
    assert trainer.model.training  # training goes on in training mode

    # The final model is evaluated once more, and the release carries the results and the report.
    folder = Path(save_final(trainer))
    results = json.loads((folder / "results.json").read_text())
    assert results["synthetic"]["summary"]["comp"] == pytest.approx(evaluations[-1]["eval_synthetic/comp"])
    assert {path.name for path in (folder / "eval").iterdir()} == {"results.md", "comp_vs_zs.png"}
    card = (folder / "README.md").read_text()
    assert f"| {results['synthetic']['summary']['comp']:.1f} |" in card and "Not evaluated yet" not in card


def test_unknown_or_missing_eval_benchmark_fails_before_training(world, tmp_path):
    eval_dir = str(Path(world["shards"]).parent / "eval")
    with pytest.raises(ValueError, match="eval_benchmarks.*nosuchbench"):
        train(world, tmp_path, "--max_steps", "1", "--eval_benchmarks", "synthetic,nosuchbench",
              "--eval_data_root", eval_dir)
    with pytest.raises(ValueError, match=r"eval_benchmarks: no data for \['sugarcrepe'\]"):
        train(world, tmp_path, "--max_steps", "1", "--eval_benchmarks", "synthetic,sugarcrepe",
              "--eval_data_root", eval_dir)


def test_weight_decay_skips_biases_norms_embeddings_and_the_logit_scale(world, tmp_path):
    trainer = FSCTrainer(model=FSCCLIPModel.from_pretrained(world["model"]),
                         args=parse_args(options(world, tmp_path, "--max_steps", "1")))
    decayed = set(trainer.get_decay_parameter_names(trainer.model))
    assert "logit_scale" not in decayed and "vision_model.embeddings.class_embedding" not in decayed
    assert not any(name.endswith(".bias") or "layer_norm" in name or "layrnorm" in name for name in decayed)
    assert "text_model.encoder.layers.0.self_attn.q_proj.weight" in decayed


def test_logit_scale_is_clamped_at_ln_100(world, tmp_path):
    class PushScale(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            with torch.no_grad():
                model.logit_scale.fill_(10.0)

    args = parse_args(options(world, tmp_path, "--max_steps", "1", "--loss_name", "clip"))
    model = FSCCLIPModel.from_pretrained(world["model"])
    data = load_image_text_dataset(world["shards"], shuffle_buffer=0)
    trainer = FSCTrainer(model=model, args=args, train_dataset=data.dataset,
                         data_collator=FSCCollator(CLIPProcessor.from_pretrained(world["processor"])),
                         callbacks=[PushScale()])
    trainer.train()
    assert model.logit_scale.item() == pytest.approx(MAX_LOGIT_SCALE)


def test_lora_trains_adapters_only_and_saves_merged_weights_and_the_adapter(world, tmp_path):
    trainer = train(world, tmp_path, "--max_steps", "2", "--use_lora", "true", "--learning_rate", "1e-2")
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert any("patch_embedding" in n for n in trainable) and any("fc1" in n for n in trainable)
    folder = Path(save_final(trainer))
    assert (folder / "adapter" / "adapter_config.json").exists()
    merged = CLIPModel.from_pretrained(folder).state_dict()
    base = CLIPModel.from_pretrained(world["model"]).state_dict()
    changed = [n for n in base if not torch.equal(base[n], merged[n])]
    assert "text_model.encoder.layers.0.self_attn.q_proj.weight" in changed
    assert "logit_scale" not in changed and "text_model.embeddings.token_embedding.weight" not in changed


class StopAt(TrainerCallback):
    """Kills the run (an exception out of the loop) once `step` optimiser steps are done."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_a_killed_run_resumes_to_the_same_weights(world, tmp_path):
    common = ("--max_steps", "6", "--save_strategy", "steps", "--save_steps", "2", "--seed", "3")
    straight = train(world, tmp_path / "straight", *common)
    expected = {k: v.clone() for k, v in straight.model.state_dict().items()}

    args = parse_args(options(world, tmp_path / "killed", *common))
    original = pipeline.FSCTrainer

    class KilledTrainer(original):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.add_callback(StopAt(5))

    pipeline.FSCTrainer = KilledTrainer
    try:
        with pytest.raises(KeyboardInterrupt):
            run_training(args)
    finally:
        pipeline.FSCTrainer = original
    # A save cut short leaves a folder without the marker: resuming must pass over it.
    partial = tmp_path / "killed" / "checkpoint-5"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"truncated")
    assert (tmp_path / "killed" / "checkpoint-4" / COMPLETE_MARKER).exists()

    resumed = train(world, tmp_path / "killed", *common, "--resume_from_checkpoint", "last")
    for name, tensor in resumed.model.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], atol=1e-6, rtol=0, msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("objective", [("--loss_name", "clip"), ("--hn_global_mean", "true")],
                         ids=["negclip", "fsc-clip_global_mean"])
def test_two_processes_of_b_step_like_one_process_of_2b(world, tmp_path, objective):
    """torchrun (gloo) with 2 x 4 samples against one process with 8: the same step.

    Plain SGD at lr 1 without clipping makes the step the gradient itself (Adam's first step,
    lr * sign(g), would blow the rounding noise of gradients that are zero up to rounding, such as a key
    bias, up to +-lr). FSC-CLIP's hard-negative terms are by default per-process means over the rows
    that have a negative (the authors' reduction); in this world the two processes keep 3 and 4 rows,
    so FSC-CLIP matches one process with hn_global_mean only.
    """
    common = ("--max_steps", "1", "--shuffle_buffer", "0", *objective,
              "--add_random_text_hard_negatives", "negclip", "--dataloader_num_workers", "0",
              "--optim", "sgd", "--learning_rate", "1", "--max_grad_norm", "0")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    # 32 samples in one shard: split_dataset_by_node deals examples round-robin, so the two
    # processes' first batches of 4 are together the single process's first batch of 8.
    single = options(world, tmp_path / "one", *common)
    single[single.index("--per_device_train_batch_size") + 1] = "8"
    double = options(world, tmp_path / "two", *common)
    double[double.index("--per_device_train_batch_size") + 1] = "4"
    subprocess.run([sys.executable, str(REPO / "recipes" / "train.py"), *single], check=True, env=env, timeout=300)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
                    str(REPO / "recipes" / "train.py"), *double], check=True, env=env, timeout=300)
    one = load_file(Path(final_dir(parse_args(single))) / "model.safetensors")
    two = load_file(Path(final_dir(parse_args(double))) / "model.safetensors")
    start = CLIPModel.from_pretrained(world["model"]).state_dict()
    steps = {n: (one[n] - start[n]).abs().max().item() for n in one}
    assert sum(step > 1e-3 for step in steps.values()) > 10  # the step really changed the weights
    for name in one:
        torch.testing.assert_close(two[name], one[name], atol=1e-5, rtol=0, msg=name)


@pytest.fixture(scope="module")
def sharded(world, tmp_path_factory):
    """30 samples in shards of 8 (8, 8, 8, 6) and one shard with 2 bad samples among 3 good ones: the
    DataLoader workers get unequal shares and stream positions run ahead of the sample counts."""
    root = tmp_path_factory.mktemp("sharded")
    write_synthetic_world(str(root / "world"), seed=1, num_train=30, num_test=4, image_size=32, shard_size=8)
    shards = root / "world" / "train-shards"
    picture = image_bytes(size=(32, 32))
    write_tar(str(shards / "train-zz-mixed.tar"), [
        ("m0", {"png": picture, "txt": b"there is a red circle"}),
        ("m1", {"png": b"not an image", "txt": b"there is a blue square"}),
        ("m2", {"png": picture, "txt": b"there is a small green triangle"}),
        ("m3", {"png": picture, "txt": b""}),
        ("m4", {"png": picture, "txt": b"there is a large red square"}),
    ])
    return dict(world, shards=str(shards))


class SaveAt(TrainerCallback):
    """Checkpoints at the given steps only (writing one per step would slow the test down)."""

    def __init__(self, steps):
        self.steps = steps

    def on_step_end(self, args, state, control, **kwargs):
        control.should_save = state.global_step in self.steps


@pytest.mark.parametrize("workers,max_steps,saves", [(0, 13, (3, 12)), (2, 9, (2, 7))])
def test_resume_from_any_epoch_with_workers_ends_with_the_same_weights(sharded, tmp_path, monkeypatch, workers,
                                                                        max_steps, saves):
    """A checkpoint in the middle of epoch 0 and one in the middle of epoch 2, resumed in new folders, end
    equal to the uninterrupted run. 0 workers: 5 batches per epoch (the last one partial); 2 workers with
    their last partial batches dropped: 3 (2 from one worker, 1 from the other)."""
    common = ("--max_steps", str(max_steps), "--seed", "5", "--dataloader_num_workers", str(workers),
              "--dataloader_drop_last", str(workers > 0).lower(), "--dataloader_persistent_workers", "true")
    original = pipeline.FSCTrainer

    class Saving(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.add_callback(SaveAt(saves))

    monkeypatch.setattr(pipeline, "FSCTrainer", Saving)
    straight = train(sharded, tmp_path / "straight", *common)
    monkeypatch.setattr(pipeline, "FSCTrainer", original)
    expected = {k: v.clone() for k, v in straight.model.state_dict().items()}
    for step, epoch in zip(saves, (0, 2)):
        checkpoint = tmp_path / "straight" / f"checkpoint-{step}"
        state = json.loads((checkpoint / "data_state-0.json").read_text())
        assert state["epoch"] == epoch and 0 < sum(taken for taken, _ in state["workers"].values())  # mid-epoch
        resumed = train(sharded, tmp_path / f"from-{step}", *common, "--resume_from_checkpoint", str(checkpoint))
        assert resumed.state.global_step == max_steps
        for name, tensor in resumed.model.state_dict().items():
            torch.testing.assert_close(tensor, expected[name], atol=1e-6, rtol=0, msg=f"{name} from step {step}")


def test_rotation_waits_for_the_marker_so_a_kill_while_saving_keeps_a_complete_checkpoint(world, tmp_path, monkeypatch,
                                                                                           caplog):
    def killed_at_step_3(folder, step):
        if step == 3:
            raise KeyboardInterrupt  # after the files, before the marker
        write_marker(folder, step)

    monkeypatch.setattr(trainer_module, "write_marker", killed_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        train(world, tmp_path, "--max_steps", "4", "--save_strategy", "steps", "--save_steps", "1",
              "--save_total_limit", "1")
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    assert latest_complete_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-2")
    # Only marked checkpoints count: the next complete one replaces checkpoint-2 and the partial leftover.
    rotate_checkpoints(str(tmp_path), 1)
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    (tmp_path / "checkpoint-4").mkdir()
    write_marker(str(tmp_path / "checkpoint-4"), 4)
    rotate_checkpoints(str(tmp_path), 1)
    assert [p.name for p in tmp_path.glob("checkpoint-*")] == ["checkpoint-4"]


def test_a_damaged_checkpoint_is_named_and_the_one_before_is_resumed(world, tmp_path, caplog):
    common = ("--max_steps", "4", "--save_strategy", "steps", "--save_steps", "2", "--seed", "4")
    straight = train(world, tmp_path, *common)
    expected = {k: v.clone() for k, v in straight.model.state_dict().items()}
    marker = json.loads((tmp_path / "checkpoint-4" / COMPLETE_MARKER).read_text())
    assert {"model.safetensors", "optimizer.pt", "trainer_state.json", "data_state-0.json"} <= set(marker["files"])
    weights = tmp_path / "checkpoint-4" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated after it was written
    with pytest.raises(DamagedCheckpoint, match=r"checkpoint-4/model.safetensors: \d+ bytes, \d+ when written"):
        train(world, tmp_path, *common, "--resume_from_checkpoint", str(tmp_path / "checkpoint-4"))
    resumed = train(world, tmp_path, *common, "--resume_from_checkpoint", "last")
    assert "checkpoint-4/model.safetensors" in caplog.text
    assert resumed.state.global_step == 4
    for name, tensor in resumed.model.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], atol=1e-6, rtol=0, msg=name)


def test_the_hub_token_never_reaches_a_checkpoint(world, tmp_path):
    trainer = train(world, tmp_path, "--max_steps", "1", "--save_strategy", "steps", "--save_steps", "1",
                    "--hub_token", "hf_secret_token_123")
    saved = tmp_path / "checkpoint-1" / "training_args.bin"
    assert b"hf_secret_token_123" not in saved.read_bytes()
    assert torch.load(saved, weights_only=False).hub_token is None
    assert trainer.args.hub_token == "hf_secret_token_123"  # still there for the upload


HUNG_RANK = """
import os, signal, sys
from transformers import TrainerCallback
from fsc_clip_hf.training import pipeline
from fsc_clip_hf.training.recipes import parse_args


class StopsAtStep2(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if args.process_index == 1 and state.global_step == 2:
            with open(os.environ["HUNG_PID_FILE"], "w") as handle:  # the test kills it at the end
                handle.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGSTOP)  # hung: alive, holding its sockets, never answering


class HungTrainer(pipeline.FSCTrainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_callback(StopsAtStep2())


pipeline.FSCTrainer = HungTrainer
pipeline.run_training(parse_args(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_hung_process_fails_the_run_after_ddp_timeout_with_a_message(world, tmp_path):
    """Process 1 stops itself (SIGSTOP) after step 2; process 0 must fail within ddp_timeout, saying why,
    and torchrun then stops the run. (torchrun gives the stopped process 30 s to end on SIGTERM before it
    kills it: once it has begun to stop the run, the test kills it all instead of waiting.)"""
    script = tmp_path / "hung.py"
    script.write_text(HUNG_RANK)
    run = options(world, tmp_path / "out", "--max_steps", "20", "--ddp_timeout", "8", "--loss_name", "clip",
                  "--shuffle_buffer", "0")
    at = run.index("--add_random_text_hard_negatives")
    del run[at:at + 2]  # no negatives: no spaCy to load
    run[run.index("--per_device_train_batch_size") + 1] = "2"
    pid_file = tmp_path / "hung.pid"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), HUNG_PID_FILE=str(pid_file))
    started = time.monotonic()
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                                 "--master_port", "29534", "--monitor-interval", "0.5", str(script), *run],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    watchdog = threading.Timer(150, os.killpg, (launcher.pid, signal.SIGKILL))
    watchdog.start()
    lines, failed_at = [], None
    try:
        for line in launcher.stdout:
            lines.append(line)
            if "a collective operation waited more than ddp_timeout=8s" in line and failed_at is None:
                failed_at = time.monotonic()
            if failed_at is not None and "closing signal SIGTERM" in line:
                break  # process 0 has exited with the error and torchrun is stopping the run
    finally:
        watchdog.cancel()
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        if pid_file.exists():  # torchrun's workers may sit outside its process group: never leave one stopped
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    output = "".join(lines)
    assert failed_at is not None, output[-3000:]
    assert "process 0: a collective operation waited more than ddp_timeout=8s" in output
    assert "closing signal SIGTERM" in output
    assert time.monotonic() - started < 60
