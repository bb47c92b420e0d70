"""The FSC-CLIP objectives (docs/objectives.md), one function per term.

Shapes: B pairs on this process, K negative types, D embedding width, P patches, T text positions.

* `contrastive_loss`: symmetric InfoNCE over the global batch; with negatives, the NegCLIP variant.
* `hard_negative_loss`: the focal, label-smoothed loss over one positive and K negative columns.
* `global_hn_logits` / `local_hn_logits`: the (B, 1+K) scores the two HN terms feed to it.
* `fsc_clip_loss`: the whole objective, as the trainer calls it; `FSCLoss` wraps it as a module.

All terms are computed in at least float32, also under autocast: the logits are scaled by up to 100 and the
focal factor underflows quickly in half precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .distributed import gather_batch, mean_over_processes
from .options import OBJECTIVE, Bounds, check_values, option

LOSS_NAMES = ("clip", "fsc-clip")
NEG_LOSS_NAMES = ("cross_entropy", "focal_loss")
SIM_NORMALIZERS = ("minmax", "softmax")

# F.normalize's default: a zero vector stays zero instead of dividing by zero.
_NORM_EPS = 1e-12


@dataclass
class LossOptions:
    """The objective's options, under the names the published recipes use; their defaults are those of the
    published FSC-CLIP recipes (ViT-B-32 on COCO / LAION-COCO). ``FSCLossConfig`` and
    ``FSCTrainingArguments`` both build on this one declaration."""

    loss_name: str = option("fsc-clip", "clip | fsc-clip.", group=OBJECTIVE, recorded=True, choices=LOSS_NAMES)
    neg_loss_name: str = option("focal_loss", "cross_entropy | focal_loss.", group=OBJECTIVE, recorded=True,
                                choices=NEG_LOSS_NAMES)
    focal_gamma: float = option(2.0, "Focal loss gamma.", group=OBJECTIVE, recorded=True, bounds=Bounds(0))
    neg_label_smoothing: float | None = option(
        0.02, "Negative-aware label smoothing.", group=OBJECTIVE, recorded=True,
        bounds=Bounds(0, 1, high_open=True, also=(None,)))
    apply_global_neg_loss: bool = option(True, "Global hard-negative term.", group=OBJECTIVE, recorded=True)
    neg_loss_weight: float = option(0.5, "Weight of the global HN term (0 turns it off, as apply_global_neg_loss: "
                                    "false does).", group=OBJECTIVE, recorded=True, bounds=Bounds(0))
    apply_local_neg_loss: bool = option(True, "Local (token-level) hard-negative term.", group=OBJECTIVE,
                                        recorded=True)
    local_neg_weight: float = option(0.2, "Weight of the local HN term (0 turns it off, as apply_local_neg_loss: "
                                     "false does).", group=OBJECTIVE, recorded=True, bounds=Bounds(0))
    sim_normalizer: str = option("minmax", "minmax | softmax.", group=OBJECTIVE, recorded=True,
                                 choices=SIM_NORMALIZERS)
    sim_sparsify: bool = option(False, "Zero patch weights below 1/P (minmax only).", group=OBJECTIVE, recorded=True)
    gather_with_grad: bool = option(
        True, "Multi-process contrastive term: gather embeddings with gradient (the exact global-batch gradient) "
              "or without (the authors' runs: 1/world_size of it). See distributed.py.", group=OBJECTIVE,
        recorded=True)
    hn_global_mean: bool = option(
        False, "Multi-process hard-negative terms: mean over the global batch's rows with a negative (the exact "
               "global-batch gradient) instead of each process's own mean (the authors'); they differ when the "
               "processes keep different numbers of rows.", group=OBJECTIVE, recorded=True)


@dataclass
class FSCLossConfig(LossOptions):
    """The objective's options (:class:`LossOptions`), checked.

    The hard-negative terms belong to `loss_name="fsc-clip"`; with `loss_name="clip"` the objective is
    plain CLIP fine-tuning, or NegCLIP when negatives are given.
    """

    def __post_init__(self):
        check_values(self, prefix="FSCLossConfig.")
        if self.sim_sparsify and self.sim_normalizer != "minmax":
            raise ValueError("FSCLossConfig.sim_sparsify applies to sim_normalizer='minmax' only.")

    @property
    def uses_global_hn(self) -> bool:
        return self.loss_name == "fsc-clip" and self.apply_global_neg_loss

    @property
    def uses_local_hn(self) -> bool:
        return self.loss_name == "fsc-clip" and self.apply_local_neg_loss

    @property
    def needs_dense_features(self) -> bool:
        """Whether the model must return patch and token features (`return_dense=True`)."""
        return self.uses_local_hn

    def to_dict(self) -> dict:
        return asdict(self)


def contrastive_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    logit_scale: torch.Tensor,
    neg_text_embeds: torch.Tensor | None = None,
    neg_mask: torch.Tensor | None = None,
    gather_with_grad: bool = True,
) -> torch.Tensor:
    """Symmetric InfoNCE of this process's pairs against the global batch.

    Args:
        image_embeds, text_embeds: `(B, D)` normalised embeddings of this process.
        logit_scale: `()` the exponentiated scale.
        neg_text_embeds: `(K, B, D)`, or None. When given (NegCLIP), every valid negative of the global
            batch is an extra column of the image→text logits; text→image uses positives only.
        neg_mask: `(K, B)`, true where the negative exists. Invalid ones are left out of the softmax.
        gather_with_grad: with gradient, each process averages over its own rows (its gradient reaches
            every process's embeddings); without (the authors' form), each process averages over all
            rows of the global batch, with gradient through its own embeddings only.

    Either way the mean over processes is the loss of the global batch.
    """
    batch = image_embeds.shape[0]
    tensors = [image_embeds, text_embeds]
    with_negatives = neg_text_embeds is not None and neg_text_embeds.shape[0] > 0
    if with_negatives:
        # (K, B, ·) → (B, K, ·): gathering works along the batch dimension.
        tensors += [neg_text_embeds.transpose(0, 1), neg_mask.transpose(0, 1).to(image_embeds.dtype)]
    gathered, offset = gather_batch(*tensors, with_grad=gather_with_grad)
    all_images, all_texts = gathered[:2]
    if gather_with_grad:
        images, texts = image_embeds, text_embeds
        labels = torch.arange(offset, offset + batch, device=image_embeds.device)
    else:
        images, texts = all_images, all_texts
        labels = torch.arange(all_images.shape[0], device=image_embeds.device)

    logits_per_image = logit_scale * images @ all_texts.t()
    if with_negatives:
        all_negs, all_valid = gathered[2].flatten(0, 1), gathered[3].flatten(0, 1).bool()
        neg_logits = (logit_scale * images @ all_negs.t()).masked_fill(
            ~all_valid, torch.finfo(image_embeds.dtype).min
        )
        logits_per_image = torch.cat([logits_per_image, neg_logits], dim=1)
    logits_per_text = logit_scale * texts @ all_images.t()
    return (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2


def hard_negative_loss(logits: torch.Tensor, valid: torch.Tensor, config: FSCLossConfig) -> torch.Tensor:
    """Focal / cross-entropy loss with negative-aware label smoothing over `(B, 1+K)` logits.

    Args:
        logits: `(B, 1+K)`, column 0 the positive.
        valid: `(B, 1+K)` bool, column 0 always true. Invalid columns are left out of the softmax and
            get no target mass; rows without any valid negative are dropped from the mean.
    """
    valid = valid.clone()
    valid[:, 0] = True
    log_p = torch.log_softmax(logits.masked_fill(~valid, torch.finfo(logits.dtype).min), dim=-1)
    target = torch.zeros_like(log_p)
    target[:, 0] = 1.0
    if config.neg_label_smoothing:
        eps = config.neg_label_smoothing
        share = eps / valid.sum(dim=-1, keepdim=True).to(log_p.dtype)
        target = target * (1.0 - eps) + valid * share
    # torch.where, not a product with the zero target: -log p of a masked column is huge, and
    # 0·huge must not leak into the backward.
    per_column = torch.where(valid, -log_p * target, 0.0)
    if config.neg_loss_name == "focal_loss":
        # Clamped away from 0 so that pow's backward stays finite for p = 1 (and gamma < 1).
        per_column = per_column * (1.0 - log_p.exp()).clamp_min(torch.finfo(log_p.dtype).tiny).pow(config.focal_gamma)
    kept = valid[:, 1:].any(dim=-1)
    # With hn_global_mean, the processes' mean count of kept rows: the gradients' averaging over the
    # processes then makes the sum over the global batch's kept rows divided by their number.
    count = mean_over_processes(kept.sum().to(per_column.dtype)) if config.hn_global_mean else kept.sum()
    return (per_column.sum(dim=-1) * kept).sum() / count.clamp_min(1)


def global_hn_logits(
    image_embeds: torch.Tensor, text_embeds: torch.Tensor, neg_text_embeds: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """`(B, 1+K)` scores of each image against its own caption and that caption's K negatives."""
    positive = (image_embeds * text_embeds).sum(dim=-1, keepdim=True)
    negatives = torch.einsum("bd,kbd->bk", image_embeds, neg_text_embeds)
    return logit_scale * torch.cat([positive, negatives], dim=1)


