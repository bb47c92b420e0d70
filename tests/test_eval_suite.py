"""Running a suite: summaries in the seed's terms, the report files, missing data, the trainer API and
the command line."""

import io
import json
import tarfile

import pytest
from helpers.eval_benchmark_files import write_cifar10, write_coco_retrieval, write_sugarcrepe, write_whatsup
from helpers.eval_fixtures import ColourCLIP, ColourProcessor, write_synthetic_eval

from fsc_clip_hf.cli.evaluate import exit_status
from fsc_clip_hf.evaluation import check_benchmarks, evaluate_benchmarks, evaluate_model, flat_scores, write_report
from fsc_clip_hf.evaluation.adapters import resolve_benchmarks
from fsc_clip_hf.release.model_card import build_model_card

pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    expected = {"sugarcrepe": write_sugarcrepe(root), "whatsup": write_whatsup(root)[0], "cifar10": write_cifar10(root)[0],
                "coco": write_coco_retrieval(root)}
    return root, expected


def test_groups_expand_and_unknown_names_fail():
    assert len(resolve_benchmarks("comp")) == 11 and len(resolve_benchmarks("zs")) == 21
    assert resolve_benchmarks("sugarcrepe,comp")[0] == "sugarcrepe" and len(resolve_benchmarks("all")) == 37
    assert resolve_benchmarks("comp12") == ["aro", "colorswap", "crepe", "eqben", "imagecode", "mmvp_vlm", "sugarcrepe",
                                            "svo_probes", "valse", "vl_checklist", "whatsup", "winoground"]
    with pytest.raises(ValueError, match="nosuch"):
        resolve_benchmarks("sugarcrepe,nosuch")


def test_summary_in_the_seeds_terms_with_its_coverage(data_root):
    root, expected = data_root
    model = ColourCLIP()
    results = evaluate_model(model, ColourProcessor(), "sugarcrepe,whatsup,aro,cifar10,retrieval", str(root),
                             show_progress=False)
    # SugarCrepe and What'sUp share COCO val2017: 8 + 3 more images, each embedded once.
    assert model.images_embedded == 8 + 3 + 3 + 3  # + What'sUp's own, CIFAR's, COCO retrieval's
    assert results["summary"]["comp"] == pytest.approx((expected["sugarcrepe"] + expected["whatsup"]) / 2)
    assert results["summary"]["zs"] == pytest.approx(expected["cifar10"])
    assert results["summary"]["i2t_r1"] == pytest.approx(100) and results["summary"]["t2i_r10"] == pytest.approx(100)
    assert results["coverage"] == {"comp": {"evaluated": 2, "of": 11}, "zs": {"evaluated": 1, "of": 21},
                                   "retrieval": {"evaluated": 1, "of": 2}, "comp12": {"evaluated": 2, "of": 12}}
    assert results["summary"]["comp12"] == pytest.approx(results["summary"]["comp"])  # the same two benchmarks
    assert results["benchmarks"] == {"SugarCrepe": pytest.approx(expected["sugarcrepe"]),
                                     "What'sUp": pytest.approx(expected["whatsup"])}
    assert set(results["missing"]) == {"aro", "flickr30k"}
    assert "vgr_vga_images.zip" in results["missing"]["aro"] and str(root / "aro") in results["missing"]["aro"]
    assert "unzip the zip there (it creates aro/images/)" in results["missing"]["aro"]


def test_a_broken_benchmark_is_reported_and_the_others_still_run(data_root):
    root, expected = data_root
    (root / "sugarcrepe" / "add_att.json").write_text('{"0": {"filename": ')  # a truncated download
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "sugarcrepe,cifar10", str(root), show_progress=False)
    assert "add_att.json: not valid JSON" in results["failed"]["sugarcrepe"]
    assert results["details"]["cifar10"]["score"] == pytest.approx(expected["cifar10"])


def test_an_unreadable_image_costs_its_items_not_the_benchmark(data_root, tmp_path):
    root, expected = data_root
    # Image 0 serves one right replace_obj case: replace 2 of 3, swap 1 of 2, add 1 of 2.
    (root / "coco" / "val2017" / "000000000000.jpg").write_bytes(b"<html>Not Found</html>")
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "sugarcrepe", str(root), show_progress=False)
    record = results["details"]["sugarcrepe"]
    assert record["score"] == pytest.approx(100 * (2 / 3 + 1 / 2 + 1 / 2) / 3) and record["items"] == 7
    assert record["notes"][0].startswith("1 items skipped (unreadable_image), e.g. ")
    assert "000000000000.jpg" in record["notes"][0]
    assert record["counts"]["replace_obj"] == {"items": 1, "skipped": {"unreadable_image": 1}}
    markdown = open(write_report(results, str(tmp_path / "report"))["results.md"]).read()
    assert "## Notes" in markdown and "- `sugarcrepe`: 1 items skipped" in markdown
    assert "| SugarCrepe | 7 | 1 unreadable_image |  |" in markdown


