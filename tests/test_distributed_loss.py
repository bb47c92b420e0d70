"""Two CPU processes (gloo, DDP) with batch B each must train like one process with batch 2B.

In float64: float32 summation order alone (one process adds what two processes reduce) moves
gradient elements by ~3e-7 of the tensor's scale, which an elementwise tolerance cannot tell from
a real error on its small elements."""

import os

import pytest
import torch
import torch.distributed as dist
from helpers.model_inputs import random_text
from helpers.processes import leave_together, run_processes
from torch.nn.parallel import DistributedDataParallel

from fsc_clip_hf.losses import FSCLoss, FSCLossConfig
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config

# name -> (objective, whether the two processes keep different numbers of rows with a negative)
CONFIGS = {
    "fsc-clip": (FSCLossConfig(), False),
    "negclip": (FSCLossConfig(loss_name="clip"), False),
    "fsc-clip_uneven_global_mean": (FSCLossConfig(hn_global_mean=True), True),
    "fsc-clip_uneven_per_process": (FSCLossConfig(), True),
}
EXACT = ("fsc-clip", "negclip", "fsc-clip_uneven_global_mean")


def make_batch(batch=6, types=3, uneven=False):
    """Six samples, K = 3 negative types. ``uneven``: every row of the first process's half (0-2) has a
    negative and the last sample none, so the processes keep 3 and 2 rows in the HN terms."""
    config = tiny_clip_config()
    g = torch.Generator().manual_seed(0)
    ids, mask = random_text((batch,), 9, config, g)
    neg_ids, neg_attention = random_text((types, batch), 9, config, g)
    neg_mask = torch.rand(types, batch, generator=g) > 0.3
    if uneven:
        neg_mask[0] = True
        neg_mask[:, batch - 1] = False
    return dict(
        pixel_values=torch.randn(batch, 3, 32, 32, generator=g, dtype=torch.float64),
        input_ids=ids,
        attention_mask=mask,
        neg_input_ids=neg_ids,
        neg_attention_mask=neg_attention,
    ), neg_mask


def half(batch, neg_mask, rank):
    """Process ``rank``'s 3 of the 6 samples: its inputs (negatives, (K, B, ...), along dim 1) and mask."""
    shard = slice(rank * 3, rank * 3 + 3)
    return {k: (v[:, shard] if k.startswith("neg_") else v[shard]) for k, v in batch.items()}, neg_mask[:, shard]


def loss_and_grads(model, loss_fn, batch, neg_mask):
    output = model(**batch, return_dense=loss_fn.config.needs_dense_features)
    terms = loss_fn(output, neg_mask)
    terms["loss"].backward()
    module = model.module if isinstance(model, DistributedDataParallel) else model
    grads = {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in terms.items()}, grads