def patch_weights(sim: torch.Tensor, normalizer: str, sparsify: bool) -> torch.Tensor:
    """Turn token-to-patch similarities `(..., P)` into per-token weights over patches (rows sum to 1)."""
    if normalizer == "softmax":
        return sim.softmax(dim=-1)
    low = sim.amin(dim=-1, keepdim=True)
    high = sim.amax(dim=-1, keepdim=True)
    weights = (sim - low) / (high - low).clamp_min(_NORM_EPS)
    if sparsify:
        weights = weights.masked_fill(weights < 1.0 / sim.shape[-1], 0.0)
    return weights / weights.sum(dim=-1, keepdim=True).clamp_min(_NORM_EPS)


class _TokenPatchSimilarity(torch.autograd.Function):
    """`S = W Vᵀ` for `W (n, B, T, D)`, `V (B, P, D)`, broadcast over n.

    `torch.matmul` would keep its n-fold broadcast copy of V alive for the backward; this keeps
    only W and V themselves and rebuilds what the backward needs.
    """

    @staticmethod
    def forward(ctx, words: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(words, patches)
        return torch.matmul(words, patches.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        words, patches = ctx.saved_tensors
        grad_words = torch.matmul(grad, patches) if ctx.needs_input_grad[0] else None
        grad_patches = torch.matmul(grad.transpose(-1, -2), words).sum(0) if ctx.needs_input_grad[1] else None
        return grad_words, grad_patches


def local_hn_logits(
    image_tokens: torch.Tensor,
    text_tokens: torch.Tensor,
    text_token_mask: torch.Tensor,
    neg_text_tokens: torch.Tensor,
    neg_text_token_mask: torch.Tensor,
    logit_scale: torch.Tensor,
    normalizer: str = "minmax",
    sparsify: bool = False,
) -> torch.Tensor:
    """Token-level scores of each image against its caption and that caption's K negatives.

    Args:
        image_tokens: `(B, P, D)` projected patch tokens V.
        text_tokens: `(B, T, D)` and neg_text_tokens `(K, B, T, D)`: projected text tokens W.
        text_token_mask: `(B, T)` and neg_text_token_mask `(K, B, T)`: positions that take part
            (start-of-text and padding excluded).

    Returns:
        `(B, 1+K)`: for each caption, logsumexp over its tokens τ of `s · cos(G_τ, W_τ)`, where
        `G_τ = Σ_p A_τp V_p` pools the patches with weights A from the (gradient-free) similarity map.

    All captions of an image share its patches, so G is never formed: with `S = W Vᵀ` (kept with
    gradient, its detached copy gives A),
        ⟨G_τ, W_τ⟩ = Σ_p A_τp S_τp      and      |G_τ|² = A_τ (V Vᵀ) A_τᵀ,
    which needs one `(P, P)` Gram matrix per image instead of a `(T, D)` pooled feature per caption.
    Positives and negatives are scored in their own layouts: joining them would copy every token.
    """
    gram = torch.bmm(image_tokens, image_tokens.transpose(1, 2))  # (B, P, P)

    def scores(words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """words `(n, B, T, D)`, mask `(n, B, T)` → `(B, n)`."""
        sim = _TokenPatchSimilarity.apply(words, image_tokens)  # (n, B, T, P)
        weights = patch_weights(sim.detach(), normalizer, sparsify)
        dot = (weights * sim).sum(dim=-1)
        pooled_norm = (torch.matmul(weights, gram) * weights).sum(dim=-1).clamp_min(_NORM_EPS**2).sqrt()
        word_norm = words.norm(dim=-1).clamp_min(_NORM_EPS)
        token_scores = logit_scale * dot / (pooled_norm * word_norm)
        # A finite fill, not -inf: a caption without any position (an absent negative) must stay
        # finite in the backward; its column is masked again by the loss.
        token_scores = token_scores.masked_fill(~mask.bool(), torch.finfo(token_scores.dtype).min)
        return torch.logsumexp(token_scores, dim=-1).t()

    return torch.cat(
        [scores(text_tokens.unsqueeze(0), text_token_mask.unsqueeze(0)), scores(neg_text_tokens, neg_text_token_mask)],
        dim=1,
    )


def fsc_clip_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    neg_text_embeds: torch.Tensor | None,
    neg_mask: torch.Tensor | None,
    logit_scale: torch.Tensor,
    image_tokens: torch.Tensor | None = None,
    text_tokens: torch.Tensor | None = None,
    text_token_mask: torch.Tensor | None = None,
    neg_text_tokens: torch.Tensor | None = None,
    neg_text_token_mask: torch.Tensor | None = None,
    config: FSCLossConfig | None = None,
) -> dict[str, torch.Tensor]:
    """The full objective of one training step.

    Args:
        image_embeds, text_embeds: `(B, D)` normalised global embeddings.
        neg_text_embeds: `(K, B, D)` normalised negative embeddings, or None (K = 0).
        neg_mask: `(K, B)`, true where negative k of caption b exists.
        logit_scale: `()` exponentiated scale.
        image_tokens `(B, P, D)`, text_tokens `(B, T, D)`, text_token_mask `(B, T)`,
        neg_text_tokens `(K, B, T, D)`, neg_text_token_mask `(K, B, T)`: dense features, needed only
            by the local HN term.

    Returns:
        `contrastive_loss`, `global_hn_loss` and `local_hn_loss` (already weighted; the HN entries only
        when the term is enabled) and `loss`, their sum.
    """
    config = config or FSCLossConfig()
    batch = image_embeds.shape[0]
    if neg_text_embeds is None:
        neg_text_embeds = image_embeds.new_zeros((0, batch, image_embeds.shape[1]))
    num_types = neg_text_embeds.shape[0]
    if neg_mask is None:
        neg_mask = torch.ones((num_types, batch), dtype=torch.bool, device=image_embeds.device)
    if neg_mask.shape != (num_types, batch):
        raise ValueError(f"neg_mask has shape {tuple(neg_mask.shape)}; expected (K, B) = ({num_types}, {batch}).")
    image_embeds, text_embeds, neg_text_embeds, logit_scale = map(
        at_least_float32, (image_embeds, text_embeds, neg_text_embeds, logit_scale)
    )
    # (B, 1+K): the positive column is always valid.
    valid = torch.cat([neg_mask.new_ones((batch, 1)), neg_mask.t()], dim=1).bool()

    with torch.autocast(image_embeds.device.type, enabled=False):
        terms = {
            "contrastive_loss": contrastive_loss(
                image_embeds,
                text_embeds,
                logit_scale,
                neg_text_embeds if config.loss_name == "clip" else None,
                neg_mask.bool(),
                config.gather_with_grad,
            )
        }
        if config.uses_global_hn:
            logits = global_hn_logits(image_embeds, text_embeds, neg_text_embeds, logit_scale)
            terms["global_hn_loss"] = config.neg_loss_weight * hard_negative_loss(logits, valid, config)
        if config.uses_local_hn:
            dense = dict(
                image_tokens=image_tokens,
                text_tokens=text_tokens,
                text_token_mask=text_token_mask,
                **(dict(neg_text_tokens=neg_text_tokens, neg_text_token_mask=neg_text_token_mask) if num_types else {}),
            )
            missing = [name for name, value in dense.items() if value is None]
            if missing:
                raise ValueError(
                    f"apply_local_neg_loss needs dense features; missing {missing}. "
                    "Call the model with return_dense=True."
                )
            if not num_types:
                neg_text_tokens = text_tokens.new_zeros((0, *text_tokens.shape))
                neg_text_token_mask = text_token_mask.new_zeros((0, *text_token_mask.shape))
            logits = local_hn_logits(
                *map(at_least_float32, (image_tokens, text_tokens)),
                text_token_mask,
                at_least_float32(neg_text_tokens),
                neg_text_token_mask,
                logit_scale,
                config.sim_normalizer,
                config.sim_sparsify,
            )
            terms["local_hn_loss"] = config.local_neg_weight * hard_negative_loss(logits, valid, config)
    terms["loss"] = sum(terms.values())
    return terms


def at_least_float32(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """Half-precision inputs go up to float32; float32 and float64 stay as they are."""
    if tensor is None or tensor.element_size() >= 4:
        return tensor
    return tensor.float()


class FSCLoss(nn.Module):
    """The objective as a module: `FSCLoss(config)(model_output, neg_mask)` → the dict of terms."""

    def __init__(self, config: FSCLossConfig | None = None):
        super().__init__()
        self.config = config or FSCLossConfig()

    def forward(self, output, neg_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """`output`: an `FSCCLIPOutput` (dense fields needed when the local term is on)."""
        return fsc_clip_loss(
            output.image_embeds,
            output.text_embeds,
            output.neg_text_embeds,
            neg_mask,
            output.logit_scale,
            image_tokens=output.image_tokens,
            text_tokens=output.text_tokens,
            text_token_mask=output.text_token_mask,
            neg_text_tokens=output.neg_text_tokens,
            neg_text_token_mask=output.neg_text_token_mask,
            config=self.config,
        )
