import math

import pytest
import torch
import torch.nn.functional as F

from fsc_clip_hf.losses import (
    FSCLossConfig,
    contrastive_loss,
    fsc_clip_loss,
    global_hn_logits,
    hard_negative_loss,
    local_hn_logits,
)

CE = FSCLossConfig(neg_loss_name="cross_entropy", neg_label_smoothing=None)


def make_inputs(batch=4, types=3, patches=5, length=6, dim=8, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    unit = lambda *shape: F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)  # noqa: E731
    token_mask = torch.ones(batch, length, dtype=torch.long)
    token_mask[:, 0] = 0
    token_mask[1, 4:] = 0
    neg_token_mask = torch.ones(types, batch, length, dtype=torch.long)
    neg_token_mask[..., 0] = 0
    neg_token_mask[0, 2, 3:] = 0
    neg_mask = torch.ones(types, batch, dtype=torch.bool)
    neg_mask[1, 0] = False
    neg_mask[:, -1] = False  # the last caption has no negative at all
    return dict(
        image_embeds=unit(batch, dim),
        text_embeds=unit(batch, dim),
        neg_text_embeds=unit(types, batch, dim),
        neg_mask=neg_mask,
        logit_scale=torch.tensor(10.0, dtype=dtype),
        image_tokens=torch.randn(batch, patches, dim, generator=g, dtype=dtype),
        text_tokens=torch.randn(batch, length, dim, generator=g, dtype=dtype),
        text_token_mask=token_mask,
        neg_text_tokens=torch.randn(types, batch, length, dim, generator=g, dtype=dtype),
        neg_text_token_mask=neg_token_mask,
    )


# --- an independent reference: one sample, one caption at a time, straight from docs/objectives.md ---


def reference_hn_row(z, valid, eps, gamma):
    z = z[valid]
    log_p = torch.log_softmax(z, dim=0)
    c = len(z)
    q = torch.full_like(z, (eps or 0.0) / c)
    q[0] += 1 - (eps or 0.0)
    weight = (1 - log_p.exp()) ** gamma if gamma is not None else 1.0
    return (q * weight * -log_p).sum()


def reference_hn(logits, valid, eps=None, gamma=None):
    rows = [reference_hn_row(logits[b], valid[b], eps, gamma) for b in range(len(logits)) if valid[b, 1:].any()]
    return torch.stack(rows).mean() if rows else logits.sum() * 0


def reference_local_score(V, W, a, s, normalizer="minmax", sparsify=False):
    S = (W @ V.t()).detach()
    if normalizer == "minmax":
        A = (S - S.min(1, keepdim=True).values) / (S.max(1, keepdim=True).values - S.min(1, keepdim=True).values)
        if sparsify:
            A = torch.where(A < 1 / V.shape[0], torch.zeros_like(A), A)
        A = A / A.sum(1, keepdim=True)
    else:
        A = S.softmax(1)
    G = F.normalize(A @ V, dim=-1)
    r = s * F.cosine_similarity(G, W, dim=-1)
    return torch.logsumexp(r[a.bool()], dim=0)


def reference_total(x, config):
    B, K = x["image_embeds"].shape[0], x["neg_text_embeds"].shape[0]
    v, t, n, m, s = x["image_embeds"], x["text_embeds"], x["neg_text_embeds"], x["neg_mask"], x["logit_scale"]
    labels = torch.arange(B)
    i2t = s * v @ t.t()
    if config.loss_name == "clip":
        cols = [s * v @ n[k].t() for k in range(K)]
        i2t = torch.cat([i2t] + [c.masked_fill(~m[k][None, :], float("-inf")) for k, c in enumerate(cols)], 1)
    loss = (F.cross_entropy(i2t, labels) + F.cross_entropy(s * t @ v.t(), labels)) / 2
    if config.loss_name == "clip":
        return loss
    valid = torch.cat([torch.ones(B, 1, dtype=torch.bool), m.t()], 1)
    gamma = config.focal_gamma if config.neg_loss_name == "focal_loss" else None
    eps = config.neg_label_smoothing
    if config.apply_global_neg_loss:
        z = torch.stack([torch.stack([s * v[b] @ t[b]] + [s * v[b] @ n[k, b] for k in range(K)]) for b in range(B)])
        loss = loss + config.neg_loss_weight * reference_hn(z, valid, eps, gamma)
    if config.apply_local_neg_loss:
        rows = []
        for b in range(B):
            V = x["image_tokens"][b]
            scores = [reference_local_score(V, x["text_tokens"][b], x["text_token_mask"][b], s, config.sim_normalizer, config.sim_sparsify)]
            for k in range(K):
                if m[k, b]:
                    scores.append(reference_local_score(V, x["neg_text_tokens"][k, b], x["neg_text_token_mask"][k, b], s, config.sim_normalizer, config.sim_sparsify))
                else:
                    scores.append(torch.zeros((), dtype=V.dtype))
            rows.append(torch.stack(scores))
        loss = loss + config.local_neg_weight * reference_hn(torch.stack(rows), valid, eps, gamma)
    return loss


