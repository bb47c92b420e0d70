"""``recipes/eval.py`` as a user types it: an open_clip checkpoint named ``open_clip:<model>:<pretrained>``
(a pretrained tag found through open_clip's registry in the Hub cache, or a file), the three benchmarks of
the companion study and SugarCrepe++, and ``--html``."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch
from helpers.eval_breadth_files import write_colorswap, write_mmvp_vlm, write_sugarcrepe_pp
from helpers.repo import REPO
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel

from fsc_clip_hf.release.convert_open_clip import convert_checkpoint, hf_to_open_clip
from fsc_clip_hf.release.convert_open_clip.spec import OpenClipSpecError, load_open_clip
from fsc_clip_hf.tokenizer import clip_tokenizer

# open_clip 3.3.0's registry: the tag and where its weights live on the Hub.
TAG_REPO = "timm/vit_base_patch32_clip_224.openai"
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


def tiny_open_clip_weights(hidden_act="quick_gelu") -> dict[str, torch.Tensor]:
    """An open_clip state dict of a tiny ViT CLIP with openai's vocabulary (64-wide heads, as open_clip's)."""
    tokenizer = clip_tokenizer()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=256, num_hidden_layers=1,
                         num_attention_heads=1, hidden_act=hidden_act, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id),
        vision_config=dict(image_size=32, patch_size=16, hidden_size=64, intermediate_size=256, num_hidden_layers=1,
                           num_attention_heads=1, hidden_act=hidden_act),
        projection_dim=32)
    torch.manual_seed(0)
    model = CLIPModel(config)
    return {key: value.contiguous() for key, value in hf_to_open_clip(model.state_dict(), 1, 1).items()}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("open_clip") / "tiny.safetensors"
    save_file(tiny_open_clip_weights(), str(path))
    return path


def test_an_open_clip_file_converts_in_memory_with_the_activation_its_name_says(checkpoint, tmp_path):
    model, processor = load_open_clip(f"open_clip:ViT-T-16-quickgelu:{checkpoint}")
    folder = convert_checkpoint(checkpoint, tmp_path / "converted", hidden_act="quick_gelu")
    written = CLIPModel.from_pretrained(folder)
    assert model.config.text_config.hidden_act == "quick_gelu" and processor.image_processor.crop_size["height"] == 32
    assert all(torch.equal(value, written.state_dict()[key]) for key, value in model.state_dict().items())
    assert load_open_clip(f"open_clip:ViT-T-16:{checkpoint}")[0].config.vision_config.hidden_act == "gelu"
    with pytest.raises(OpenClipSpecError, match="does not hold a ViT-B-32"):  # a known name is checked
        load_open_clip(f"open_clip:ViT-B-32-quickgelu:{checkpoint}")
    with pytest.raises(OpenClipSpecError, match="expected open_clip:<model>:<pretrained"):
        load_open_clip("open_clip:ViT-B-32")


def run_eval(*arguments, env):
    return subprocess.run([sys.executable, str(REPO / "recipes" / "eval.py"), *map(str, arguments)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO)


@pytest.mark.skipif(importlib.util.find_spec("open_clip") is None,
                    reason="open_clip_torch not installed (make install adds it): a pretrained tag needs its registry")
def test_recipes_eval_scores_an_open_clip_tag_on_the_new_benchmarks_and_writes_the_html_pages(checkpoint, tmp_path):
    # The tag's weights in the Hub cache, as open_clip's registry fetches them (offline: from the cache).
    cache = tmp_path / "hub" / f"models--{TAG_REPO.replace('/', '--')}"
    (cache / "refs").mkdir(parents=True)
    (cache / "refs" / "main").write_text(SNAPSHOT)
    (cache / "snapshots" / SNAPSHOT).mkdir(parents=True)
    (cache / "snapshots" / SNAPSHOT / "open_clip_model.safetensors").write_bytes(checkpoint.read_bytes())
    data, output = tmp_path / "data", tmp_path / "out"
    write_colorswap(data)
    write_mmvp_vlm(data)
    write_sugarcrepe_pp(data, bad=True)
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    done = run_eval("--model_name_or_path", "open_clip:ViT-B-32-quickgelu:openai", "--benchmarks",
                    "colorswap,mmvp_vlm,sugarcrepe_pp", "--data_root", data, "--output_dir", output, "--html",
                    "--device", "cpu", "--num_workers", "0", "--no_progress", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("pre-flight: everything is in place")
    summary = next(line for line in done.stdout.splitlines() if not line.startswith(("pre-flight", " ")))
    assert summary.startswith("comp12 ") and "Comp-12 over 2 of 12 benchmarks" in done.stdout
    assert sorted(path.name for path in output.iterdir()) == ["comp_vs_zs.png", "failures", "results.json", "results.md"]
    assert sorted(path.name for path in (output / "failures").iterdir()) == [
        "colorswap.html", "mmvp_vlm.html", "sugarcrepe_pp.html"]
    results = json.loads((output / "results.json").read_text())
    assert results["model"] == "open_clip:ViT-B-32-quickgelu:openai" and not results["failed"] and not results["missing"]
    assert results["details"]["sugarcrepe_pp"]["counts"]["swap_obj"]["skipped"] == {"image_absent": 1, "malformed": 1}
    assert results["details"]["mmvp_vlm"]["items"] == 135
    assert set(results["details"]["mmvp_vlm"]["figures"]) == {"official"}
    markdown = (output / "results.md").read_text()
    assert "- [MMVP-VLM](failures/mmvp_vlm.html)" in markdown and "| Comp-12 | SC++ ITT | SC++ TOT |" in markdown
    # A tag open_clip does not know: a clear message, exit status 2, nothing written.
    wrong = run_eval("--model_name_or_path", "open_clip:ViT-B-32:nosuch", "--benchmarks", "colorswap", "--data_root",
                     data, "--output_dir", tmp_path / "none", "--device", "cpu", env=env)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    row = next(line for line in wrong.stdout.splitlines() if "MISSING  model" in line)  # the pre-flight's table
    assert "open_clip:ViT-B-32:nosuch: 'nosuch' is neither a file nor a pretrained tag of 'ViT-B-32'" in row
    assert not (tmp_path / "none").exists()
