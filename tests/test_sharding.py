"""The sharding engines through the commands users run, on two CPU processes (gloo): FSDP2 (`--fsdp`,
`accelerate_configs/fsdp.yaml`) and DeepSpeed ZeRO-2 / ZeRO-3 (`--deepspeed accelerate_configs/...json`) train
like DDP, resume exactly, keep plain CLIP weights in every file they write and record the engine; a run gets
the engine it asked for or stops with a message before anything loads."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils.launch import prepare_multi_gpu_env
from helpers.processes import free_port
from helpers.repo import REPO
from helpers.stopped_train import STOPPED
from helpers.world import assert_same_weights, final_weights, local_run
from safetensors.torch import load_file
from transformers import CLIPModel

from fsc_clip_hf.cli.train import train_main
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config
from fsc_clip_hf.training import recipes
from fsc_clip_hf.training.checkpoints import COMPLETE_MARKER
from fsc_clip_hf.training.recipes import RecipeError, parse_args

TRAIN = str(REPO / "recipes" / "train.py")
STOPPED_TRAIN = str(REPO / "tests" / "helpers" / "stopped_train.py")
ENGINES = {
    "fsdp": ["--fsdp", "full_shard", "--fsdp_config", '{"fsdp_version": 2}'],
    "zero2": ["--deepspeed", str(REPO / "accelerate_configs" / "deepspeed_zero2.json")],
    "zero3": ["--deepspeed", str(REPO / "accelerate_configs" / "deepspeed_zero3.json")],
}
RECORDED = {"ddp": {"distributed": "multi_cpu"}, "fsdp": {"distributed": "fsdp", "fsdp_version": 2},
            "zero2": {"distributed": "deepspeed", "zero_stage": 2}, "zero3": {"distributed": "deepspeed", "zero_stage": 3}}
FIRST_LINE = {"ddp": "engine DDP over 2 processes", "fsdp": "engine FSDP2 over 2 processes",
              "zero2": "engine DeepSpeed ZeRO-2 over 2 processes", "zero3": "engine DeepSpeed ZeRO-3 over 2 processes"}


@pytest.fixture(scope="module")
def clamped_world(world, tmp_path_factory):
    """The tiny world with a model whose logit scale starts above ln 100: every step's clamp acts, so an engine
    that clamps a copy the optimiser does not read ends with another logit scale than DDP."""
    model = FSCCLIPModel.from_pretrained(world["model"])
    model.logit_scale.data.fill_(4.7)
    folder = tmp_path_factory.mktemp("clamped") / "model"
    model.save_pretrained(folder)
    return dict(world, model=str(folder))


def options(world, output_dir, *extra):
    """4 steps of 2 x 4 pairs, a checkpoint every 2; Adam's epsilon at the recipes' 1e-6 keeps the parameters
    whose gradient is zero up to rounding (attention key biases) from taking rounding-sized steps of size lr."""
    return local_run(world, output_dir, "--per_device_train_batch_size", "4", "--max_steps", "4",
                     "--learning_rate", "1e-3", "--warmup_steps", "0", "--adam_epsilon", "1e-6",
                     "--add_random_text_hard_negatives", "negclip", "--shuffle_buffer", "0",
                     "--save_strategy", "steps", "--save_steps", "2", *extra)


def torchrun(script, *argv, check=True):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                           str(free_port()), script, *argv], env=env, capture_output=True, text=True, timeout=600,
                          check=check)


def assert_recorded(output_dir, log, engine):
    run = yaml.safe_load((Path(output_dir) / "final" / "recipe.yaml").read_text())["run"]
    assert {key: run[key] for key in RECORDED[engine]} == RECORDED[engine]
    assert run["processes"] == 2
    assert FIRST_LINE[engine] in log
    if engine != "ddp":
        card = (Path(output_dir) / "final" / "README.md").read_text()
        assert "| Distributed engine | " + {"fsdp": "fsdp (FSDP2)", "zero2": "deepspeed ZeRO-2",
                                            "zero3": "deepspeed ZeRO-3"}[engine] in card


@pytest.fixture(scope="module")
def ddp_run(clamped_world, tmp_path_factory):
    """The reference: the same 4 steps under DDP."""
    output_dir = tmp_path_factory.mktemp("ddp") / "run"
    done = torchrun(TRAIN, *options(clamped_world, output_dir))
    assert_recorded(output_dir, done.stderr, "ddp")
    return final_weights(output_dir)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_engine_trains_like_ddp_and_a_killed_run_resumes_to_the_same_weights(clamped_world, ddp_run, tmp_path,
                                                                             engine):
    """Killed after step 3 (its checkpoint of step 2 written), resumed to step 4 under the same engine: the
    weights of the 4 DDP steps. About 30 s per engine on 2 cores (two two-process runs)."""
    output_dir = tmp_path / "run"
    run = options(clamped_world, output_dir, *ENGINES[engine])
    stopped = torchrun(STOPPED_TRAIN, "3", *run, check=False)
    assert stopped.returncode != 0 and stopped.stderr.count(f"exitcode  : {STOPPED}") == 2, stopped.stderr[-3000:]
    checkpoint = output_dir / "checkpoint-2"
    assert (checkpoint / COMPLETE_MARKER).exists() and not (output_dir / "checkpoint-4").exists()
    # The checkpoint's model file is a plain CLIP checkpoint, scalar logit scale included.
    assert CLIPModel.from_pretrained(checkpoint).logit_scale.shape == ()

    resumed = torchrun(TRAIN, *run, "--resume_from_checkpoint", "last")
    assert "Traceback" not in resumed.stderr
    assert_recorded(output_dir, resumed.stderr, engine)
    weights = final_weights(output_dir)
    assert weights["logit_scale"].shape == () and weights["logit_scale"] <= math.log(100) + 1e-6  # clamped
    assert_same_weights(weights, ddp_run)


@pytest.mark.slow
@pytest.mark.parametrize("style, engines", [("authors", ("fsdp", "zero3")), ("peft", ("fsdp",))])
def test_lora_under_fsdp2_and_zero3_trains_like_ddp(world, tmp_path, style, engines):
    """Both LoRA forms under FSDP2, and the authors' (its q/k/v factor tied) under ZeRO-3, which partitions the
    frozen base weights too: 2 steps against DDP; final/ holds the merged plain weights and the adapter. About
    40 s for the authors' form, 25 s for peft's."""
    lora = ("--use_lora", "true", "--lora_style", style, "--learning_rate", "1e-2", "--max_steps", "2",
            "--save_strategy", "no")
    torchrun(TRAIN, *options(world, tmp_path / "ddp", *lora))
    expected = final_weights(tmp_path / "ddp")
    start = load_file(Path(world["model"]) / "model.safetensors")
    assert any((expected[name] - start[name]).abs().max() > 1e-4 for name in start)  # the adapters trained
    for engine in engines:
        done = torchrun(TRAIN, *options(world, tmp_path / engine, *ENGINES[engine], *lora))
        assert "Traceback" not in done.stderr
        assert_recorded(tmp_path / engine, done.stderr, engine)
        assert (tmp_path / engine / "final" / "adapter" / "adapter_config.json").exists()
        assert_same_weights(final_weights(tmp_path / engine), expected)


@pytest.mark.slow
def test_fsdp_yaml_runs_its_engine_on_cpu(world, tmp_path):
    """`accelerate launch --config_file accelerate_configs/fsdp.yaml` (bf16, FSDP2, CPU-RAM-efficient loading) on
    two CPU processes: FSDP2 in bf16 is what the run records. About 25 s."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                           str(REPO / "accelerate_configs" / "fsdp.yaml"), "--num_processes", "2",
                           "--main_process_port", str(free_port()), TRAIN,
                           *options(world, tmp_path, "--max_steps", "1", "--save_strategy", "no")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    run = yaml.safe_load((tmp_path / "final" / "recipe.yaml").read_text())["run"]
    assert run["distributed"] == "fsdp" and run["fsdp_version"] == 2 and run["precision"] == "bf16"
    assert CLIPModel.from_pretrained(tmp_path / "final").logit_scale.shape == ()