# --- hand-computed values ---


def test_contrastive_loss_hand_value():
    eye = torch.eye(2)
    # logits are the identity: each row is -log(e / (e + 1)).
    assert contrastive_loss(eye, eye, torch.tensor(1.0)).item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)


def test_negclip_columns_hand_value_and_masking():
    eye = torch.eye(2)
    negatives = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])  # (K=1, B=2, D=2)
    both = contrastive_loss(eye, eye, torch.tensor(1.0), negatives, torch.tensor([[True, True]]))
    # image→text rows gain two columns: image 0 sees [1, 0 | 0, 1], image 1 sees [0, 1 | 1, 0]:
    # each row has its positive at 1 beside one other 1 and two 0s.
    i2t = math.log(2 + 2 * math.exp(-1))
    expected = (i2t + math.log(1 + math.exp(-1))) / 2
    assert both.item() == pytest.approx(expected, abs=1e-6)
    # An invalid negative leaves the softmax: the same as having none, not a column of logit 0.
    masked = contrastive_loss(eye, eye, torch.tensor(1.0), negatives, torch.tensor([[False, False]]))
    assert masked.item() == pytest.approx(contrastive_loss(eye, eye, torch.tensor(1.0)).item(), abs=1e-6)


@pytest.mark.parametrize(
    "config, expected",
    [
        (CE, 0.12692801104297263),  # -log(1 / (1 + e^-2))
        (FSCLossConfig(neg_loss_name="cross_entropy", neg_label_smoothing=0.1), 0.22692801104297255),
        (FSCLossConfig(neg_loss_name="focal_loss", focal_gamma=2.0, neg_label_smoothing=0.1), 0.08421729366454873),
    ],
)
def test_hard_negative_loss_hand_values(config, expected):
    logits = torch.tensor([[2.0, 0.0, 5.0]])
    valid = torch.tensor([[True, True, False]])  # the third column is an absent negative
    assert hard_negative_loss(logits, valid, config).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("normalizer, cosine", [("minmax", 2 / math.sqrt(5)), ("softmax", 0.9938309495343176)])
def test_local_score_hand_values(normalizer, cosine):
    V = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # one image, two patches
    W = torch.tensor([[[9.0, 9.0], [2.0, 1.0]]])  # one caption: start-of-text, one word
    mask = torch.tensor([[0, 1]])
    negatives = torch.stack([W.flip(-1), W])  # K=2: [1, 2] as the word, then the caption itself
    scores = local_hn_logits(V, W, mask, negatives, torch.stack([mask, mask]), torch.tensor(10.0), normalizer)
    assert scores.shape == (1, 3)
    assert scores[0, 0].item() == pytest.approx(10 * cosine, abs=1e-5)
    assert scores[0, 1].item() == pytest.approx(10 * cosine, abs=1e-5)  # mirrored: same geometry
    assert scores[0, 2].item() == pytest.approx(10 * cosine, abs=1e-5)


def test_sparsify_drops_weak_patches():
    V = torch.eye(4).unsqueeze(0)
    W = torch.tensor([[[4.0, 3.0, 1.2, 1.0]]])
    mask = torch.ones(1, 1)
    # minmax weights [1, 2/3, 0.0667, 0]: the third falls under 1/P = 0.25 and is zeroed.
    G = F.normalize(torch.tensor([1.0, 2 / 3, 0.0, 0.0]), dim=0)
    expected = 10 * (G @ F.normalize(W[0, 0], dim=0))
    scores = local_hn_logits(V, W, mask, W.new_zeros(0, 1, 1, 4), mask.new_zeros(0, 1, 1), torch.tensor(10.0), "minmax", True)
    assert scores.item() == pytest.approx(expected.item(), abs=1e-5)


# --- the sanity facts of docs/objectives.md ---


