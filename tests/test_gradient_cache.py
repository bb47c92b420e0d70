"""The chunked step (GradCache, `fsc_clip_hf.gradient_cache`) takes the gradient of the unchunked step: CLIP,
NegCLIP and FSC-CLIP (local term included), in one process and in two (DDP, gather with and without gradient),
with loss scaling, LoRA and bfloat16 autocast.

In float64 unless said otherwise, so that equality is not blurred by float32 summation order."""

import os

import pytest
import torch
import torch.distributed as dist
from helpers.model_inputs import random_text
from helpers.processes import leave_together, run_processes
from torch.nn.parallel import DistributedDataParallel

from fsc_clip_hf.gradient_cache import gradient_cached_step, split_batch
from fsc_clip_hf.lora.adapters import apply_lora
from fsc_clip_hf.losses import FSCLoss, FSCLossConfig
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config

OBJECTIVES = {
    "clip": (FSCLossConfig(loss_name="clip"), 0),
    "negclip": (FSCLossConfig(loss_name="clip"), 3),
    "fsc-clip": (FSCLossConfig(), 3),
}


def make_batch(batch=7, types=3, dtype=torch.float64, seed=0):
    """``batch`` pairs with ``types`` negative types (some absent); 7 pairs split into chunks of 3 leave a short
    last chunk."""
    config = tiny_clip_config()
    g = torch.Generator().manual_seed(seed)
    ids, mask = random_text((batch,), 9, config, g)
    inputs = dict(pixel_values=torch.randn(batch, 3, 32, 32, generator=g, dtype=dtype), input_ids=ids,
                  attention_mask=mask)
    neg_mask = torch.rand(types, batch, generator=g) > 0.3
    if types:
        inputs["neg_input_ids"], inputs["neg_attention_mask"] = random_text((types, batch), 9, config, g)
    return inputs, neg_mask


def model_of(dtype=torch.float64, lora=None):
    torch.manual_seed(0)
    model = FSCCLIPModel(tiny_clip_config()).to(dtype)
    return apply_lora(model, style=lora, seed=0) if lora else model


def grads(model):
    module = model.module if isinstance(model, DistributedDataParallel) else model
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def unchunked(model, loss_fn, inputs, neg_mask, scale=1.0):
    terms = loss_fn(model(**inputs, return_dense=loss_fn.config.needs_dense_features), neg_mask)
    (terms["loss"] * scale).backward()
    return terms


def chunked(model, loss_fn, inputs, neg_mask, chunk_size=3, scale=1.0, backward=None):
    bare = model.module if isinstance(model, DistributedDataParallel) else model

    def encoder(module):
        return lambda chunk: module(**chunk, return_dense=loss_fn.config.needs_dense_features)

    return gradient_cached_step(encoder(bare), encoder(model), inputs, lambda output: loss_fn(output, neg_mask),
                                chunk_size, backward or torch.Tensor.backward, loss_scale=scale)


def assert_same(got, expected, atol=1e-10, rtol=1e-8):
    assert set(got) == set(expected) and expected
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, atol=atol, rtol=rtol, msg=name)


def test_chunks_keep_each_captions_negatives():
    inputs, _ = make_batch()
    chunks = split_batch(inputs, 3)
    assert [c["input_ids"].shape[0] for c in chunks] == [3, 3, 1]
    assert [c["neg_input_ids"].shape[:2] for c in chunks] == [(3, 3), (3, 3), (3, 1)]
    assert torch.equal(chunks[2]["neg_input_ids"][:, 0], inputs["neg_input_ids"][:, 6])


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_one_process_chunked_step_takes_the_gradient_of_the_whole_batch(objective):
    config, types = OBJECTIVES[objective]
    inputs, neg_mask = make_batch(types=types)
    loss_fn = FSCLoss(config)
    model = model_of()
    expected_terms = unchunked(model, loss_fn, inputs, neg_mask)
    expected = grads(model)
    model.zero_grad()
    terms = chunked(model, loss_fn, inputs, neg_mask)
    assert_same(grads(model), expected)
    for name, value in expected_terms.items():
        torch.testing.assert_close(terms[name], value.detach(), msg=name)
    assert terms["logit_scale"] == model.logit_scale.exp()


