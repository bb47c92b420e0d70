"""WiSE-FT: the interpolation, its command line, and the evaluation sweep of recipes/eval.py."""

import json

import pytest
import torch
from helpers.release_tiny import tiny_clip, tiny_processor
from transformers import CLIPModel, CLIPProcessor

from fsc_clip_hf.cli.evaluate import main as evaluate
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
from fsc_clip_hf.modeling import tiny_clip_config
from fsc_clip_hf.release.wise_ft import effective_alpha, interpolate
from fsc_clip_hf.release.wise_ft import main as wise_ft_main


@pytest.fixture
def pair(tmp_path):
    processor = tiny_processor(tmp_path / "tokenizer")
    pretrained = tiny_clip(processor, seed=0)
    finetuned = tiny_clip(processor, seed=0)
    with torch.no_grad():  # "fine-tuning": every weight moves, norms and the logit scale included
        for parameter in finetuned.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    for name, model in (("pretrained", pretrained), ("finetuned", finetuned)):
        model.save_pretrained(tmp_path / name)
        processor.save_pretrained(tmp_path / name)
    return tmp_path / "pretrained", tmp_path / "finetuned"


def _state(path):
    return CLIPModel.from_pretrained(path).state_dict()


def test_alpha_0_is_the_pretrained_model_1_the_finetuned_and_half_the_mean(pair):
    pretrained, finetuned = map(_state, pair)
    for name in finetuned:
        if finetuned[name].is_floating_point():
            assert not torch.equal(pretrained[name], finetuned[name]), name  # the test can tell them apart
    for alpha, expected in ((0.0, pretrained), (1.0, finetuned)):
        mixed = interpolate(pretrained, finetuned, alpha)
        for name in finetuned:
            torch.testing.assert_close(mixed[name], expected[name], rtol=0, atol=0)
    half = interpolate(pretrained, finetuned, 0.5)
    for name in finetuned:
        torch.testing.assert_close(half[name], (pretrained[name] + finetuned[name]) / 2, rtol=0, atol=1e-7)


def test_the_command_writes_a_plain_clip_checkpoint_with_the_finetuned_processor(pair, tmp_path):
    pretrained, finetuned = pair
    wise_ft_main(["--pretrained", str(pretrained), "--finetuned", str(finetuned), "--alpha", "0.25",
                  "--output_dir", str(tmp_path / "wise")])

    written = _state(tmp_path / "wise")
    expected = interpolate(_state(pretrained), _state(finetuned), 0.25)
    for name in expected:
        torch.testing.assert_close(written[name], expected[name], rtol=0, atol=0)
    assert CLIPProcessor.from_pretrained(tmp_path / "wise").tokenizer("a red cat")["input_ids"] == \
        CLIPProcessor.from_pretrained(finetuned).tokenizer("a red cat")["input_ids"]
    # The authors' LoRA-factor interpolation scales the weight change by alpha squared.
    wise_ft_main(["--pretrained", str(pretrained), "--finetuned", str(finetuned), "--alpha", "0.5", "--lora_factors",
                  "--output_dir", str(tmp_path / "lora")])
    lora = _state(tmp_path / "lora")
    for name, tensor in interpolate(_state(pretrained), _state(finetuned), 0.25).items():
        torch.testing.assert_close(lora[name], tensor, rtol=0, atol=0)


def test_bad_alphas_and_models_of_another_shape_are_refused(pair, tmp_path):
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        effective_alpha(1.5)
    pretrained = _state(pair[0])
    other = dict(pretrained)
    other["visual_projection.weight"] = torch.zeros(3, 3)
    with pytest.raises(ValueError, match="visual_projection.weight: shape"):
        interpolate(pretrained, other, 0.5)
    with pytest.raises(SystemExit):
        evaluate(["--model_name_or_path", str(pair[1]), "--output_dir", str(tmp_path), "--wise_ft_alphas", "0,1"])


@pytest.fixture(scope="module")
def world_pair(tmp_path_factory):
    """Two tiny CLIPs of the synthetic world, and the world itself (offline evaluation data)."""
    root = tmp_path_factory.mktemp("wise")
    write_synthetic_world(str(root / "world"), seed=0, num_train=8, num_test=12, image_size=32)
    meta = load_synthetic_world(str(root / "world"))
    config = tiny_clip_config(vocab_size=meta.vocab_size, image_size=32, eos_token_id=meta.eos_token_id,
                              bos_token_id=meta.bos_token_id, pad_token_id=meta.pad_token_id)
    processor = CLIPProcessor.from_pretrained(meta.processor_dir)
    for name, seed in (("pretrained", 0), ("finetuned", 1)):
        torch.manual_seed(seed)
        CLIPModel(config).save_pretrained(root / name)
        processor.save_pretrained(root / name)
    return root


def _evaluate(root, output, *extra):
    return evaluate(["--model_name_or_path", str(root / "finetuned"), "--benchmarks", "synthetic", "--device", "cpu",
                     "--data_root", str(root / "world"), "--output_dir", str(output), "--num_workers", "0",
                     "--no_progress", *extra])


def test_the_sweep_writes_a_row_per_alpha_and_its_ends_are_the_two_models(world_pair, tmp_path, capsys):
    root = world_pair
    sweep = _evaluate(root, tmp_path / "sweep", "--wise_ft_alphas", "0,0.5,1", "--pretrained", str(root / "pretrained"))

    alone = {name: evaluate(["--model_name_or_path", str(root / name), "--benchmarks", "synthetic", "--device", "cpu",
                             "--data_root", str(root / "world"), "--output_dir", str(tmp_path / name),
                             "--num_workers", "0", "--no_progress"])["synthetic"]["summary"]
             for name in ("pretrained", "finetuned")}
    written = json.loads((tmp_path / "sweep" / "wise_ft.json").read_text())
    assert [row["alpha"] for row in written["alphas"]] == [0.0, 0.5, 1.0]
    summaries = [row["synthetic"]["summary"] for row in written["alphas"]]
    assert summaries[0] == alone["pretrained"] and summaries[-1] == alone["finetuned"]
    assert alone["pretrained"] != alone["finetuned"]  # otherwise the ends would prove nothing
    assert len(sweep["runs"]) == 3
    table = (tmp_path / "sweep" / "wise_ft.md").read_text()
    assert all(f"| **{alpha}** |" in table for alpha in ("0", "0.5", "1"))
    assert (tmp_path / "sweep" / "wise_ft_comp_vs_zs.png").stat().st_size > 10_000
    assert (tmp_path / "sweep" / "alpha_0.5" / "results.json").is_file()
    assert "alpha 0.5: comp" in capsys.readouterr().out
    # The model is left with its own weights.
    assert sweep["runs"][-1]["results"]["synthetic"]["summary"] == alone["finetuned"]