def test_all_masks_zero_leaves_only_the_contrastive_term():
    x = make_inputs()
    x["neg_mask"][:] = False
    terms = fsc_clip_loss(**x)
    assert terms["global_hn_loss"].item() == 0.0 and terms["local_hn_loss"].item() == 0.0
    assert terms["loss"].item() == terms["contrastive_loss"].item()
    plain = contrastive_loss(x["image_embeds"], x["text_embeds"], x["logit_scale"])
    assert terms["loss"].item() == pytest.approx(plain.item(), abs=1e-12)


def test_focal_with_gamma_zero_is_cross_entropy_and_zero_smoothing_is_one_hot():
    x = make_inputs()
    base = dict(neg_label_smoothing=None)
    focal0 = fsc_clip_loss(**x, config=FSCLossConfig(neg_loss_name="focal_loss", focal_gamma=0.0, **base))
    ce = fsc_clip_loss(**x, config=FSCLossConfig(neg_loss_name="cross_entropy", **base))
    smooth0 = fsc_clip_loss(**x, config=FSCLossConfig(neg_loss_name="cross_entropy", neg_label_smoothing=0.0))
    for name in ("global_hn_loss", "local_hn_loss"):
        assert focal0[name].item() == pytest.approx(ce[name].item(), abs=1e-12)
        assert smooth0[name].item() == pytest.approx(ce[name].item(), abs=1e-12)


def test_a_negative_identical_to_its_positive_scores_the_same():
    x = make_inputs()
    x["neg_text_embeds"][0] = x["text_embeds"]
    x["neg_text_tokens"][0] = x["text_tokens"]
    x["neg_text_token_mask"][0] = x["text_token_mask"]
    s, v = x["logit_scale"], x["image_embeds"]
    global_scores = global_hn_logits(v, x["text_embeds"], x["neg_text_embeds"], s)
    torch.testing.assert_close(global_scores[:, 1], global_scores[:, 0])
    local_scores = local_hn_logits(
        x["image_tokens"], x["text_tokens"], x["text_token_mask"], x["neg_text_tokens"], x["neg_text_token_mask"], s
    )
    torch.testing.assert_close(local_scores[:, 1], local_scores[:, 0])


# --- the vectorised objective against the reference, values and gradients ---

CONFIGS = [
    FSCLossConfig(),
    FSCLossConfig(neg_loss_name="cross_entropy", neg_label_smoothing=None, sim_normalizer="softmax"),
    FSCLossConfig(sim_sparsify=True, neg_loss_weight=1.0, local_neg_weight=0.5, focal_gamma=1.5),
    FSCLossConfig(apply_local_neg_loss=False),
    FSCLossConfig(loss_name="clip"),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.loss_name}-{c.neg_loss_name}-{c.sim_normalizer}")
def test_objective_matches_the_per_sample_reference(config):
    leaves = ("image_embeds", "text_embeds", "neg_text_embeds", "image_tokens", "text_tokens", "neg_text_tokens")
    x = make_inputs()
    ours = {k: v.clone().requires_grad_(k in leaves) for k, v in x.items()}
    ref = {k: v.clone().requires_grad_(k in leaves) for k, v in x.items()}
    terms = fsc_clip_loss(**ours, config=config)
    expected = reference_total(ref, config)
    assert terms["loss"].item() == pytest.approx(expected.item(), abs=1e-10)
    terms["loss"].backward()
    expected.backward()
    for name in leaves:
        torch.testing.assert_close(ours[name].grad, ref[name].grad, atol=1e-10, rtol=1e-8, msg=name)


def test_gradcheck_of_the_global_terms():
    x = make_inputs(batch=3, types=2, dim=4)
    config = FSCLossConfig(apply_local_neg_loss=False)
    v, t, n = (x[k].requires_grad_() for k in ("image_embeds", "text_embeds", "neg_text_embeds"))
    scale = x["logit_scale"].clone().requires_grad_()
    func = lambda v, t, n, s: fsc_clip_loss(v, t, n, x["neg_mask"], s, config=config)["loss"]  # noqa: E731
    assert torch.autograd.gradcheck(func, (v, t, n, scale))
    negclip = lambda v, t, n, s: fsc_clip_loss(v, t, n, x["neg_mask"], s, config=FSCLossConfig(loss_name="clip"))["loss"]  # noqa: E731
    assert torch.autograd.gradcheck(negclip, (v, t, n, scale))


@pytest.mark.parametrize("config", [CE, FSCLossConfig(), FSCLossConfig(focal_gamma=0.5, neg_label_smoothing=0.3)])
def test_gradcheck_of_the_hard_negative_loss(config):
    logits = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    valid = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 1]], dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda z: hard_negative_loss(z, valid, config), (logits,))


