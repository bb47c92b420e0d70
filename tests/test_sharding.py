"""What can be checked of the sharded launch configurations without a GPU.

accelerate runs neither FSDP nor DeepSpeed on CPU (it keeps MULTI_CPU, plain DDP, when no accelerator
is present, and its FSDP1 plugin refuses to build), so the two-process step under FSDP cannot be run
here; these tests check what the launch reads from `accelerate_configs/fsdp.yaml` and what accelerate's
FSDP2 preparation asks of the model.
"""

import sys

from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils.launch import prepare_multi_gpu_env
from helpers.repo import REPO

from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config


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


def test_input_embeddings_are_the_text_token_embedding():
    """accelerate's FSDP2 preparation calls get_input_embeddings, which transformers' CLIPModel refuses."""
    model = FSCCLIPModel(tiny_clip_config())
    assert model.get_input_embeddings() is model.text_model.embeddings.token_embedding
