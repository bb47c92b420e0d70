"""The step of one process over the whole batch, taken other ways, through the commands users run: in chunks
(`--gradient_cache_chunk_size`, with gradient checkpointing), in chunks on two processes (torchrun, DDP) and on
two "nodes" (two torchrun launchers on 127.0.0.1, one process each, `accelerate_configs/multi_node.yaml`'s
layout); and a chunked run killed and resumed ends as an uninterrupted one.

Plain SGD at lr 1 without clipping makes the step the gradient itself; FSC-CLIP (local term included) with
`hn_global_mean`, whose hard-negative means are those of the whole batch also when the processes keep
different numbers of rows with a negative."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from helpers.processes import free_port
from helpers.repo import REPO
from helpers.stopped_train import STOPPED
from helpers.world import assert_same_weights, final_weights, local_run
from safetensors.torch import load_file

TRAIN = str(REPO / "recipes" / "train.py")
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def step_options(world, output_dir, batch, *extra):
    return local_run(world, output_dir, "--per_device_train_batch_size", str(batch), "--max_steps", "1",
                     "--shuffle_buffer", "0", "--hn_global_mean", "true", "--add_random_text_hard_negatives",
                     "negclip", "--optim", "sgd", "--learning_rate", "1", "--warmup_steps", "0", "--max_grad_norm", "0", *extra)


@pytest.fixture(scope="module")
def whole_batch(world, tmp_path_factory):
    """One process, one step over 8 pairs (32 in one shard: two processes' first batches of 4, dealt
    round-robin, are together this batch)."""
    output_dir = tmp_path_factory.mktemp("whole") / "run"
    subprocess.run([sys.executable, TRAIN, *step_options(world, output_dir, 8)], env=ENV, check=True, timeout=300,
                   capture_output=True)
    weights = final_weights(output_dir)
    start = load_file(Path(world["model"]) / "model.safetensors")
    assert sum((weights[name] - start[name]).abs().max() > 1e-3 for name in start) > 10  # a real step
    return weights


@pytest.mark.slow
def test_chunks_of_the_batch_take_the_step_of_the_whole_batch(world, whole_batch, tmp_path):
    """8 pairs in chunks of 3 (3, 3, 2) with gradient checkpointing. About 10 s."""
    done = subprocess.run([sys.executable, TRAIN, *step_options(world, tmp_path, 8, "--gradient_cache_chunk_size",
                                                                "3", "--gradient_checkpointing", "true")],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert yaml.safe_load((tmp_path / "final" / "recipe.yaml").read_text())["gradient_cache_chunk_size"] == 3
    assert_same_weights(final_weights(tmp_path), whole_batch)


@pytest.mark.slow
def test_two_processes_in_chunks_take_the_step_of_the_whole_batch(world, whole_batch, tmp_path):
    """torchrun, 2 x 4 pairs in chunks of 3 (3, 1): different chunk counts on the two processes. (The authors'
    gather without gradient is checked at the gradient level in test_gradient_cache.py.) About 15 s."""
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                           str(free_port()), TRAIN,
                           *step_options(world, tmp_path, 4, "--gradient_cache_chunk_size", "3")],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert_same_weights(final_weights(tmp_path), whole_batch)


@pytest.mark.slow
def test_two_nodes_take_the_step_of_the_whole_batch(world, whole_batch, tmp_path):
    """Two torchrun launchers, one per "node" (--nnodes 2 --node_rank 0|1, one process each), meeting on
    127.0.0.1: a multi-node run. About 15 s."""
    port = str(free_port())
    launchers = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank",
                                   str(rank), "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port",
                                   port, TRAIN, *step_options(world, tmp_path, 4)],
                                  env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for rank in (0, 1)]
    outputs = [launcher.communicate(timeout=300) for launcher in launchers]
    assert [launcher.returncode for launcher in launchers] == [0, 0], outputs[0][1][-3000:] + outputs[1][1][-3000:]
    run = yaml.safe_load((tmp_path / "final" / "recipe.yaml").read_text())["run"]
    assert run["processes"] == 2 and run["distributed"] == "multi_cpu"
    assert_same_weights(final_weights(tmp_path), whole_batch)


@pytest.mark.slow
def test_a_killed_chunked_run_resumes_to_the_same_weights(world, tmp_path):
    """Chunks of 3, 4 steps of Adam, a checkpoint every 2: killed after step 3 and resumed, or straight through.
    About 25 s."""
    def run(output_dir, *extra):
        return step_options(world, output_dir, 8, "--gradient_cache_chunk_size", "3", "--optim", "adamw_torch",
                            "--learning_rate", "1e-3", "--max_steps", "4", "--save_strategy", "steps",
                            "--save_steps", "2", *extra)

    subprocess.run([sys.executable, TRAIN, *run(tmp_path / "straight")], env=ENV, check=True, timeout=300,
                   capture_output=True)
    stopped = subprocess.run([sys.executable, str(REPO / "tests" / "helpers" / "stopped_train.py"), "3",
                              *run(tmp_path / "killed")], env=ENV, capture_output=True, text=True, timeout=300)
    assert stopped.returncode == STOPPED and (tmp_path / "killed" / "checkpoint-2").exists()
    subprocess.run([sys.executable, TRAIN, *run(tmp_path / "killed", "--resume_from_checkpoint", "last")], env=ENV,
                   check=True, timeout=300, capture_output=True)
    expected = final_weights(tmp_path / "straight")
    for name, value in final_weights(tmp_path / "killed").items():
        torch.testing.assert_close(value, expected[name], atol=1e-6, rtol=0, msg=name)