def test_gradcheck_of_the_local_scores_with_fixed_patch_weights():
    """The patch weights are gradient-free by definition; with one patch they are constant (all 1),
    so the local score is then an ordinary differentiable function of the tokens."""
    g = torch.Generator().manual_seed(1)
    V = torch.randn(2, 1, 4, dtype=torch.float64, generator=g, requires_grad=True)
    W = torch.randn(2, 5, 4, dtype=torch.float64, generator=g, requires_grad=True)
    N = torch.randn(3, 2, 5, 4, dtype=torch.float64, generator=g, requires_grad=True)
    mask = torch.ones(3, 2, 5, dtype=torch.long)
    mask[..., 0] = 0
    scale = torch.tensor(5.0, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda V, W, N: local_hn_logits(V, W, mask[0], N, mask, scale), (V, W, N))


# --- masks, precision, errors ---


def test_missing_negatives_give_finite_values_and_gradients():
    x = make_inputs(dtype=torch.float32)
    x["neg_mask"][:, :2] = False
    x["neg_text_token_mask"][:, :2] = 0  # absent negatives come with empty token masks
    leaves = {k: x[k].requires_grad_() for k in ("image_tokens", "text_tokens", "neg_text_tokens", "image_embeds")}
    terms = fsc_clip_loss(**x)
    terms["loss"].backward()
    assert all(torch.isfinite(v) for v in terms.values())
    for name, leaf in leaves.items():
        assert torch.isfinite(leaf.grad).all(), name
    # Gradients of absent negatives are exactly zero.
    assert torch.count_nonzero(x["neg_text_tokens"].grad[:, :2]) == 0


def test_no_negative_types_at_all():
    x = make_inputs()
    terms = fsc_clip_loss(x["image_embeds"], x["text_embeds"], None, None, x["logit_scale"],
                          image_tokens=x["image_tokens"], text_tokens=x["text_tokens"], text_token_mask=x["text_token_mask"])
    assert terms["global_hn_loss"].item() == 0.0 and terms["local_hn_loss"].item() == 0.0
    assert fsc_clip_loss(x["image_embeds"], x["text_embeds"], None, None, x["logit_scale"], config=FSCLossConfig(loss_name="clip"))["loss"].item() == pytest.approx(terms["contrastive_loss"].item())


def test_bf16_autocast_stays_close_to_float32():
    x = make_inputs(batch=8, dtype=torch.float32)
    reference = fsc_clip_loss(**x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = {k: (v.bfloat16() if v.is_floating_point() and k != "logit_scale" else v) for k, v in x.items()}
        terms = fsc_clip_loss(**low)
    assert terms["loss"].dtype == torch.float32
    for name, value in reference.items():
        assert terms[name].item() == pytest.approx(value.item(), rel=3e-2), name


def test_weights_scale_their_terms_and_terms_are_reported():
    x = make_inputs()
    one = fsc_clip_loss(**x, config=FSCLossConfig(neg_loss_weight=1.0, local_neg_weight=1.0))
    half = fsc_clip_loss(**x, config=FSCLossConfig(neg_loss_weight=0.5, local_neg_weight=0.25))
    assert set(one) == {"contrastive_loss", "global_hn_loss", "local_hn_loss", "loss"}
    assert half["global_hn_loss"].item() == pytest.approx(0.5 * one["global_hn_loss"].item())
    assert half["local_hn_loss"].item() == pytest.approx(0.25 * one["local_hn_loss"].item())
    assert set(fsc_clip_loss(**x, config=FSCLossConfig(apply_global_neg_loss=False))) == {"contrastive_loss", "local_hn_loss", "loss"}


def test_local_term_without_dense_features_is_a_clear_error():
    x = make_inputs()
    with pytest.raises(ValueError, match="return_dense=True"):
        fsc_clip_loss(x["image_embeds"], x["text_embeds"], x["neg_text_embeds"], x["neg_mask"], x["logit_scale"])


@pytest.mark.parametrize(
    "options, field",
    [({"loss_name": "negclip"}, "loss_name"), ({"neg_loss_name": "hinge"}, "neg_loss_name"),
     ({"neg_label_smoothing": 1.5}, "neg_label_smoothing"), ({"sim_normalizer": "l2"}, "sim_normalizer"),
     ({"sim_normalizer": "softmax", "sim_sparsify": True}, "sim_sparsify")],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        FSCLossConfig(**options)
