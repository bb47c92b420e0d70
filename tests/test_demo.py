"""The offline demo end to end, shrunk: the published demo recipe with a small world and a few steps."""

import json
import logging

import pytest

from fsc_clip_hf.cli import train_main


@pytest.mark.slow
def test_demo_compare_trains_every_variant_and_writes_the_reports(tmp_path, caplog, capsys):
    argv = ["--config", "demo_compare.yaml", "--output_dir", str(tmp_path), "--synthetic_num_train", "64",
            "--synthetic_pretrain_steps", "3", "--max_steps", "2", "--per_device_train_batch_size", "16",
            "--shuffle_buffer", "16", "--warmup_steps", "0", "--logging_steps", "1",
            "--dataloader_num_workers", "0", "--disable_tqdm", "true"]
    train_main(argv)
    results = json.loads((tmp_path / "demo_results.json").read_text())
    assert list(results) == ["pretrained", "clip", "negclip", "fsc-clip"]
    for scores in results.values():
        assert set(scores["summary"]) == {"comp", "zs", "i2t_r1", "t2i_r1"}
        assert all(0 <= value <= 100 for value in scores["summary"].values())
    # The three fine-tunes start from the same weights but train differently.
    assert results["negclip"] != results["fsc-clip"]
    table = (tmp_path / "demo_results.md").read_text().splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| pretrained", "| clip", "| negclip", "| fsc-clip"]
    assert (tmp_path / "demo_comp_vs_zs.png").read_bytes()[:4] == b"\x89PNG"
    for name in results:
        report = json.loads((tmp_path / "eval" / name / "results.json").read_text())
        assert report["model"] == name
        assert report["synthetic"]["summary"]["comp"] == pytest.approx(results[name]["summary"]["comp"])
        assert (tmp_path / "eval" / name / "comp_vs_zs.png").exists()
    assert "| fsc-clip |" in capsys.readouterr().out

    # A second run reuses the cached pretrained model rather than training it again.
    with caplog.at_level(logging.INFO, logger="fsc_clip_hf"):
        train_main([*argv, "--demo_variants", "fsc-clip"])
    assert "reusing the pretrained synthetic CLIP" in caplog.text
    again = json.loads((tmp_path / "demo_results.json").read_text())
    assert again["pretrained"] == results["pretrained"]
