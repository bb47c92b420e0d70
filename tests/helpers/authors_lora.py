"""LoRA as the FSC-CLIP authors' code trains and saves it, written here from their layer definitions
(``src/training/models/lora_utils`` of their open_clip fork), for an open_clip-named ViT CLIP.

Their patch replaces, outside attention, every ``nn.Linear`` (``mlp.c_fc``, ``mlp.c_proj``) and the patch
``nn.Conv2d`` (``visual.conv1``) by layers with factors ``lora_A`` / ``lora_B``, and every attention by one
with ``in_proj_weight_lora_A`` / ``in_proj_weight_lora_B`` and a LoRA ``out_proj``. The forward passes
below are theirs, unmerged: the LoRA branch is computed beside the frozen weight (the convolution adds the
delta to its weight, as theirs does). ``state_dict()`` then has exactly their keys.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LoraLinear(nn.Module):
    def __init__(self, old: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.weight, self.bias = old.weight, old.bias
        self.lora_A = nn.Parameter(torch.empty(rank, old.in_features))
        self.lora_B = nn.Parameter(torch.zeros(old.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # their init; B is zero until trained
        self.scaling = alpha / rank

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling


class LoraConv2d(nn.Module):
    def __init__(self, old: nn.Conv2d, rank: int, alpha: float):
        super().__init__()
        kernel = old.kernel_size[0]
        self.weight, self.stride = old.weight, old.stride
        self.lora_A = nn.Parameter(torch.empty(rank * kernel, old.in_channels * kernel))
        self.lora_B = nn.Parameter(torch.zeros(old.out_channels * kernel, rank * kernel))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / rank

    def forward(self, x):
        weight = self.weight + (self.lora_B @ self.lora_A).view(self.weight.shape) * self.scaling
        return F.conv2d(x, weight, None, self.stride)


class LoraMultiheadAttention(nn.Module):
    """Self-attention with LoRA on the packed q/k/v projection and on the output projection."""

    def __init__(self, old: nn.MultiheadAttention, rank: int, alpha: float):
        super().__init__()
        width = old.embed_dim
        self.heads, self.batch_first = old.num_heads, old.batch_first
        self.in_proj_weight, self.in_proj_bias = old.in_proj_weight, old.in_proj_bias
        self.in_proj_weight_lora_A = nn.Parameter(torch.empty(rank, width))
        self.in_proj_weight_lora_B = nn.Parameter(torch.empty(3 * width, rank))
        nn.init.xavier_uniform_(self.in_proj_weight_lora_A)  # non-zero from the start, as theirs
        nn.init.xavier_uniform_(self.in_proj_weight_lora_B)
        self.out_proj = LoraLinear(old.out_proj, rank, alpha)
        self.scaling = alpha / rank

    def forward(self, query, key, value, need_weights=False, attn_mask=None):
        x = query if self.batch_first else query.transpose(0, 1)  # (batch, sequence, width)
        batch, length, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv + F.linear(F.linear(x, self.in_proj_weight_lora_A), self.in_proj_weight_lora_B) * self.scaling
        q, k, v = (t.reshape(batch, length, self.heads, -1).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if attn_mask is not None:
            scores = scores + attn_mask
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, length, width)
        out = self.out_proj(out)
        return (out if self.batch_first else out.transpose(0, 1)), None


def add_authors_lora(model: nn.Module, rank: int = 4, alpha: float = 1.0, seed: int = 0) -> nn.Module:
    """Patch ``model`` in place as the authors' ``patch_vit_clip_lora`` does, then give every factor
    trained-looking values (their ``lora_B`` starts at zero, which would make any merge a no-op)."""
    torch.manual_seed(seed)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.MultiheadAttention):
                setattr(module, child_name, LoraMultiheadAttention(child, rank, alpha))
            elif isinstance(child, nn.Linear) and "attn" not in f"{name}.{child_name}":
                setattr(module, child_name, LoraLinear(child, rank, alpha))
            elif isinstance(child, nn.Conv2d):
                setattr(module, child_name, LoraConv2d(child, rank, alpha))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("lora_B"):
                parameter.normal_(std=0.1)
    return model


def as_saved_by_the_authors(model: nn.Module, epoch: int = 5) -> dict:
    """What their ``main.py`` saves each epoch: DDP-prefixed weights under "state_dict" beside training state."""
    return {"epoch": epoch, "name": "fsc-clip-lora", "optimizer": {"state": {}, "param_groups": []},
            "state_dict": {f"module.{key}": value for key, value in model.state_dict().items()}}
