"""Settings that multi-process runs rely on: every trainable parameter takes part in a step (so DDP runs
with find_unused_parameters false), every process logs its own data line, libraries print once."""

import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest
from transformers import CLIPProcessor

from fsc_clip_hf.cli.console import DATA_LINE_LOGGER, setup_logging
from fsc_clip_hf.data import FSCCollator, load_image_text_dataset
from fsc_clip_hf.lora.adapters import apply_lora
from fsc_clip_hf.modeling import FSCCLIPModel
from fsc_clip_hf.training.pipeline import build_negative_generator
from fsc_clip_hf.training.recipes import parse_args
from fsc_clip_hf.training.trainer import FSCTrainer


@pytest.mark.parametrize("options", [
    ["--loss_name", "clip"],
    ["--loss_name", "clip", "--add_random_text_hard_negatives", "negclip"],
    ["--add_random_text_hard_negatives", "negclip"],
    ["--add_random_text_hard_negatives", "negclip", "--use_lora", "true"],
    ["--add_random_text_hard_negatives", "negclip", "--use_lora", "true", "--lora_style", "authors"],
])
def test_every_trainable_parameter_gets_a_gradient_so_ddp_need_not_look_for_unused_ones(tiny_world, tmp_path,
                                                                                         options):
    args = parse_args(["--model_name_or_path", tiny_world["model"], "--train_data", tiny_world["shards"],
                       "--output_dir", str(tmp_path), "--use_cpu", "true", "--report_to", "none", *options])
    assert args.ddp_find_unused_parameters is False
    model = FSCCLIPModel.from_pretrained(tiny_world["model"])
    if args.use_lora:
        model = apply_lora(model, args.lora_r, args.lora_alpha, args.lora_dropout, style=args.lora_style, seed=0)
    processor = CLIPProcessor.from_pretrained(tiny_world["processor"])
    collator = FSCCollator(processor, negative_generator=build_negative_generator(args))
    samples = list(load_image_text_dataset(tiny_world["shards"], shuffle_buffer=0).dataset.take(6))
    trainer = FSCTrainer(model=model, args=args, data_collator=collator, processing_class=processor)
    trainer.compute_loss(model, collator(samples)).backward()
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and [name for name, p in trainable if p.grad is None] == []


def test_every_process_logs_its_data_line_and_only_the_main_one_the_rest(monkeypatch):
    replica = SimpleNamespace(get_process_log_level=lambda: logging.WARNING, log_level="passive", should_log=False)
    setup_logging(replica)
    assert logging.getLogger(DATA_LINE_LOGGER).isEnabledFor(logging.INFO)
    assert not logging.getLogger("fsc_clip_hf.training.pipeline").isEnabledFor(logging.INFO)
    quiet = SimpleNamespace(get_process_log_level=lambda: logging.ERROR, log_level="error", should_log=True)
    setup_logging(quiet)  # a chosen log level is respected
    assert not logging.getLogger(DATA_LINE_LOGGER).isEnabledFor(logging.INFO)


def test_a_huggingface_hub_warning_is_printed_once():
    code = ("import logging, types; from fsc_clip_hf.cli.console import setup_logging; "
            "setup_logging(types.SimpleNamespace(get_process_log_level=lambda: logging.WARNING, log_level='passive', "
            "should_log=True)); from huggingface_hub.utils import logging as hub_logging; "
            "hub_logging.get_logger('huggingface_hub.file_download').warning('Retrying in 1s [Retry 1/5].')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stderr.count("Retrying in 1s") == 1, done.stderr