def test_loss_scaling_and_accumulation_weights_pass_through():
    """The fp16 gradient scaler multiplies what `backward` receives; accumulation weighs the loss."""
    config, types = OBJECTIVES["fsc-clip"]
    inputs, neg_mask = make_batch(types=types)
    loss_fn = FSCLoss(config)
    model = model_of()
    unchunked(model, loss_fn, inputs, neg_mask, scale=0.25)
    expected = {name: grad * 1024 for name, grad in grads(model).items()}
    model.zero_grad()
    chunked(model, loss_fn, inputs, neg_mask, scale=0.25, backward=lambda loss: (loss * 1024).backward())
    assert_same(grads(model), expected)


@pytest.mark.parametrize("style", ["authors", "peft"])
def test_lora_chunked_step_takes_the_gradient_of_the_whole_batch(style):
    config, types = OBJECTIVES["fsc-clip"]
    inputs, neg_mask = make_batch(types=types)
    loss_fn = FSCLoss(config)
    model = model_of(lora=style)
    unchunked(model, loss_fn, inputs, neg_mask)
    expected = grads(model)
    model.zero_grad()
    chunked(model, loss_fn, inputs, neg_mask)
    assert_same(grads(model), expected)


def test_bfloat16_autocast_chunked_step_is_the_unchunked_one_up_to_bfloat16_rounding():
    config, types = OBJECTIVES["fsc-clip"]
    inputs, neg_mask = make_batch(types=types, dtype=torch.float32)
    loss_fn = FSCLoss(config)
    model = model_of(torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        unchunked(model, loss_fn, inputs, neg_mask)
    expected = grads(model)
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        chunked(model, loss_fn, inputs, neg_mask)
    got = grads(model)
    scale = max(grad.abs().max() for grad in expected.values())
    for name, grad in expected.items():
        assert (got[name] - grad).abs().max() <= 0.02 * scale, name


def _worker(rank, world, init_file, objective, with_grad, result_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    config, types = OBJECTIVES[objective]
    config = FSCLossConfig(**{**config.to_dict(), "gather_with_grad": with_grad})
    loss_fn = FSCLoss(config)
    model = DistributedDataParallel(model_of())
    # Process 0 holds pairs 0-3 (chunks of 3 and 1), process 1 pairs 4-6 (one chunk): different chunk counts.
    inputs, neg_mask = make_batch(types=types)
    rows = slice(0, 4) if rank == 0 else slice(4, 7)
    local = {k: (v[:, rows] if k.startswith("neg_") else v[rows]) for k, v in inputs.items()}
    unchunked(model, loss_fn, local, neg_mask[:, rows])
    expected = grads(model)
    model.zero_grad()
    chunked(model, loss_fn, local, neg_mask[:, rows])
    torch.save({"expected": expected, "chunked": grads(model)}, f"{result_file}.{rank}")
    leave_together(rank, world, init_file)


@pytest.mark.slow
@pytest.mark.parametrize("objective,with_grad", [("fsc-clip", True), ("fsc-clip", False)])
def test_two_processes_chunked_step_takes_the_gradient_of_the_whole_batch(tmp_path, objective, with_grad):
    """DDP, gather with and without gradient, the processes holding 2 and 1 chunks. About 15 s each."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    result = tmp_path / "grads"
    run_processes(_worker, (2, str(tmp_path / "init"), objective, with_grad, str(result)), nprocs=2)
    for rank in (0, 1):
        saved = torch.load(f"{result}.{rank}")
        assert_same(saved["chunked"], saved["expected"])
