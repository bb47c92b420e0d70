"""The distributed engine of a run: the one asked for, or a refusal that names the option.

Engines: DDP (several processes and nothing else asked), FSDP2 (`--fsdp full_shard`, or accelerate's `FSDP`
config) and DeepSpeed ZeRO (`--deepspeed <config.json>`, or accelerate's `DEEPSPEED` config). accelerate
builds FSDP for GPUs only and keeps DDP on CPU without a word; FSDP2 shards on CPU over gloo as well, so a
CPU run gets the FSDP2 state it asked for (`adopt_engine`), and any other mismatch stops the run.

CLIP's `logit_scale` is a 0-D parameter, which neither FSDP2 (`fully_shard`) nor DeepSpeed (it views every
parameter as bytes) can shard. Under both engines the model holds it as a 1-element vector while it trains
(`vector_logit_scale`); every file written from it holds the scalar again (`scalar_logit_scale`), so the
checkpoints' `model.safetensors`, `final/` and the Hub release stay plain `CLIPModel` weights. The engines'
own resume files (FSDP's `pytorch_model_fsdp.bin`, DeepSpeed's `global_step*/`) keep the vector: only the
engine reads them, into the same vector.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import torch

DDP = "ddp"
FSDP = "fsdp"
DEEPSPEED = "deepspeed"
LOGIT_SCALE = "logit_scale"
DEEPSPEED_INSTALL = "pip install -e \".[deepspeed]\" (after torch; DeepSpeed builds from source without compiled ops)"


@dataclass(frozen=True)
class Engine:
    """``name``: ddp (also for one process), fsdp or deepspeed; ``version``: FSDP's version or the ZeRO stage;
    ``option``: where it was asked for, for messages."""

    name: str
    version: int | None = None
    option: str | None = None

    def __str__(self) -> str:
        if self.name == FSDP:
            return f"FSDP{self.version}"
        if self.name == DEEPSPEED:
            return f"DeepSpeed ZeRO-{self.version}"
        return "DDP"

    def same(self, other: Engine) -> bool:
        return (self.name, self.version) == (other.name, other.version)

    def describe(self, processes: int) -> str:
        """For the first log line: the engine and the processes it runs on."""
        if self.name == DDP and processes == 1:
            return "one process"
        return f"{self} over {processes} process{'es' if processes > 1 else ''}"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "false").lower() in ("1", "true", "yes")


def requested_engine(args) -> Engine:
    """The engine `args` (and accelerate's launch environment) ask for."""
    if args.deepspeed:
        stage = args.hf_deepspeed_config.config.get("zero_optimization", {}).get("stage", 0)
        return Engine(DEEPSPEED, int(stage), f"--deepspeed {args.deepspeed}")
    if _env_flag("ACCELERATE_USE_DEEPSPEED"):
        return Engine(DEEPSPEED, int(args.deepspeed_plugin.zero_stage), "the accelerate config (DEEPSPEED)")
    if args.fsdp_plugin_args is not None:
        return Engine(FSDP, int(args.fsdp_plugin_args["fsdp_version"]), "--fsdp")
    if _env_flag("ACCELERATE_USE_FSDP"):
        return Engine(FSDP, int(os.environ.get("FSDP_VERSION", "1")), "the accelerate config (FSDP)")
    return Engine(DDP)


def deepspeed_installed() -> bool:
    return importlib.util.find_spec("deepspeed") is not None


def engine_problems(args) -> list[tuple[str, str]]:
    """What the engine asked for cannot do in this run, as (option, problem) pairs, before anything loads."""
    engine = requested_engine(args)
    problems = []
    if engine.name == FSDP:
        if engine.version != 2:
            problems.append(("fsdp", f"FSDP{engine.version}: this project shards with FSDP2 (fsdp_config: "
                                     "{\"fsdp_version\": 2}), which keeps CLIP's weights plain in every file it writes "
                                     "and runs on CPU too"))
        if args.world_size < 2:
            problems.append(("fsdp", "FSDP shards the model over several processes and this run has one: launch it "
                                     "with torchrun --nproc_per_node N (or accelerate launch)"))
    if engine.name != DDP and args.gradient_cache_chunk_size:
        problems.append(("gradient_cache_chunk_size", f"backpropagates every chunk of a batch on its own, which "
                                                      f"{engine} does not follow (DeepSpeed counts each backward as a "
                                                      "micro-batch; FSDP2 gathers the weights for every chunk on "
                                                      "every process): run it with DDP, or leave it unset"))
    if args.eval_benchmarks and (engine.name == FSDP or (engine.name == DEEPSPEED and engine.version == 3)):
        problems.append(("eval_benchmarks", f"evaluates during training with the towers' weights whole, and "
                                            f"{engine} holds them sharded: evaluate final/ afterwards with "
                                            "recipes/eval.py"))
    return problems


def adopt_engine(trainer) -> Engine:
    """After the Trainer made its accelerator: FSDP2 on CPU where accelerate kept DDP, then the engine
    accelerate set up, which must be the one asked for."""
    requested = requested_engine(trainer.args)
    if requested.name == FSDP:
        fsdp_on_cpu(trainer.accelerator, trainer.args.fsdp_plugin_args or {})
        trainer.is_fsdp_enabled = True
        # The model's outputs include views (a slice of the text batch, a transpose); the loss never writes into
        # them, which is what FSDP2 warns about on every process.
        warnings.filterwarnings("ignore", message="FSDP2-wrapped module .* returned a view tensor")
    actual = actual_engine(trainer.accelerator)
    if not actual.same(requested):
        raise RuntimeError(f"{requested.option or 'the run'} asks for {requested}, and accelerate set up {actual}: "
                           "the run stops rather than train with another engine than the one asked for")
    return actual


def actual_engine(accelerator) -> Engine:
    """The engine accelerate set up."""
    from accelerate.utils import DistributedType

    state = accelerator.state
    if state.distributed_type == DistributedType.DEEPSPEED:
        return Engine(DEEPSPEED, int(state.deepspeed_plugin.zero_stage))
    if state.distributed_type == DistributedType.FSDP:
        return Engine(FSDP, int(state.fsdp_plugin.fsdp_version))
    return Engine(DDP)


def fsdp_on_cpu(accelerator, plugin_args: dict) -> None:
    """Where accelerate kept DDP for an FSDP2 run on CPU, its state becomes FSDP with the run's plugin (built
    from `plugin_args`, as accelerate builds it on a GPU); the model is then prepared by accelerate's own FSDP2
    path."""
    from accelerate.state import PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    state = accelerator.state
    if state.distributed_type != DistributedType.MULTI_CPU:
        return
    plugin = FullyShardedDataParallelPlugin(**plugin_args)
    if plugin.fsdp_version != 2:
        return  # refused by engine_problems before; adopt_engine names the mismatch
    if state.mixed_precision != "no":
        plugin.set_mixed_precision(state.mixed_precision)
    state.fsdp_plugin = plugin
    state.distributed_type = DistributedType.FSDP
    PartialState._shared_state["distributed_type"] = DistributedType.FSDP


@contextmanager
def models_built_whole():
    """Under ZeRO-3, transformers builds every model inside `deepspeed.zero.Init`, which partitions each
    parameter as it is created: a collective that fails on CLIP's 0-D logit scale, and hangs when one process
    builds a model alone (the release). CLIP fits whole in every process: models built here are whole, and
    DeepSpeed partitions the trained one when accelerate prepares it, after `vector_logit_scale`.
    (transformers consults the DeepSpeed config through a module-level reference, set aside meanwhile.)"""
    from transformers.integrations import deepspeed as hf_deepspeed

    reference = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = reference


def vector_logit_scale(model: torch.nn.Module) -> None:
    """Hold every 0-D `logit_scale` parameter of `model` as a 1-element vector (same value and
    `requires_grad`), for the engines that shard parameters."""
    for module in model.modules():
        param = module._parameters.get(LOGIT_SCALE)
        if param is not None and param.dim() == 0:
            module._parameters[LOGIT_SCALE] = torch.nn.Parameter(param.data.reshape(1),
                                                                 requires_grad=param.requires_grad)


def scalar_logit_scale(state_dict: dict) -> dict:
    """`state_dict` with every `logit_scale` entry 0-D, as in a plain CLIP checkpoint."""
    return {key: value.reshape(()) if key.rsplit(".", 1)[-1] == LOGIT_SCALE and value.numel() == 1 else value
            for key, value in state_dict.items()}


def clamp_parameter_(param: torch.nn.Parameter, low: float, high: float) -> None:
    """Clamp a parameter in place wherever its engine keeps its values: the tensor itself (DDP; FSDP2's local
    shard; DeepSpeed ZeRO-1/2's full copy), ZeRO-3's partition, and DeepSpeed's fp32 master copy, from which
    the next optimiser step would otherwise restore the unclamped value. Every process must call this."""
    with torch.no_grad():
        param.data.clamp_(low, high)
        partition = getattr(param, "ds_tensor", None)
        if partition is not None:
            partition.data.clamp_(low, high)
        if not param.requires_grad:
            return  # no master copy
        if hasattr(param, "ds_id"):  # ZeRO-3: this process's partition of the master copy
            from deepspeed.utils import safe_get_local_fp32_param, safe_set_local_fp32_param

            safe_set_local_fp32_param(param, safe_get_local_fp32_param(param).clamp(low, high))
        elif hasattr(param, "_hp_mapping"):  # ZeRO-1/2, on every process (the full value is gathered)
            from deepspeed.utils import safe_get_full_fp32_param, safe_set_full_fp32_param

            safe_set_full_fp32_param(param, safe_get_full_fp32_param(param).clamp(low, high))


def release_model(trainer) -> torch.nn.Module | None:
    """The trained model as `save_final` releases it. Under DDP, the model itself. Under FSDP2 and DeepSpeed
    no process holds all of it in place: every process takes part in gathering the full state dict (DeepSpeed's
    fp32 master weights, not its fp16 / bf16 working copy), and the main process loads it into an unsharded
    copy of the model (LoRA adapters included, scalar logit scale), which it returns; the others return None."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.engine.name == DDP:
        return model
    if trainer.engine.name == DEEPSPEED:
        state_dict = _deepspeed_fp32_state_dict(trainer.model_wrapped.module)
    else:
        state_dict = trainer.accelerator.get_state_dict(trainer.model_wrapped)
    if not trainer.is_world_process_zero():
        return None
    from ..lora.adapters import apply_lora
    from ..modeling import FSCCLIPModel

    args = trainer.args
    with models_built_whole():
        plain = FSCCLIPModel(model.get_base_model().config if args.use_lora else model.config)
    if args.use_lora:
        plain = apply_lora(plain, args.lora_r, args.lora_alpha, args.lora_dropout, style=args.lora_style)
    plain.load_state_dict(scalar_logit_scale(state_dict))
    return plain


def _deepspeed_fp32_state_dict(module: torch.nn.Module) -> dict:
    """`module`'s state dict with DeepSpeed's fp32 master value of every trained parameter and the gathered
    value of the others (ZeRO-3 partitions frozen ones too). Every process, in the same order (collectives)."""
    import deepspeed
    from deepspeed.utils import safe_get_full_fp32_param

    values = {}
    for name, tensor in module.state_dict(keep_vars=True).items():  # tied parameters under each of their names
        if id(tensor) not in values:
            if isinstance(tensor, torch.nn.Parameter) and tensor.requires_grad:
                values[id(tensor)] = safe_get_full_fp32_param(tensor).detach().cpu()
            else:
                with deepspeed.zero.GatheredParameters([tensor] if hasattr(tensor, "ds_id") else []):
                    values[id(tensor)] = tensor.detach().float().cpu().clone()
    return {name: values[id(tensor)] for name, tensor in module.state_dict(keep_vars=True).items()}