@pytest.mark.slow
def test_deepspeed_in_bf16_releases_its_fp32_master_weights(world, tmp_path):
    """ZeRO-2 with the recipe switched to bf16 trains a bf16 copy of the weights over fp32 master weights:
    final/ holds the master weights (not all of them bf16 values), as DDP's autocast keeps fp32 weights. About
    15 s."""
    done = torchrun(TRAIN, *options(world, tmp_path, *ENGINES["zero2"], "--bf16", "true", "--max_steps", "1",
                                    "--save_strategy", "no"))
    assert "Traceback" not in done.stderr
    run = yaml.safe_load((tmp_path / "final" / "recipe.yaml").read_text())["run"]
    assert run["precision"] == "bf16" and run["zero_stage"] == 2
    weights = final_weights(tmp_path)
    assert all(value.dtype == torch.float32 for value in weights.values())
    assert sum(bool((value != value.bfloat16().float()).any()) for value in weights.values()) > len(weights) / 2


def test_fsdp_config_as_accelerate_launch_reads_it():
    args = launch_command_parser().parse_args(
        ["--config_file", str(REPO / "accelerate_configs" / "fsdp.yaml"), "--num_processes", "2", sys.argv[0]])
    env = prepare_multi_gpu_env(_validate_launch_command(args)[0])
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
    assert env["FSDP_STATE_DICT_TYPE"] == "FULL_STATE_DICT" and env["FSDP_RESHARD_AFTER_FORWARD"] == "true"
    # The layer class to wrap must exist in both towers, or nothing but the root would be sharded.
    model = FSCCLIPModel(tiny_clip_config())
    wrapped = [name for name, module in model.named_modules()
               if type(module).__name__ == env["FSDP_TRANSFORMER_CLS_TO_WRAP"]]
    assert len(wrapped) == 4 and {name.split(".")[0] for name in wrapped} == {"text_model", "vision_model"}
    # cpu_ram_efficient_loading needs sync_module_states (accelerate's launcher enforces the pair).
    assert env["FSDP_CPU_RAM_EFFICIENT_LOADING"] == "true" and env["FSDP_SYNC_MODULE_STATES"] == "true"