def test_malformed_items_are_skipped_and_counted_with_file_and_id(data_root):
    root, _ = data_root
    path = root / "sugarcrepe" / "add_att.json"
    # Right; no caption; a null caption; a byte that is not UTF-8 (a Latin-1 file); a number as negative.
    path.write_bytes(b'{"0": {"filename": "000000000007.jpg", "caption": "a blue ball", "negative_caption": "a red"},'
                     b' "1": {"filename": "000000000007.jpg", "negative_caption": "a red ball"},'
                     b' "2": {"filename": "000000000007.jpg", "caption": null, "negative_caption": "a red ball"},'
                     b' "3": {"filename": "000000000007.jpg", "caption": "a blue caf\xe9", "negative_caption": "red"},'
                     b' "4": {"filename": "000000000007.jpg", "caption": "a blue ball", "negative_caption": 7}}')
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "sugarcrepe", str(root), show_progress=False)
    record = results["details"]["sugarcrepe"]
    assert not results["failed"] and record["counts"]["add_att"] == {"items": 1, "skipped": {"malformed": 4}}
    # add: add_obj right, add_att's one item (blue image, "blue" vs "red") right: 100.
    assert record["score"] == pytest.approx((75 + 50 + 100) / 3)
    note = record["notes"][0]
    assert note.startswith("4 items skipped (malformed), e.g. ") and f"{path} [1]: no 'caption'" in note
    assert f"{path} [2]: caption is null, not text" in note and f"{path} [3]: caption holds bytes that are not UTF-8" in note


def test_a_benchmark_without_a_readable_image_is_failed_not_nan(data_root, tmp_path):
    root, _ = data_root
    for shard in (root / "zeroshot" / "wds_vtab-cifar10" / "test").glob("*.tar"):
        with tarfile.open(shard) as archive:
            members = [(member, archive.extractfile(member).read()) for member in archive.getmembers()]
        with tarfile.open(shard, "w") as archive:
            for member, data in members:
                data = b"not an image" if member.name.endswith(".png") else data
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "cifar10,sugarcrepe", str(root), show_progress=False)
    assert results["failed"]["cifar10"].startswith("no item left to score; 3 items skipped (unreadable_image)")
    assert "cifar10" not in results["details"] and "zs" not in results["summary"]
    assert results["coverage"]["zs"] == {"evaluated": 0, "of": 21}
    json.loads(open(write_report(results, str(tmp_path / "report"))["results.json"]).read())


