"""WiSE-FT: the weights of a fine-tuned CLIP interpolated towards its pretrained start.

``θ(α) = (1 − α) · θ_pretrained + α · θ_finetuned`` for every floating tensor (the logit scale too), as
the FSC-CLIP authors' ``--wise-ft-alpha`` does for full fine-tunes: α = 0 is the pretrained model, α = 1
the fine-tuned one. ::

    python -m fsc_clip_hf.release.wise_ft --pretrained openai/clip-vit-base-patch32 \\
        --finetuned outputs/coco_b32/final --alpha 0.5 --output_dir outputs/coco_b32/wise_ft_0.5

For LoRA runs the authors' code interpolates the LoRA factors instead, each by α, which scales the
weight change ``ΔW = B A`` by α². On a LoRA model whose other weights stayed the pretrained ones (frozen),
that is ``θ(α²)`` here: ``--lora_factors`` squares α. ``recipes/eval.py --wise_ft_alphas`` evaluates a
sweep (:mod:`fsc_clip_hf.release.wise_ft_sweep`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from transformers import CLIPModel

from ..argparsing import ArgumentParser
from ..paths import apply_umask
from ..processor import load_processor

logger = logging.getLogger(__name__)


def effective_alpha(alpha: float, lora_factors: bool = False) -> float:
    """The weight-space α of a requested α: α itself, or α² for the authors' LoRA-factor interpolation."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"WiSE-FT alpha must be within [0, 1] (0: pretrained, 1: fine-tuned), got {alpha}")
    return alpha * alpha if lora_factors else alpha


def interpolate(pretrained: Mapping[str, torch.Tensor], finetuned: Mapping[str, torch.Tensor],
                alpha: float) -> dict[str, torch.Tensor]:
    """``(1 − alpha) · pretrained + alpha · finetuned`` tensor by tensor, in the fine-tuned dtype.

    Integer tensors (buffers such as position ids) must be equal and are taken as they are. α = 0 and
    α = 1 give the two state dicts exactly. Raises ``ValueError`` naming the first tensor that differs
    in name or shape.
    """
    if pretrained.keys() != finetuned.keys():
        only = sorted(set(pretrained) ^ set(finetuned))
        raise ValueError(f"pretrained and fine-tuned models have different tensors, e.g. {only[:3]}")
    mixed = {}
    for name, tuned in finetuned.items():
        start = pretrained[name]
        if start.shape != tuned.shape:
            raise ValueError(f"{name}: shape {tuple(start.shape)} (pretrained) vs {tuple(tuned.shape)} (fine-tuned)")
        if not tuned.is_floating_point():
            if not torch.equal(start, tuned):
                raise ValueError(f"{name}: the non-float tensor differs between the two models")
            mixed[name] = tuned
            continue
        # (1 - a) x + a y rather than lerp: both ends come out exactly.
        value = (1.0 - alpha) * start.to(tuned.device, torch.float32) + alpha * tuned.float()
        mixed[name] = value.to(tuned.dtype)
    return mixed


def load_pretrained_state(path: str, like: CLIPModel) -> dict[str, torch.Tensor]:
    """The pretrained model's tensors (on the CPU), checked to be the architecture of ``like`` in what
    the shapes do not show (:func:`interpolate` checks the shapes)."""
    pretrained = CLIPModel.from_pretrained(path)
    for tower in ("text_config", "vision_config"):
        ours, theirs = getattr(pretrained.config, tower), getattr(like.config, tower)
        for field in ("hidden_act", "num_attention_heads"):
            if getattr(ours, field) != getattr(theirs, field):
                raise ValueError(f"{path} is not the fine-tuned model's architecture: {tower}.{field} "
                                 f"{getattr(ours, field)!r} vs {getattr(theirs, field)!r}")
    return {name: tensor.detach().cpu() for name, tensor in pretrained.state_dict().items()}


def wise_ft(pretrained: str, finetuned: str, alpha: float, *, lora_factors: bool = False) -> CLIPModel:
    """The fine-tuned model of folder/Hub id ``finetuned`` with WiSE-FT weights at ``alpha``."""
    model = CLIPModel.from_pretrained(finetuned)
    weight = effective_alpha(alpha, lora_factors)
    model.load_state_dict(interpolate(load_pretrained_state(pretrained, model), model.state_dict(), weight))
    logger.info("WiSE-FT of %s towards %s at alpha %g (weight-space %g)", finetuned, pretrained, alpha, weight)
    return model


def main(argv: list[str] | None = None) -> Path:
    parser = ArgumentParser(prog="python -m fsc_clip_hf.release.wise_ft", description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", required=True, help="the pretrained CLIP (folder or Hub id)")
    parser.add_argument("--finetuned", required=True, help="the fine-tuned CLIP (folder or Hub id); its processor is kept")
    parser.add_argument("--alpha", type=float, required=True, help="0: pretrained, 1: fine-tuned")
    parser.add_argument("--output_dir", required=True, help="receives a plain CLIP checkpoint and its processor")
    parser.add_argument("--lora_factors", action="store_true",
                        help="interpolate as the authors' code does for LoRA runs (weight change scaled by alpha^2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = wise_ft(args.pretrained, args.finetuned, args.alpha, lora_factors=args.lora_factors)
    processor = load_processor(args.finetuned, model.config.text_config, option="--finetuned with its tokenizer")
    model.save_pretrained(args.output_dir)
    processor.save_pretrained(args.output_dir)
    apply_umask(args.output_dir)
    print(f"Wrote the WiSE-FT model (alpha {args.alpha}) to {args.output_dir}")
    return Path(args.output_dir)


if __name__ == "__main__":
    main()