def test_multi_node_config_as_the_slurm_example_launches_it():
    """The accelerate launch of accelerate_configs/slurm_multi_node.sbatch, as SLURM's second node runs it."""
    script = (REPO / "accelerate_configs" / "slurm_multi_node.sbatch").read_text()
    assert "--machine_rank \"$SLURM_NODEID\"" in script and "multi_node.yaml" in script
    args = launch_command_parser().parse_args(
        ["--config_file", str(REPO / "accelerate_configs" / "multi_node.yaml"), "--num_machines", "2",
         "--num_processes", "8", "--machine_rank", "1", "--main_process_ip", "10.1.2.3", "--main_process_port",
         "29500", sys.argv[0]])
    launch = _validate_launch_command(args)[0]
    prepare_multi_gpu_env(launch)  # sets torchrun's arguments on `launch`
    assert (launch.nnodes, launch.node_rank, launch.nproc_per_node) == ("2", 1, "4")
    endpoint = getattr(launch, "rdzv_endpoint", None) or f"{launch.master_addr}:{launch.master_port}"
    assert endpoint == "10.1.2.3:29500"


@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_configs_follow_the_recipe_and_the_yaml_reads_the_json(stage):
    """One engine configuration per stage: the JSON (for --deepspeed) leaves precision, batch, accumulation and
    clipping to the recipe ("auto"); the accelerate config points at it."""
    config = json.loads((REPO / "accelerate_configs" / f"deepspeed_zero{stage}.json").read_text())
    assert config["zero_optimization"]["stage"] == stage
    assert {config[key] for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                                    "gradient_clipping")} == {"auto"}
    assert config["fp16"]["enabled"] == config["bf16"]["enabled"] == "auto"
    launch = yaml.safe_load((REPO / "accelerate_configs" / f"deepspeed_zero{stage}.yaml").read_text())
    assert launch["distributed_type"] == "DEEPSPEED"
    assert launch["deepspeed_config"]["deepspeed_config_file"] == f"accelerate_configs/deepspeed_zero{stage}.json"


def test_input_embeddings_are_the_text_token_embedding():
    """accelerate's FSDP2 preparation calls get_input_embeddings, which transformers' CLIPModel refuses; the units
    it shards by default are the encoder layers, not the embedding modules that hold the token embedding."""
    model = FSCCLIPModel(tiny_clip_config())
    assert model.get_input_embeddings() is model.text_model.embeddings.token_embedding
    assert model._no_split_modules == {"CLIPEncoderLayer"}


@pytest.mark.parametrize("extra, option, problem", [
    (ENGINES["fsdp"], "fsdp", "this run has one"),
    (["--fsdp", "full_shard", "--fsdp_config", '{"fsdp_version": 1}'], "fsdp", "FSDP1: this project shards with"),
    ([*ENGINES["zero2"], "--gradient_cache_chunk_size", "2"], "gradient_cache_chunk_size", "DeepSpeed ZeRO-2"),
    ([*ENGINES["zero3"], "--eval_benchmarks", "synthetic"], "eval_benchmarks", "recipes/eval.py"),
])
def test_what_an_engine_cannot_do_is_refused_naming_the_option(world, tmp_path, extra, option, problem):
    with pytest.raises(RecipeError) as error:
        parse_args(local_run(world, tmp_path, "--add_random_text_hard_negatives", "negclip", *extra))
    assert str(error.value).startswith(f"the command line: {option}: ") and problem in str(error.value)


def test_deepspeed_asked_without_deepspeed_installed_says_how_to_install_it(world, tmp_path, monkeypatch, capsys):
    """Where the extra is not installed (transformers would fail on --deepspeed with an unrelated TypeError):
    exit 2, the install command, nothing written."""
    monkeypatch.setattr(recipes, "deepspeed_installed", lambda: False)
    output_dir = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_status:
        train_main(local_run(world, output_dir, "--add_random_text_hard_negatives", "negclip", *ENGINES["zero2"]))
    assert exit_status.value.code == 2
    message = capsys.readouterr().out  # refusals print on standard output
    assert message.startswith("error: the command line: deepspeed: ") and 'pip install -e ".[deepspeed]"' in message
    assert not output_dir.exists()
