"""Command line of ``recipes/eval.py``: evaluate a checkpoint and write the report.

    python recipes/eval.py --model_name_or_path openai/clip-vit-base-patch32 \\
        --benchmarks comp,zs,retrieval --data_root data --output_dir eval/clip-b32
    python recipes/eval.py --model_name_or_path open_clip:ViT-B-32-quickgelu:coco_fsc-clip-ViT-B-32.pt ...
    accelerate launch --num_processes 4 recipes/eval.py ...     # embedding work split over 4 GPUs

``--model_name_or_path`` takes a Hub id, a folder, or an open_clip checkpoint as
``open_clip:<model>:<pretrained tag or file>``, converted in memory (``release.convert_open_clip.spec``).
``--html`` also writes, per benchmark, a page of the items the model got wrong
(``evaluation.failure_pages``), linked from ``results.md``.

A pre-flight table comes first, as for training: the model, its processor, each requested benchmark's
files (with the command that downloads them) and the output folder, looked up in seconds without loading
anything; a missing piece ends the command there with exit status 2.

``--benchmarks`` takes names and groups (``all``, ``comp``, ``zs``, ``retrieval``, ``synthetic``; see
``fsc_clip_hf.evaluation.adapters``). Every benchmark that can be evaluated is, and the report is written;
then the exit status says whether everything requested was: 1 when a requested benchmark failed, when
its data is missing (wholly or in part) unless ``--allow_missing``, or when nothing was evaluated at all;
0 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import torch
from accelerate import PartialState
from transformers import CLIPModel, CLIPProcessor

from ..argparsing import ArgumentParser
from ..evaluation.adapters import BENCHMARKS, GROUPS
from ..evaluation.adapters.synthetic import COMP_LABEL as SYNTHETIC_COMP_LABEL
from ..evaluation.failure_pages import FailurePages
from ..evaluation.report import coverage_line, write_report
from ..evaluation.suite import evaluate_model
from ..processor import PIXELS, load_processor
from ..release.convert_open_clip.spec import (
    OpenClipSpecError,
    describe_open_clip_spec,
    is_open_clip_spec,
    load_open_clip,
)
from ..release.wise_ft_sweep import parse_alphas, run_sweep
from ..training.preflight import (
    EXIT_MISSING,
    MISSING,
    NOTE,
    OK,
    Check,
    Hub,
    check_eval,
    check_model,
    check_processor,
    format_table,
    unwritable,
)
from .console import refuse, setup_command_logging

logger = logging.getLogger(__name__)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says, else all)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Evaluate a CLIP checkpoint on the FSC-CLIP benchmark suite.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True,
                        help="a CLIPModel checkpoint folder or Hub id, or an open_clip checkpoint converted in memory: "
                             "open_clip:<model>:<pretrained tag or file> (e.g. open_clip:ViT-B-32-quickgelu:openai; "
                             "names ending in -quickgelu, and tags open_clip marks so, use QuickGELU, others GELU)")
    parser.add_argument("--processor_name_or_path", default=None, help="defaults to --model_name_or_path")
    parser.add_argument("--pixels", choices=PIXELS, default="open_clip",
                        help="open_clip: open_clip's evaluation transform, as the published numbers were measured; "
                             "transformers: CLIPImageProcessor's (one pixel off in the crop for a third of image "
                             "sizes); folder: as the processor's config says. An open_clip: checkpoint always "
                             "gets open_clip's")
    parser.add_argument("--benchmarks", default="all",
                        help=f"comma-separated names or groups; groups: {', '.join(GROUPS)}; "
                             f"names: {', '.join(BENCHMARKS)}")
    parser.add_argument("--data_root", default="data", help="where the benchmark data lives (docs/evaluation.md: layouts)")
    parser.add_argument("--output_dir", required=True,
                        help="receives results.json, results.md, comp_vs_zs.png (and failures/ with --html)")
    parser.add_argument("--model_name", default=None, help="label in the report (defaults to the checkpoint)")
    parser.add_argument("--batch_size", type=int, default=128, help="images or captions per forward pass")
    parser.add_argument("--num_workers", type=int, default=min(4, _usable_cpus()),
                        help="image-decoding workers per process: 4, or the CPUs this process may use where "
                             "they are fewer")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32", help="weights' dtype")
    parser.add_argument("--device", default=None, help="default: this process's accelerator device")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    parser.add_argument("--html", action="store_true",
                        help="also write failures/<benchmark>.html: per benchmark, the items the model got wrong "
                             "(image, true caption, preferred option, both scores, subset; sortable by margin)")
    parser.add_argument("--allow_missing", action="store_true",
                        help="exit 0 although some requested benchmarks have no data (a failed one still exits 1)")
    parser.add_argument("--wise_ft_alphas", type=parse_alphas, default=None,
                        help="comma-separated WiSE-FT alphas (0: --pretrained, 1: the model): evaluates each, writes "
                             "a results row per alpha and the Comp-vs-ZS curve (fsc_clip_hf.release.wise_ft_sweep)")
    parser.add_argument("--pretrained", default=None, help="with --wise_ft_alphas: the CLIP the model was fine-tuned from")
    parser.add_argument("--wise_ft_lora_factors", action="store_true",
                        help="with --wise_ft_alphas: interpolate as the authors' code does for LoRA runs (alpha^2)")
    args = parser.parse_args(argv)
    if args.wise_ft_alphas and not args.pretrained:
        parser.error("--wise_ft_alphas needs --pretrained, the model it was fine-tuned from")
    if args.wise_ft_alphas and args.html:
        parser.error("--html writes the pages of one evaluation; run it without --wise_ft_alphas")
    if is_open_clip_spec(args.model_name_or_path) and args.pixels == "transformers":
        parser.error("--pixels transformers: an open_clip: checkpoint is evaluated with open_clip's pixels")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    # The shared state sets up the process group under accelerate launch / torchrun; on a machine (or a
    # request) without an accelerator it must be told to use gloo on the CPU.
    cpu = args.device == "cpu" or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes") \
        or not torch.accelerator.is_available()
    state = PartialState(cpu=cpu)
    setup_command_logging(verbose=state.is_main_process)
    checks = preflight(args)
    if state.is_main_process:
        print(format_table(checks), flush=True)
    if any(check.status == MISSING for check in checks):
        sys.exit(EXIT_MISSING)
    device = torch.device(args.device) if args.device else state.device
    try:
        model, processor = load_model(args.model_name_or_path, args.dtype, args.processor_name_or_path, args.pixels)
    except OpenClipSpecError as error:
        refuse(f"error: {error}", EXIT_MISSING)
    model = model.to(device)
    logger.info("evaluating %s (%s, %s, %d process(es)) on %s from %s", args.model_name_or_path, args.dtype, device,
                state.num_processes, args.benchmarks, os.path.abspath(args.data_root))
    if args.wise_ft_alphas:
        return run_sweep(args, model, processor, device, state.is_main_process)
    model_name = args.model_name or args.model_name_or_path
    pages = FailurePages(args.output_dir, model_name) if args.html and state.is_main_process else None
    results = evaluate_model(model, processor, args.benchmarks, args.data_root, model_name=model_name,
                             batch_size=args.batch_size, num_workers=args.num_workers, device=device,
                             show_progress=not args.no_progress, on_failures=pages)
    if state.is_main_process:
        paths = write_report(results, args.output_dir, pages.written if pages else None)
        print(_summary_line(results["summary"]) or "no published benchmark evaluated")
        print(coverage_line(results["coverage"]))
        if "synthetic" in results:
            print("synthetic world: " + _summary_line(results["synthetic"]["summary"], comp=SYNTHETIC_COMP_LABEL))
        for name, message in results["missing"].items():
            print(f"missing {name}: {message}")
        for name, message in results["failed"].items():
            print(f"failed {name}: {message}")
        print("report: " + ", ".join(paths.values()))
    status = exit_status(results, args.allow_missing)
    if status:
        if state.is_main_process:
            print(f"exit status {status}: " + incomplete_line(results, args.allow_missing), file=sys.stderr)
        sys.exit(status)
    return results


def preflight(args: argparse.Namespace) -> list[Check]:
    """What the evaluation needs, looked up before anything loads (the training pre-flight's checks): the
    model and its processor, each requested benchmark's files (with the download that brings them; with
    ``--allow_missing`` a missing one is a note, not a refusal) and the output folder."""
    hub = Hub()
    if is_open_clip_spec(args.model_name_or_path):
        try:
            checks = [Check("model", OK, args.model_name_or_path, describe_open_clip_spec(args.model_name_or_path))]
        except OpenClipSpecError as error:
            checks = [Check("model", MISSING, args.model_name_or_path, str(error).split(": ", 1)[-1],
                            "--model_name_or_path open_clip:<model>:<pretrained tag or checkpoint file>")]
    else:
        checks = check_model(args.model_name_or_path, hub)
        checks += check_processor(args.processor_name_or_path, args.model_name_or_path, args.pixels, hub)
    for check in check_eval(args.benchmarks, args.data_root, root_option="--data_root", names_option="--benchmarks"):
        if check.status == MISSING and args.allow_missing and check.piece.startswith("eval: "):
            check.status = NOTE  # evaluated without it, as --allow_missing asks
        checks.append(check)
    problem = unwritable(args.output_dir)
    checks.append(Check("output folder", MISSING, args.output_dir, problem, "--output_dir <a writable folder>")
                  if problem else Check("output folder", OK, args.output_dir, "writable"))
    return checks


def load_model(name_or_path: str, dtype: str, processor_path: str | None = None,
               pixels: str = "open_clip") -> tuple[CLIPModel, CLIPProcessor]:
    """The model (in ``dtype``) and processor ``--model_name_or_path`` names: a Hub id or folder, or
    ``open_clip:<model>:<pretrained>`` converted in memory (raises ``OpenClipSpecError`` for one that names
    nothing loadable)."""
    if is_open_clip_spec(name_or_path):
        model, processor = load_open_clip(name_or_path, processor=processor_path)
        return model.to(DTYPES[dtype]), processor
    model = CLIPModel.from_pretrained(name_or_path, dtype=DTYPES[dtype])
    # Refuses a tokenizer that cannot be the model's (transformers' 2-token placeholder, a wrong vocabulary).
    return model, load_processor(processor_path or name_or_path, model.config.text_config, pixels=pixels)


def exit_status(results: dict, allow_missing: bool = False) -> int:
    """1 when a requested benchmark failed, when one is missing (wholly or in part) and that is not
    allowed, or when nothing at all was evaluated (a wrong ``--data_root``); else 0."""
    nothing = not results["details"]
    return 1 if results["failed"] or nothing or (results["missing"] and not allow_missing) else 0


def incomplete_line(results: dict, allow_missing: bool) -> str:
    parts = [] if results["details"] else ["no benchmark was evaluated"]
    if results["failed"]:
        parts.append(f"failed: {', '.join(results['failed'])}")
    if results["missing"] and not allow_missing:
        parts.append(f"no data for: {', '.join(results['missing'])} (pass --allow_missing to accept that)")
    return "; ".join(parts)


def _summary_line(summary: dict, comp: str = "comp") -> str:
    labels = {"comp": comp, "zs": "zs", "i2t_r1": "i2t_r1", "t2i_r1": "t2i_r1", "comp12": "comp12"}
    return " | ".join(f"{label} {summary[key]:.1f}" for key, label in labels.items() if key in summary)