def _worker(rank, world, init_file, config_name, result_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = DistributedDataParallel(FSCCLIPModel(tiny_clip_config()).double())
    config, uneven = CONFIGS[config_name]
    batch, neg_mask = make_batch(uneven=uneven)
    local, local_mask = half(batch, neg_mask, rank)
    terms, grads = loss_and_grads(model, FSCLoss(config), local, local_mask)
    # Per-process losses are shares of the global batch: their mean is the global loss.
    for value in terms.values():
        dist.all_reduce(value)
        value /= world
    if rank == 0:
        torch.save({"terms": terms, "grads": grads}, result_file)
    leave_together(rank, world, init_file)


def two_processes(tmp_path, config_name):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    result_file = tmp_path / "rank0.pt"
    run_processes(_worker, (2, str(tmp_path / "init"), config_name, str(result_file)), nprocs=2)
    return torch.load(result_file)


@pytest.mark.parametrize("config_name", EXACT)
def test_two_processes_match_one_process_with_the_whole_batch(tmp_path, config_name):
    distributed = two_processes(tmp_path, config_name)
    config, uneven = CONFIGS[config_name]
    torch.manual_seed(0)
    model = FSCCLIPModel(tiny_clip_config()).double()
    batch, neg_mask = make_batch(uneven=uneven)
    terms, grads = loss_and_grads(model, FSCLoss(config), batch, neg_mask)

    assert set(terms) == set(distributed["terms"])
    for name, value in terms.items():
        torch.testing.assert_close(distributed["terms"][name], value, atol=1e-12, rtol=1e-10, msg=name)
    assert set(grads) == set(distributed["grads"])
    for name, grad in grads.items():
        torch.testing.assert_close(distributed["grads"][name], grad, atol=1e-12, rtol=1e-9, msg=name)


def test_per_process_hn_means_are_averaged_as_the_authors_do(tmp_path):
    """Without hn_global_mean, each process's HN terms are the mean over its own kept rows (3 and 2
    here): the processes' average is the mean of the two halves' means, not the whole batch's mean."""
    distributed = two_processes(tmp_path, "fsc-clip_uneven_per_process")
    config, _ = CONFIGS["fsc-clip_uneven_per_process"]
    batch, neg_mask = make_batch(uneven=True)
    torch.manual_seed(0)
    model = FSCCLIPModel(tiny_clip_config()).double()
    loss = FSCLoss(config)
    whole = loss(model(**batch, return_dense=True), neg_mask)
    halves = []
    for rank in (0, 1):
        local, local_mask = half(batch, neg_mask, rank)
        halves.append(loss(model(**local, return_dense=True), local_mask))
    for term in ("global_hn_loss", "local_hn_loss"):
        mean_of_means = (halves[0][term] + halves[1][term]) / 2
        torch.testing.assert_close(distributed["terms"][term], mean_of_means.detach(), atol=1e-12, rtol=1e-10)
        assert abs(float((mean_of_means - whole[term]).detach())) > 1e-4  # the reduction really differs here


# gather_with_grad: the contrastive gradient of two processes against that of one with the whole batch.
GATHER_CASES = {
    "negclip_exact": FSCLossConfig(loss_name="clip"),
    "negclip_authors": FSCLossConfig(loss_name="clip", gather_with_grad=False),
    "fsc-clip_authors": FSCLossConfig(gather_with_grad=False),
}


def _gather_worker(rank, world, init_file, result_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    batch, neg_mask = make_batch()
    local, local_mask = half(batch, neg_mask, rank)
    results = {}
    for name, config in GATHER_CASES.items():
        torch.manual_seed(0)
        model = DistributedDataParallel(FSCCLIPModel(tiny_clip_config()).double())
        terms, grads = loss_and_grads(model, FSCLoss(config), local, local_mask)
        for value in terms.values():
            dist.all_reduce(value)
            value /= world
        results[name] = {"terms": terms, "grads": grads}
    if rank == 0:
        torch.save(results, result_file)
    leave_together(rank, world, init_file)


def single_process_grads(config, batch, neg_mask):
    """Terms and the gradients of the contrastive term and of the rest, separately, for the whole batch."""
    torch.manual_seed(0)
    model = FSCCLIPModel(tiny_clip_config()).double()
    terms = FSCLoss(config)(model(**batch, return_dense=config.needs_dense_features), neg_mask)
    parts = {"contrastive": terms["contrastive_loss"], "rest": terms["loss"] - terms["contrastive_loss"]}
    grads = {}
    for part, value in parts.items():
        model.zero_grad(set_to_none=True)
        value.backward(retain_graph=True)
        grads[part] = {n: p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                       for n, p in model.named_parameters()}
    return {k: v.detach() for k, v in terms.items()}, grads


def test_gather_with_grad_false_scales_the_contrastive_gradient_by_one_over_world_size(tmp_path):
    """The authors' gather (no gradient through the other processes' shards): the contrastive gradient
    of the towers is 1/W of the global-batch one; the logit scale (in every process's whole logit
    matrix) and the hard-negative terms keep their full gradient; losses are equal."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    result_file = tmp_path / "rank0.pt"
    run_processes(_gather_worker, (2, str(tmp_path / "init"), str(result_file)), nprocs=2)
    distributed = torch.load(result_file)
    batch, neg_mask = make_batch()

    ratios = {}
    for name, config in GATHER_CASES.items():
        terms, grads = single_process_grads(config, batch, neg_mask)
        for term, value in terms.items():
            torch.testing.assert_close(distributed[name]["terms"][term], value, atol=1e-12, rtol=1e-10, msg=term)
        got = distributed[name]["grads"]
        for param, grad in got.items():
            scale = 1.0 if config.gather_with_grad or param == "logit_scale" else 0.5
            expected = scale * grads["contrastive"][param] + grads["rest"][param]
            torch.testing.assert_close(grad, expected, atol=1e-12, rtol=1e-9, msg=f"{name}: {param}")
        if config.loss_name == "clip":  # the whole gradient is contrastive: measure the ratio itself
            towers = [p for p in got if p != "logit_scale"]
            flat = torch.cat([got[p].flatten() for p in towers])
            full = torch.cat([grads["contrastive"][p].flatten() for p in towers])
            ratios[name] = float(flat @ full / (full @ full))
    assert ratios == {"negclip_exact": pytest.approx(1.0, abs=1e-9), "negclip_authors": pytest.approx(0.5, abs=1e-9)}
