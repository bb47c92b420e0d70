"""`FSCTrainer`: a `transformers.Trainer` whose loss is the FSC-CLIP objective."""

from __future__ import annotations

import logging
import math
import os
import re

import torch
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import IntervalStrategy

from .losses import FSCLoss
from .schedules import ScheduleFollowsGlobalStep, open_clip_cosine_schedule
from .training_args import FSCTrainingArguments

logger = logging.getLogger(__name__)

MAX_LOGIT_SCALE = math.log(100.0)
# Written into a checkpoint folder once everything else in it is on disk.
COMPLETE_MARKER = "checkpoint_complete"


def latest_complete_checkpoint(output_dir: str) -> str | None:
    """The newest `checkpoint-N` folder that was written to the end; partial ones (a run killed
    while saving) are skipped with a warning."""
    if not os.path.isdir(output_dir):
        return None
    steps = sorted(
        (int(match.group(1)), name)
        for name in os.listdir(output_dir)
        if (match := re.fullmatch(r"checkpoint-(\d+)", name))
    )
    for _, name in reversed(steps):
        path = os.path.join(output_dir, name)
        if os.path.exists(os.path.join(path, COMPLETE_MARKER)):
            return path
        logger.warning("skipping %s: it was not written to the end (interrupted run)", path)
    return None


class LogitScaleClampCallback(TrainerCallback):
    """Keeps the (log) logit scale in [0, ln 100] after every optimiser step, as CLIP training does."""

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        with torch.no_grad():
            _unwrap(model).logit_scale.clamp_(0, MAX_LOGIT_SCALE)


def _unwrap(model):
    while hasattr(model, "module"):
        model = model.module
    base = getattr(model, "get_base_model", None)
    return base() if base is not None else model


class FSCTrainer(Trainer):
    """Runs one forward of `FSCCLIPModel` on images, captions and negatives and applies `fsc_clip_loss`.

    Batches come from `fsc_clip_hf.data.FSCCollator`: `pixel_values`, `input_ids`, `attention_mask`,
    `neg_input_ids`, `neg_attention_mask` and `neg_mask`. Every loss term and the logit scale are
    averaged over the steps between two logs and logged beside the Trainer's `loss`.
    """

    args: FSCTrainingArguments

    def __init__(self, model=None, args: FSCTrainingArguments | None = None, **kwargs):
        strategy = args.eval_strategy
        if args.eval_benchmarks and kwargs.get("eval_dataset") is None:
            # The benchmarks take the place of an eval dataset, which the Trainer would ask for.
            args.eval_strategy = IntervalStrategy.NO
        super().__init__(model=model, args=args, **kwargs)
        args.eval_strategy = strategy
        self.fsc_loss = FSCLoss(self.args.loss_config())
        # The objective is a mean over the micro-batch: the Trainer must divide it by the
        # accumulation steps itself (it skips that for models that take loss kwargs).
        self.model_accepts_loss_kwargs = False
        self._term_sums: dict[str, torch.Tensor] = {}
        self._term_count = 0
        self.add_callback(LogitScaleClampCallback())
        if self.args.warmup_style == "authors":
            self.add_callback(ScheduleFollowsGlobalStep())

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.args.warmup_style != "authors" or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        warmup = self.args.get_warmup_steps(num_training_steps)
        self.lr_scheduler = open_clip_cosine_schedule(optimizer or self.optimizer, warmup, num_training_steps)
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def get_decay_parameter_names(self, model) -> list[str]:
        # Biases, norms, the class embedding and the logit scale (all < 2-D) take no weight decay.
        return [name for name, param in model.named_parameters() if param.ndim >= 2]

    def get_train_dataloader(self) -> DataLoader:
        """The stream is already split per process (`split_dataset_by_node`); accelerate's own sharding
        would split it a second time, so the loader is built here and only the model is distributed."""
        if not isinstance(self.train_dataset, torch.utils.data.IterableDataset):
            return super().get_train_dataloader()
        workers = self.args.dataloader_num_workers
        return DataLoader(
            self.train_dataset,
            batch_size=self._train_batch_size,
            collate_fn=self.data_collator,
            num_workers=workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers and workers > 0,
            prefetch_factor=self.args.dataloader_prefetch_factor if workers > 0 else None,
            drop_last=self.args.dataloader_drop_last,
        )

    def _save_checkpoint(self, model, trial) -> None:
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}")
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    with open(path, "rb") as handle:
                        os.fsync(handle.fileno())
            with open(os.path.join(folder, COMPLETE_MARKER), "w") as handle:
                handle.write(f"{self.state.global_step}\n")
                handle.flush()
                os.fsync(handle.fileno())

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """With `eval_benchmarks`, evaluate the model being trained on them and log the scores;
        the Trainer calls this at each evaluation step of `eval_strategy`."""
        if not self.args.eval_benchmarks:
            return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        from .evaluation.suite import flat_scores

        metrics = {f"{metric_key_prefix}_{name}": value for name, value in flat_scores(self.benchmark_results()).items()}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    def benchmark_results(self) -> dict:
        """The evaluation suite's full results (``evaluate_model``'s dict) for the model being trained on
        `eval_benchmarks`, embedded with the Trainer's evaluation batch size and loader workers. Every
        process of a distributed run calls this: the embedding work is split across them."""
        from .evaluation.benchmarks import evaluate_benchmarks

        args = self.args
        # evaluate_model puts the model in eval mode and back.
        return evaluate_benchmarks(_unwrap(self.model), self.processing_class, args.eval_benchmarks, args.eval_data_root,
                                   model_name=args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir)),
                                   **args.benchmark_options())

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        neg_mask = inputs.pop("neg_mask")
        if inputs["input_ids"].shape[0] == 0:
            # Every sample of this batch was bad. A zero that touches every parameter keeps the
            # processes' gradient reductions in step.
            zero = sum(param.sum() for param in model.parameters() if param.requires_grad) * 0.0
            return (zero, None) if return_outputs else zero
        outputs = model(**inputs, return_dense=self.fsc_loss.config.needs_dense_features)
        terms = self.fsc_loss(outputs, neg_mask)
        if model.training:
            # Detached tensors, read only when logging: no device sync on every step.
            for name, value in terms.items():
                if name != "loss":
                    self._term_sums[name] = self._term_sums.get(name, 0.0) + value.detach()
            self._term_sums["logit_scale"] = self._term_sums.get("logit_scale", 0.0) + outputs.logit_scale.detach()
            self._term_count += 1
        return (terms["loss"], outputs) if return_outputs else terms["loss"]

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self._term_count and "loss" in logs:
            logs.update({name: round(float(total) / self._term_count, 6) for name, total in self._term_sums.items()})
            self._term_sums.clear()
            self._term_count = 0
        super().log(logs, start_time)
