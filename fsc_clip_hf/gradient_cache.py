"""Exact memory-bounded steps: the whole FSC objective over a batch encoded a chunk at a time (GradCache).

Every term of the objective reads the whole batch (the contrastive term even the global one, after the
gather), so gradient accumulation over micro-batches is another objective. A step here computes the same
gradient as one forward and backward over the batch, holding the towers' activations of one chunk at a time:

1. embed: each chunk of N pairs (images, captions, their negatives) through the model without gradient,
   keeping only what the loss reads (`CACHED`: pooled embeddings, patch and token features) and the logit scale;
2. loss: the objective on the joined outputs, which become leaves of a graph of their own: every term over the
   whole batch (the gather across processes included); its backward gives the loss's gradient with respect to
   each output, the cache;
3. re-encode: each chunk again, with gradient and the random state it had in 1 (dropout draws the same, and
   the random state ends where 1 left it), and backpropagate `Σ ⟨output, cached gradient⟩` into the model; the logit scale's cached gradient goes with
   the last chunk.

Only the last chunk needs to synchronise gradients across processes: the others run through `encode` (the bare
model, gradients accumulate locally, as under DDP's `no_sync`), the last through `encode_last` (the wrapped
model, whose backward reduces everything accumulated). Processes may thus hold different numbers of chunks.
"""

from __future__ import annotations

from typing import Callable

import torch

from .losses import at_least_float32
from .modeling import FSCCLIPOutput

# The outputs the objective differentiates; the negatives' are (K, B, ...), batch second.
CACHED = ("image_embeds", "text_embeds", "neg_text_embeds", "image_tokens", "text_tokens", "neg_text_tokens")
MASKS = ("text_token_mask", "neg_text_token_mask")


def _batch_dim(name: str) -> int:
    return 1 if name.startswith("neg_") else 0


def split_batch(inputs: dict[str, torch.Tensor], chunk_size: int) -> list[dict[str, torch.Tensor]]:
    """The model's inputs (`pixel_values`, `input_ids`, `attention_mask`, `neg_input_ids`, `neg_attention_mask`)
    in chunks of `chunk_size` pairs, each with its captions' negatives."""
    batch = inputs["input_ids"].shape[0]
    return [{name: value.narrow(_batch_dim(name), start, min(chunk_size, batch - start))
             for name, value in inputs.items()} for start in range(0, batch, chunk_size)]


def join_outputs(outputs: list[FSCCLIPOutput]) -> FSCCLIPOutput:
    """The chunks' outputs as the output of the whole batch: the differentiable fields as (at least) float32 leaves that
    require gradient, the logit scale as one such leaf (every chunk has the same), the masks as they are."""
    joined = FSCCLIPOutput()
    for name in (*CACHED, *MASKS):
        parts = [getattr(output, name) for output in outputs]
        if parts[0] is None:
            continue
        value = torch.cat(parts, dim=_batch_dim(name))
        if name in CACHED:
            # At least float32, as the loss computes: the cached gradients cannot underflow in half precision.
            value = at_least_float32(value).requires_grad_()
        setattr(joined, name, value)
    joined.logit_scale = at_least_float32(outputs[0].logit_scale).requires_grad_()
    return joined


class _RandomState:
    """The CPU and, for a CUDA device, the device's random state, to replay a chunk's forward exactly."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda, self.device)


def _surrogate(output: FSCCLIPOutput, cache: FSCCLIPOutput, rows: slice) -> torch.Tensor:
    """`Σ ⟨output, cached gradient⟩` over a chunk's rows: its gradient is the objective's for this chunk."""
    total = 0.0
    for name in CACHED:
        value, leaf = getattr(output, name), getattr(cache, name)
        if value is not None and leaf.grad is not None:
            grad = leaf.grad.narrow(_batch_dim(name), rows.start, rows.stop - rows.start)
            total = total + (at_least_float32(value) * grad).sum()
    return total


def gradient_cached_step(
    encode: Callable[[dict], FSCCLIPOutput],
    encode_last: Callable[[dict], FSCCLIPOutput],
    inputs: dict[str, torch.Tensor],
    objective: Callable[[FSCCLIPOutput], dict[str, torch.Tensor]],
    chunk_size: int,
    backward: Callable[[torch.Tensor], None],
    loss_scale: float = 1.0,
) -> dict[str, torch.Tensor]:
    """One step of `objective` over `inputs` (a non-empty batch), `chunk_size` pairs at a time (module docstring).

    Args:
        encode: the model's forward on a chunk's inputs (with the dense features the objective reads), run
            without gradient for every chunk and with gradient for all but the last; gradients it produces
            are not synchronised across processes.
        encode_last: the same forward for the last chunk's backward, which synchronises the gradients (DDP's
            wrapped model); `encode` itself in one process.
        objective: the loss terms of the whole batch's output (`FSCLoss` with the batch's negative mask); its
            `loss` is backpropagated.
        backward: backpropagates a scalar into the model (the Trainer's `accelerator.backward`: loss scaling).
        loss_scale: the weight of this batch's loss in the step (1 / gradient accumulation steps).

    Returns:
        The objective's terms (detached), as `objective` returned them, and `logit_scale`.
    """
    chunks = split_batch(inputs, chunk_size)
    states, outputs = [], []
    with torch.no_grad():
        for chunk in chunks:
            states.append(_RandomState(chunk["input_ids"].device))
            outputs.append(encode(chunk))
    cache = join_outputs(outputs)
    del outputs
    with torch.enable_grad():
        terms = objective(cache)
        leaves = [leaf for leaf in (getattr(cache, name) for name in CACHED) if leaf is not None]
        torch.autograd.backward(terms["loss"] * loss_scale, inputs=[*leaves, cache.logit_scale])
    start = 0
    for index, (chunk, state) in enumerate(zip(chunks, states)):
        last = index == len(chunks) - 1
        rows = slice(start, start + chunk["input_ids"].shape[0])
        start = rows.stop
        state.restore()
        output = (encode_last if last else encode)(chunk)
        surrogate = _surrogate(output, cache, rows)
        if last:
            surrogate = surrogate + at_least_float32(output.logit_scale) * cache.logit_scale.grad
        backward(surrogate)
    return {**{name: value.detach() for name, value in terms.items()}, "logit_scale": cache.logit_scale.detach()}
