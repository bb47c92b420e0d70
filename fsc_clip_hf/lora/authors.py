"""The authors' LoRA form (their `lora_utils`: loralib layers patched into open_clip) over HF CLIP.

Their adapters, and how each is expressed here:

* attention: one adapter on open_clip's fused q/k/v input projection, i.e. one A `(r, D)` shared by
  q, k and v and one B `(3D, r)` whose row blocks feed q, k, v; both xavier-uniform, so the model
  already differs from the pretrained one at step 0. HF CLIP projects q, k, v separately: peft's three
  adapters are tied to one A (one parameter, whose gradient sums the three paths, as the fused
  product's does) and their Bs get the row blocks of one xavier-initialised `(3D, r)` matrix
  (`fuse_qkv_adapters`). The forward is then exactly the fused one: `qkv += s · (x Aᵀ) Bᵀ`.
* out_proj and the MLP linears: plain rank-r adapters, A kaiming-uniform, B zero (loralib's
  initialisation is peft's default).
* patch embedding: loralib's Conv2d LoRA, A `(r·k, in·k)`, B `(out·k, r·k)` and
  `ΔW = (B A).view(out, in, k, k)` (rank up to r·k); peft's convolution LoRA factorises differently,
  so this one is our layer (`LoralibConv2d`), registered with peft as a custom module.

Scaling is alpha/r everywhere.
"""

from __future__ import annotations

import math

import torch
from peft.tuners.lora import LoraLayer
from peft.tuners.lora.layer import Conv2d as PeftLoraConv2d
from torch import nn

QKV = ("q_proj", "k_proj", "v_proj")


class LoralibConv2d(PeftLoraConv2d):
    """loralib's `Conv2d` LoRA as a peft layer (merge, unmerge, save and load work as for peft's own).

    Factors, for a `(out, in, k, k)` kernel: `lora_A` weight `(r·k, in·k)` (kaiming-uniform), `lora_B`
    weight `(out·k, r·k)` (zero); the forward convolves with `W + s · (B A).view(out, in, k, k)`. As in
    loralib, no dropout is applied to this layer.
    """

    def update_layer(self, adapter_name: str, r: int, lora_alpha: float, config, **kwargs) -> None:
        base = self.get_base_layer()
        height, width = base.kernel_size
        if height != width or base.groups != 1:
            raise ValueError(f"the authors' Conv2d LoRA needs a square kernel and groups=1; got {base}")
        if r <= 0:
            raise ValueError(f"LoRA rank must be positive, got r={r}")
        k = height
        self.r[adapter_name] = r
        self.lora_alpha[adapter_name] = lora_alpha
        self.scaling[adapter_name] = lora_alpha / r
        self.lora_dropout[adapter_name] = nn.Identity()
        self.lora_A[adapter_name] = nn.Linear(base.in_channels * k, r * k, bias=False)
        self.lora_B[adapter_name] = nn.Linear(r * k, base.out_channels * k, bias=False)
        self.lora_bias[adapter_name] = False
        self.use_rslora[adapter_name] = False
        self.use_dora[adapter_name] = False
        nn.init.kaiming_uniform_(self.lora_A[adapter_name].weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B[adapter_name].weight)
        self._move_adapter_to_device_of_base_layer(adapter_name)
        self.set_adapter(self.active_adapters, inference_mode=config.inference_mode)

    def get_delta_weight(self, adapter: str) -> torch.Tensor:
        product = self.lora_B[adapter].weight @ self.lora_A[adapter].weight
        return product.view(self.get_base_layer().weight.shape) * self.scaling[adapter]

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        base = self.get_base_layer()
        active = [name for name in self.active_adapters if name in self.lora_A]
        if self.disable_adapters:
            if self.merged:
                self.unmerge()
            return base(x, *args, **kwargs)
        if self.merged or not active:
            return base(x, *args, **kwargs)
        weight = base.weight
        for name in active:
            weight = weight + self.get_delta_weight(name).to(weight.dtype)
        return base._conv_forward(x, weight, base.bias)


def fuse_qkv_adapters(model: nn.Module, adapter_name: str = "default") -> int:
    """Turn peft's separate q/k/v adapters of every attention into the authors' fused one: a single A
    shared by the three, xavier-uniform, and Bs that are the row blocks of one xavier-uniform `(3D, r)`
    matrix. Returns the number of attentions fused."""
    fused = 0
    for attention in model.modules():
        projections = [getattr(attention, name, None) for name in QKV]
        if not all(isinstance(p, LoraLayer) and adapter_name in p.lora_A for p in projections):
            continue
        shared = projections[0].lora_A[adapter_name].weight
        nn.init.xavier_uniform_(shared)
        blocks = [p.lora_B[adapter_name].weight for p in projections]
        fused_b = torch.empty(sum(b.shape[0] for b in blocks), shared.shape[0], dtype=shared.dtype)
        nn.init.xavier_uniform_(fused_b)
        with torch.no_grad():
            for projection, block, rows in zip(projections, blocks, fused_b.split([b.shape[0] for b in blocks])):
                projection.lora_A[adapter_name].weight = shared
                block.copy_(rows)
        fused += 1
    return fused
