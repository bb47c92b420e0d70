"""Gathering embeddings across processes: the one place the losses talk to `torch.distributed`.

The contrastive term scores each process's images and captions against the whole global batch.
Gathered tensors keep their gradient everywhere: the backward of the gather sums, over all processes,
the gradients that reached each shard and hands every process the part of its own shard. Together with
the trainer's usual averaging of gradients over processes this gives exactly the gradient of one
process holding the concatenated batch (see `tests/test_distributed_loss.py`).
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


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


def gather_batch(*tensors: torch.Tensor) -> tuple[list[torch.Tensor], int]:
    """Concatenate each tensor's dim-0 shards of all processes, in rank order.

    Args:
        tensors: tensors sharing their first dimension (the local batch, which may differ between
            processes, e.g. on a last short batch).

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
    gathered = [_GatherWithGrad.apply(tensor, sizes) for tensor in tensors]
    return gathered, sum(sizes[: dist.get_rank()])
