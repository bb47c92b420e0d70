"""Gathering embeddings across processes: the one place the losses talk to `torch.distributed`.

The contrastive term scores each process's images and captions against the whole global batch. Two
ways to gather (`gather_with_grad`, open_clip's name):

* with gradient (default): gathered tensors keep their gradient everywhere. The backward of the gather
  sums, over all processes, the gradients that reached each shard and hands every process the part of
  its own shard. With the trainer's usual averaging of gradients over processes this gives exactly the
  gradient of one process holding the concatenated batch.
* without gradient (the authors' runs): the other processes' shards are constants and only this
  process's own shard, put back in its place, carries a gradient. Each process then computes the loss
  of the whole global batch but backpropagates only into its own shard; after the averaging over W
  processes the contrastive gradient is 1/W of the global-batch gradient.

`tests/test_distributed_loss.py` checks both.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def mean_over_processes(value: torch.Tensor) -> torch.Tensor:
    """The mean of a tensor over all processes, without gradient (the value itself in one process)."""
    if world_size() == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / world_size()


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 for shards of possibly different lengths, differentiable."""

    @staticmethod
    def forward(ctx, shard: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        rank = dist.get_rank()
        ctx.sizes, ctx.rank = sizes, rank
        longest = max(sizes)
        padded = shard.new_zeros((longest, *shard.shape[1:]))
        padded[: shard.shape[0]] = shard
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([part[:size] for part, size in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        # all_reduce rather than reduce_scatter: gloo (CPU) implements only the former.
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None


def _gather_own_shard_with_grad(shard: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """All-gather along dim 0 without gradient, except through this process's own shard."""
    rank = dist.get_rank()
    padded = shard.new_zeros((max(sizes), *shard.shape[1:]))
    padded[: shard.shape[0]] = shard.detach()
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous())
    parts = [part[:size] for part, size in zip(parts, sizes)]
    parts[rank] = shard
    return torch.cat(parts)


def gather_batch(*tensors: torch.Tensor, with_grad: bool = True) -> tuple[list[torch.Tensor], int]:
    """Concatenate each tensor's dim-0 shards of all processes, in rank order.

    Args:
        tensors: tensors sharing their first dimension (the local batch, which may differ between
            processes, e.g. on a last short batch).
        with_grad: whether the other processes' shards carry gradient (see the module docstring).

    Returns:
        The gathered tensors (global batch first) and the offset of this process's shard in them.
        Without a process group, the inputs themselves and offset 0.
    """
    if world_size() == 1:
        return list(tensors), 0
    local = torch.tensor([tensors[0].shape[0]], device=tensors[0].device)
    sizes = [torch.zeros_like(local) for _ in range(world_size())]
    dist.all_gather(sizes, local)
    sizes = [int(size) for size in sizes]
    gather = _GatherWithGrad.apply if with_grad else _gather_own_shard_with_grad
    gathered = [gather(tensor, sizes) for tensor in tensors]
    return gathered, sum(sizes[: dist.get_rank()])
