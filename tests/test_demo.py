"""The offline demo end to end, shrunk: the published demo recipe with a small world and a few steps; and
the training negatives it uses, which must be made of the world's own words."""

import json
import logging
import os

import pytest

from fsc_clip_hf.cli.train import train_main
from fsc_clip_hf.data.synthetic import load_synthetic_world
from fsc_clip_hf.training.demo import ensure_world, fine_tune_args, pretrain_settings, world_settings
from fsc_clip_hf.training.pipeline import build_negative_generator
from fsc_clip_hf.training.recipes import parse_args

TINY = ["--synthetic_num_train", "64", "--synthetic_pretrain_steps", "3", "--max_steps", "2",
        "--per_device_train_batch_size", "16", "--shuffle_buffer", "16", "--warmup_steps", "0", "--logging_steps", "1",
        "--dataloader_num_workers", "0", "--disable_tqdm", "true"]


@pytest.mark.slow
def test_demo_compare_trains_every_variant_and_seed_and_writes_the_reports(tmp_path, caplog, capsys):
    argv = ["--config", "demo_compare.yaml", "--output_dir", str(tmp_path), "--synthetic_cache_dir",
            str(tmp_path / "cache"), "--demo_seeds", "0,1", *TINY]
    train_main(argv)
    results = json.loads((tmp_path / "demo_results.json").read_text())
    assert list(results) == ["pretrained", "clip", "negclip", "fsc-clip"]
    assert results["pretrained"]["n"] == 1 and all(results[m]["n"] == 2 for m in ("clip", "negclip", "fsc-clip"))
    for scores in results.values():
        assert set(scores["mean"]["summary"]) == {"comp", "zs", "i2t_r1", "t2i_r1"}
        assert all(0 <= value <= 100 for value in scores["mean"]["summary"].values())
        runs = [run["summary"]["comp"] for run in scores["runs"].values()]
        assert scores["mean"]["summary"]["comp"] == pytest.approx(sum(runs) / len(runs))
    # The fine-tunes start from the same weights but train differently, and each seed differently.
    assert results["negclip"]["mean"] != results["fsc-clip"]["mean"]
    assert results["fsc-clip"]["runs"]["0"] != results["fsc-clip"]["runs"]["1"]
    text = (tmp_path / "demo_results.md").read_text().splitlines()
    assert [line.split(" | ")[0] for line in text[2:6]] == ["| pretrained", "| clip", "| negclip", "| fsc-clip"]
    assert " ± " in text[3] and text[-1].startswith("Verdict: NegCLIP raises Comp over CLIP fine-tuning beyond the seed spread: ")
    assert (tmp_path / "demo_comp_vs_zs.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("pretrained", "fsc-clip/seed1"):
        report = json.loads((tmp_path / "eval" / name / "results.json").read_text())
        assert report["model"] == name
        assert (tmp_path / "eval" / name / "comp_vs_zs.png").exists()
    assert results["fsc-clip"]["runs"]["1"]["subsets"] == pytest.approx(
        {f"{kind}/{k}": v for kind in ("comp", "zs") for k, v in report["details"][f"synthetic/{kind}"]["subsets"].items()})
    printed = capsys.readouterr().out
    assert "| fsc-clip | 2 |" in printed and "| model | seeds | Comp (without swap_rel) | ZS |" in printed
    # The closing line names every final model; each one's card shows the results computed for it.
    finals = [tmp_path / variant / f"seed{seed}" / "final" for variant in ("clip", "negclip", "fsc-clip") for seed in (0, 1)]
    assert f"final models: {', '.join(map(str, finals))}" in printed
    card = (finals[-1] / "README.md").read_text()
    assert "Not evaluated yet" not in card and "| Comp (without swap_rel) | ZS |" in card
    recorded = json.loads((finals[-1] / "results.json").read_text())
    # One Comp: the demo's table, the model's report and its card give the same number.
    assert recorded["synthetic"]["summary"]["comp"] == pytest.approx(results["fsc-clip"]["runs"]["1"]["summary"]["comp"])

    # A second run reuses the cached world and pretrained model and gives the same numbers.
    caplog.clear()  # the first run's records
    with caplog.at_level(logging.INFO, logger="fsc_clip_hf"):
        train_main([*argv, "--demo_variants", "fsc-clip"])
    assert "reusing the pretrained synthetic CLIP" in caplog.text and "writing the synthetic world" not in caplog.text
    again = json.loads((tmp_path / "demo_results.json").read_text())
    assert again["pretrained"] == results["pretrained"] and again["fsc-clip"] == results["fsc-clip"]


def test_cache_keys_follow_every_setting(tmp_path):
    base = parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path)])
    for option, value in (("--synthetic_num_train", "100"), ("--seed", "1")):
        other = parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path), option, value])
        assert world_settings(other) != world_settings(base)
    for option, value in (("--synthetic_pretrain_steps", "10"), ("--synthetic_pretrain_learning_rate", "1e-4"),
                          ("--per_device_train_batch_size", "8")):
        other = parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path), option, value])
        assert world_settings(other) == world_settings(base) and pretrain_settings(other) != pretrain_settings(base)
    # The fine-tunes' own settings do not touch the base.
    other = parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path), "--max_steps", "7"])
    assert pretrain_settings(other) == pretrain_settings(base)


@pytest.mark.parametrize("recipe", ["demo.yaml", "demo_compare.yaml"])
def test_every_training_negative_is_made_of_the_worlds_words(tmp_path, recipe):
    args = parse_args(["--config", recipe, "--output_dir", str(tmp_path), "--synthetic_cache_dir", str(tmp_path),
                       "--synthetic_num_train", "300"])
    world_dir = ensure_world(args)
    vocabulary = set(load_synthetic_world(world_dir).vocabulary)
    with open(os.path.join(world_dir, "train.jsonl")) as f:
        captions = [json.loads(line)["caption"] for line in f]
    variants = (args.demo_variants or args.add_random_text_hard_negatives).split(",")
    for variant in [v for v in variants if v != "clip"]:
        generator = build_negative_generator(fine_tune_args(args, variant, 0, world_dir))
        assert generator.vocabulary is not None  # replace_vocabulary: corpus, from the world's captions
        for epoch in range(2):
            for kind, negatives in zip(generator.types, generator(captions, epoch=epoch)):
                made = [n for n in negatives if n is not None]
                assert len(made) > len(captions) / 2, (variant, kind)
                outside = {w for n in made for w in n.split()} - vocabulary
                assert not outside, (variant, kind, sorted(outside)[:10])
