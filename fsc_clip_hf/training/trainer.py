"""`FSCTrainer`: a `transformers.Trainer` whose loss is the FSC-CLIP objective."""

from __future__ import annotations

import json
import logging
import math
import os

import torch
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import IntervalStrategy

from ..data.callbacks import DataEpochCallback
from ..data.resume import PLACEHOLDER_KEY, STREAM_KEY, SeekableStream, TaggedCollate
from ..gradient_cache import gradient_cached_step
from ..losses import FSCLoss
from ..paths import apply_umask
from ..release.hub import PushFailed, error_cause
from .arguments import FSCTrainingArguments
from .checkpoints import rotate_checkpoints, write_marker
from .engines import DDP, adopt_engine, clamp_parameter_, scalar_logit_scale, vector_logit_scale
from .schedules import ScheduleFollowsGlobalStep, open_clip_cosine_schedule

logger = logging.getLogger(__name__)

MAX_LOGIT_SCALE = math.log(100.0)
# Per process, in each checkpoint: the epoch and the stream position reached (DataEpochCallback.state_dict).
DATA_STATE = "data_state-{rank}.json"


class LogitScaleClampCallback(TrainerCallback):
    """Keeps the (log) logit scale in [0, ln 100] after every optimiser step, as CLIP training does."""

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        clamp_parameter_(_unwrap(model).logit_scale, 0, MAX_LOGIT_SCALE)


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


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
        if self._streaming() and self._data_epochs is None:  # the epoch bookkeeping a stream needs
            self.add_callback(DataEpochCallback(dataset=self.train_dataset))
        if _distributed():
            # TrainingArguments hands ddp_timeout to the process group except on CPU (use_cpu: gloo keeps
            # torch's 30 minutes), so a hung process would hang the others that long.
            torch.distributed.distributed_c10d._set_pg_timeout(args.ddp_timeout_delta)
        if self.args.warmup_style == "authors":
            self.add_callback(ScheduleFollowsGlobalStep())
        if self.engine.name != DDP:
            vector_logit_scale(self.model)  # before accelerate shards it (fsc_clip_hf.training.engines)

    def create_accelerator_and_postprocess(self) -> None:
        super().create_accelerator_and_postprocess()
        self.engine = adopt_engine(self)

    def _save(self, output_dir: str | None = None, state_dict=None):
        # The checkpoint's model file holds CLIP's scalar logit scale also when an engine holds it as a vector.
        super()._save(output_dir, None if state_dict is None else scalar_logit_scale(state_dict))

    def train(self, *args, **kwargs):
        """`Trainer.train`; a collective that times out (another process hung or dead) fails with a message
        that says so."""
        try:
            return super().train(*args, **kwargs)
        except RuntimeError as err:  # torch.distributed.DistBackendError is one
            if not (_distributed() and "timed out" in str(err).lower()):
                raise
            message = (f"process {self.args.process_index}: a collective operation waited more than "
                       f"ddp_timeout={self.args.ddp_timeout}s for the other processes: one of them is hung (stopped, "
                       "deadlocked or far slower) or dead, so the run stops here. Resume from the last checkpoint "
                       "(--resume_from_checkpoint last); raise ddp_timeout if a step can legitimately take longer.")
            logger.error(message)
            raise RuntimeError(message) from err

    def init_hf_repo(self, token: str | None = None, private: bool | None = None) -> None:
        """The Trainer creates the Hub repository before training (``push_to_hub``): a failure is one message,
        before any step, not the Hub client's traceback."""
        try:
            super().init_hf_repo(token, private)
        except Exception as error:  # HTTP, network and Hub errors alike
            repo = self.args.hub_model_id or os.path.basename(os.path.abspath(self.args.output_dir))
            raise PushFailed(f"could not create the Hub repository {repo} before training ({error_cause(error)}): "
                             "train with --push_to_hub false, then push final/ with python -m fsc_clip_hf.release "
                             "push") from error

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

    @property
    def _data_epochs(self) -> DataEpochCallback | None:
        return next((cb for cb in self.callback_handler.callbacks if isinstance(cb, DataEpochCallback)), None)

    def _streaming(self) -> bool:
        return isinstance(self.train_dataset, torch.utils.data.IterableDataset)

    def get_train_dataloader(self) -> DataLoader:
        """The stream is already split per process (`split_dataset_by_node`); accelerate's own sharding
        would split it a second time, so the loader is built here and only the model is distributed.
        Its batches carry their stream position, for exact resume (`fsc_clip_hf.data.resume`)."""
        if not self._streaming():
            return super().get_train_dataloader()
        seek = self._data_epochs.seek
        workers = self.args.dataloader_num_workers
        return DataLoader(
            self.train_dataset if seek is None else SeekableStream(self.train_dataset, seek),
            batch_size=self._train_batch_size,
            collate_fn=TaggedCollate(self.data_collator),
            num_workers=workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers and workers > 0,
            prefetch_factor=self.args.dataloader_prefetch_factor if workers > 0 else None,
            drop_last=self.args.dataloader_drop_last,
        )

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """The Trainer's prefetch of one optimiser step's micro-batches; each batch's stream position is
        recorded here (these are the batches the next checkpoint has trained on)."""
        batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        for batch in batches:
            tag = batch.pop(STREAM_KEY, None)
            if tag is not None and self._data_epochs is not None:
                self._data_epochs.batch_consumed(int(tag[0]), int(tag[1]))
            if PLACEHOLDER_KEY in batch:
                raise RuntimeError("a placeholder batch of the resume reached training: the resume plan and the "
                                   "Trainer's skipped batch count disagree")
        return batches, num_items

    def _init_training_state(self, max_steps, num_update_steps_per_epoch, num_train_epochs, resume_from_checkpoint,
                             trial):
        """On resume of a stream, the Trainer would place the checkpoint in epoch 0 (a stream has no length,
        so it takes `max_steps` as the epoch length) and skip `global_step` batches of it. The epoch and the
        batches taken in it come from the checkpoint's data state instead."""
        epochs, steps = super()._init_training_state(max_steps, num_update_steps_per_epoch, num_train_epochs,
                                                     resume_from_checkpoint, trial)
        tracker = self._data_epochs
        if resume_from_checkpoint is None or tracker is None or not self._streaming():
            return epochs, steps
        path = os.path.join(resume_from_checkpoint, DATA_STATE.format(rank=self.args.process_index))
        if not os.path.isfile(path):
            logger.warning("%s has no %s: the data position is unknown, the stream restarts at epoch %d", path,
                           os.path.basename(path), epochs)
            return epochs, steps
        with open(path) as handle:
            tracker.load_state_dict(json.load(handle), self.args)
        steps = 0 if self.args.ignore_data_skip else tracker.batches_this_epoch
        logger.info("resuming in epoch %d after %d of its batches (from step %d)", tracker.epoch, steps,
                    tracker.epoch_start_step)
        return tracker.epoch, steps

    def _save_checkpoint(self, model, trial) -> None:
        # Rotation waits for the completion marker: deleting the older checkpoints first would leave none
        # complete if the run were killed before the marker.
        limit, self.args.save_total_limit = self.args.save_total_limit, None
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self.args.save_total_limit = limit
        run_dir = self._get_output_dir(trial=trial)
        folder = os.path.join(run_dir, f"checkpoint-{self.state.global_step}")
        tracker = self._data_epochs
        if tracker is not None and self._streaming():
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, DATA_STATE.format(rank=self.args.process_index)), "w") as handle:
                json.dump(tracker.state_dict(self.args), handle)
        self.accelerator.wait_for_everyone()  # the marker follows every process's files
        if self.args.should_save:
            apply_umask(folder)
            write_marker(folder, self.state.global_step)
            rotate_checkpoints(run_dir, limit, keep=self.state.best_model_checkpoint)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """With `eval_benchmarks`, evaluate the model being trained on them and log the scores;
        the Trainer calls this at each evaluation step of `eval_strategy`."""
        if not self.args.eval_benchmarks:
            return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        from ..evaluation.suite import flat_scores

        metrics = {f"{metric_key_prefix}_{name}": value for name, value in flat_scores(self.benchmark_results()).items()}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    def benchmark_results(self) -> dict:
        """The evaluation suite's full results (``evaluate_model``'s dict) for the model being trained on
        `eval_benchmarks`, embedded with the Trainer's evaluation batch size and loader workers. Every
        process of a distributed run calls this: the embedding work is split across them."""
        from ..evaluation.benchmarks import evaluate_benchmarks

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
            self._record_terms({**terms, "logit_scale": outputs.logit_scale})
        return (terms["loss"], outputs) if return_outputs else terms["loss"]

    def training_step(self, model, inputs, num_items_in_batch=None):
        """With `gradient_cache_chunk_size`, the step over the whole batch a chunk at a time
        (`fsc_clip_hf.gradient_cache`): the same gradient as `Trainer.training_step`, a chunk's activations held."""
        chunk_size = self.args.gradient_cache_chunk_size
        if not chunk_size or inputs["input_ids"].shape[0] == 0:
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        inputs = dict(self._prepare_inputs(inputs))
        neg_mask = inputs.pop("neg_mask")
        dense = self.fsc_loss.config.needs_dense_features

        def encoder(module):
            def encode(chunk):
                with self.compute_loss_context_manager():
                    return module(**chunk, return_dense=dense)
            return encode

        accumulation = self.current_gradient_accumulation_steps
        # All chunks but the last through the bare model (no gradient synchronisation, as DDP's no_sync), the last
        # through the wrapped one, whose backward reduces the gradients of the whole batch.
        terms = gradient_cached_step(encoder(self.accelerator.unwrap_model(model)), encoder(model), inputs,
                                     lambda output: self.fsc_loss(output, neg_mask), chunk_size,
                                     self.accelerator.backward, loss_scale=1.0 / accumulation)
        self._record_terms(terms)
        return terms["loss"] / accumulation

    def _record_terms(self, terms: dict[str, torch.Tensor]) -> None:
        """Add a training batch's loss terms and logit scale to the sums logged next (detached tensors, read only
        when logging: no device sync on every step)."""
        for name, value in terms.items():
            if name != "loss":
                self._term_sums[name] = self._term_sums.get(name, 0.0) + value.detach()
        self._term_count += 1

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self._term_count and "loss" in logs:
            logs.update({name: round(float(total) / self._term_count, 6) for name, total in self._term_sums.items()})
            self._term_sums.clear()
            self._term_count = 0
        super().log(logs, start_time)