def test_report_files(data_root, tmp_path):
    root, expected = data_root
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "sugarcrepe,cifar10,coco,winoground", str(root),
                             model_name="colour-clip", show_progress=False)
    paths = write_report(results, str(tmp_path / "report"))
    assert json.loads(open(paths["results.json"]).read())["details"]["sugarcrepe"]["subsets"]["swap_att"] == 0
    markdown = open(paths["results.md"]).read()
    lines = markdown.splitlines()
    # The seed's columns first, then the companion study's Comp-12 and SugarCrepe++'s two tasks.
    assert lines[2:4] == ["| recipe | Comp | ZS | I2T Ret | T2I Ret | Comp-12 | SC++ ITT | SC++ TOT |",
                          "|---|---|---|---|---|---|---|---|"]
    assert lines[4] == "| **colour-clip** | 58.3 | 66.7 | 100.0 | 80.0 | 58.3 | – | – |"
    assert "| coco_b32 (published) | 54.2 | 55.7 | 66.3 | 58.3 | – | – | – |" in lines
    assert "| openai ViT-B/32 (published) | – | 57.1 | 64.5 | 44.6 | 41.2 | – | – |" in lines  # comp_avg 41.15
    assert "Comp over 1 of 11 benchmarks, ZS over 1 of 21 tasks, Ret over 1 of 2 sets, Comp-12 over 1 of 12" in markdown
    assert "| coco_b32 (published) | 85.1 | 42.2 | 29.8 |" in markdown and "| SugarCrepe | swap_att | 0.0 |" in markdown
    assert "## Missing data" in markdown and "- `winoground`:" in markdown
    with open(paths["comp_vs_zs.png"], "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    # The results feed the model card unchanged.
    card = build_model_card(None, results, "openai/clip-vit-base-patch32", [], lora=False)
    assert "SugarCrepe" in str(card)


def test_trainer_api_logs_flat_scores_and_checks_data_before_training(tmp_path):
    eval_dir = write_synthetic_eval(tmp_path / "world" / "eval")
    scores = flat_scores(evaluate_benchmarks(ColourCLIP(), ColourProcessor(), "synthetic", str(tmp_path / "world")))
    # Hand-computed: comp mean(swap_att 50 [one tie], replace_att 100); zs 50 (the blue image is
    # labelled green); i2t 100; t2i 2/3 ("red blue red" finds the red image).
    assert scores["synthetic/comp"] == pytest.approx(75.0) and scores["synthetic/comp/swap_att"] == pytest.approx(50)
    assert scores["synthetic/zs"] == pytest.approx(50.0) and scores["synthetic/zs/colour"] == pytest.approx(50)
    assert scores["synthetic/i2t_r1"] == pytest.approx(100.0) and scores["synthetic/t2i_r1"] == pytest.approx(200 / 3)
    assert "comp" not in scores  # the synthetic suite never fills the published columns
    assert check_benchmarks("synthetic", eval_dir) == ["synthetic/comp", "synthetic/zs", "synthetic/retrieval"]
    with pytest.raises(ValueError, match="eval_benchmarks.*nosuch"):
        check_benchmarks("synthetic,nosuch", eval_dir)
    with pytest.raises(ValueError, match="eval_benchmarks.*needs eval_data_root"):
        check_benchmarks("synthetic", None)
    with pytest.raises(ValueError, match=r"(?s)eval_benchmarks: no data for \['sugarcrepe'\].*sugar-crepe"):
        check_benchmarks("synthetic,sugarcrepe", eval_dir)


@pytest.mark.slow
def test_command_line_on_the_synthetic_world(tmp_path, capsys):
    from transformers import CLIPModel, CLIPProcessor

    from fsc_clip_hf.cli.evaluate import main
    from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
    from fsc_clip_hf.modeling import tiny_clip_config

    world = load_synthetic_world(write_synthetic_world(str(tmp_path / "world"), num_train=4, num_test=6, image_size=32))
    config = tiny_clip_config(vocab_size=world.vocab_size, eos_token_id=world.eos_token_id,
                              bos_token_id=world.bos_token_id, pad_token_id=world.pad_token_id)
    CLIPModel(config).save_pretrained(tmp_path / "model")
    CLIPProcessor.from_pretrained(world.processor_dir).save_pretrained(tmp_path / "model")
    arguments = ["--model_name_or_path", str(tmp_path / "model"), "--benchmarks", "synthetic,winoground",
                 "--data_root", world.root, "--output_dir", str(tmp_path / "out"), "--num_workers", "0", "--no_progress"]
    with pytest.raises(SystemExit) as exited:  # winoground has no data: refused by the pre-flight, nothing run
        main(arguments)
    assert exited.value.code == 2 and not (tmp_path / "out").exists()
    assert "fix: python -m fsc_clip_hf.evaluation.download --benchmarks winoground" in capsys.readouterr().out
    results = main([*arguments, "--allow_missing"])  # evaluated without it; the report says it is missing
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["comp_vs_zs.png", "results.json", "results.md"]
    assert 0 <= results["synthetic"]["summary"]["comp"] <= 100 and "t2i_r1" in results["synthetic"]["summary"]
    assert set(results["missing"]) == {"winoground"}
    markdown = (tmp_path / "out" / "results.md").read_text()  # no paper's table of dashes: the world's scores
    assert "No benchmark of the paper's suite was scored" in markdown and "(published)" not in markdown
    assert "## Synthetic world" in markdown and "- `winoground`: " in markdown
    with pytest.raises(SystemExit) as exited:  # a wrong --data_root: nothing evaluated, even with --allow_missing
        main([*arguments[:4], "--data_root", str(tmp_path / "nothing"), *arguments[6:], "--allow_missing"])
    assert exited.value.code == 1


def test_exit_status_of_the_command_line():
    done = {"details": {"sugarcrepe": {}}, "missing": {}, "failed": {}}
    assert exit_status(done) == 0
    assert exit_status({**done, "missing": {"aro": "..."}}) == 1
    assert exit_status({**done, "missing": {"aro": "partial; ..."}}, allow_missing=True) == 0
    assert exit_status({**done, "failed": {"aro": "ValueError"}}, allow_missing=True) == 1
    assert exit_status({"details": {}, "missing": {"aro": "..."}, "failed": {}}, allow_missing=True) == 1
