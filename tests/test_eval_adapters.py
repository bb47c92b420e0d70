"""Every adapter reads its published layout (written here, tiny) and gets the hand-computed score."""

import os
import shutil

import datasets
import pytest
from helpers.eval_benchmark_files import (
    VALSE_FOLDERS,
    winoground_examples,
    write_aro,
    write_cifar10,
    write_coco_retrieval,
    write_crepe,
    write_eqben,
    write_eqben_full,
    write_imagecode,
    write_spec,
    write_sugarcrepe,
    write_svo_probes,
    write_valse,
    write_vl_checklist,
    write_whatsup,
    write_winoground,
)
from helpers.eval_fixtures import ColourCLIP, ColourProcessor

from fsc_clip_hf.evaluation.adapters.base import Malformed
from fsc_clip_hf.evaluation.adapters.crepe import hard_negatives
from fsc_clip_hf.evaluation.adapters.word_order import normalise_caption, order_test_options
from fsc_clip_hf.evaluation.suite import evaluate_model

pytestmark = pytest.mark.usefixtures("offline_hub")


def run(root, name):
    results = evaluate_model(ColourCLIP(), ColourProcessor(), name, str(root), batch_size=4, show_progress=False)
    assert not results["failed"], results["failed"]
    return results


def check(results, name, score, subsets=None):
    record = results["details"][name]
    assert name not in results["missing"]
    assert record["score"] == pytest.approx(score)
    if subsets is not None:
        assert record["subsets"] == pytest.approx(subsets)
    return record


def test_sugarcrepe_averages_its_three_categories(tmp_path):
    score = write_sugarcrepe(tmp_path)
    record = check(run(tmp_path, "sugarcrepe"), "sugarcrepe", score)
    assert record["subsets"]["replace_obj"] == pytest.approx(100) and record["items"] == 8


def test_aro_crops_vg_and_settles_ties_by_its_argmax(tmp_path):
    score, subsets = write_aro(tmp_path)
    record = check(run(tmp_path, "aro"), "aro", score, subsets)
    assert record["items"] == 5 + 28 + 4  # relations, attributes, 2 x 2 order captions
    assert record["counts"]["VG_Relation/under"] == {"items": 1, "skipped": {}}


def test_word_order_perturbations_keep_the_words_and_repeat():
    caption = "A young man riding a red bike down the busy street."
    options = order_test_options([caption], seed=3)[0]
    assert options == order_test_options([caption], seed=3)[0]
    assert options[0] == normalise_caption(caption) == "a young man riding a red bike down the busy street"
    assert len(options) == 5 and len(set(options)) > 1
    assert all(sorted(option.split()) == sorted(options[0].split()) for option in options)


def test_crepe_reads_the_all_files_when_present_and_pools_per_type(tmp_path):
    score, subsets = write_crepe(tmp_path)
    record = check(run(tmp_path, "crepe"), "crepe", score, subsets)
    assert record["item_set"] == ("atom: prod_vg_hard_negs_atom_all.csv (all complexities); swap: complexity files 4; "
                                  "negate: complexity files 5")
    assert record["counts"]["atom"] == {"items": 4, "skipped": {"image_absent": 1}}  # the set literal row is read
    assert record["notes"][0].startswith("1 items skipped (image_absent), e.g. ")
    assert "prod_vg_hard_negs_atom_all.csv [line 4]" in record["notes"][0]


def test_crepe_hard_negatives_as_list_or_set_literals():
    assert hard_negatives("['b', 'a']") == ["b", "a"]
    assert hard_negatives("{'b', 'a', 'b'}") == ["b", "a"]  # written order, the repeat dropped as a set does
    for cell, reason in (("{'a': 1}", "not a list or set literal"), ("[]", "empty"), ("[1]", "not text")):
        with pytest.raises(Malformed, match=reason):
            hard_negatives(cell)


def test_eqben_averages_group_scores_over_sources(tmp_path):
    score = write_eqben(tmp_path)
    record = check(run(tmp_path, "eqben"), "eqben", score)
    assert record["subsets"]["eqbenkubric_cnt/group"] == 0 and record["subsets"]["eqbenyoucook2/group"] == 100
    assert record["item_set"].startswith("10 % subset") and "not comparable" in record["item_set"]


def test_eqben_prefers_the_full_set(tmp_path):
    score = write_eqben_full(tmp_path)
    record = check(run(tmp_path, "eqben"), "eqben", score)
    assert record["item_set"] == "full set (all_select.json)"
    assert record["subsets"] == pytest.approx({"eqbenag/text": 50, "eqbenag/image": 50, "eqbenag/group": 50,
                                               "eqbensd/text": 100, "eqbensd/image": 100, "eqbensd/group": 100})
    assert record["counts"]["eqbensd"] == {"items": 1, "skipped": {"image_absent": 1}}


def test_imagecode_pools_static_and_video_and_skips_incomplete_sets(tmp_path):
    score, subsets, counts = write_imagecode(tmp_path)
    record = check(run(tmp_path, "imagecode"), "imagecode", score, subsets)
    assert record["items"] == 4 and record["counts"] == counts
    assert any("open-images-2_missing 0" in note and "open-images-3_short 0" in note for note in record["notes"])


def test_imagecode_without_any_image_set_is_missing(tmp_path):
    write_imagecode(tmp_path)
    shutil.rmtree(tmp_path / "imagecode" / "image-sets")
    (tmp_path / "imagecode" / "image-sets").mkdir()
    assert "image-sets.zip" in run(tmp_path, "imagecode")["missing"]["imagecode"]


def test_svo_probes_keeps_rows_with_exactly_one_negative_type(tmp_path):
    score, subsets = write_svo_probes(tmp_path)
    record = check(run(tmp_path, "svo_probes"), "svo_probes", score, subsets)
    assert record["counts"]["subj_neg"] == {"items": 1, "skipped": {"image_absent": 1}}
    assert record["counts"]["(all)"] == {"items": 0, "skipped": {"no_negative_type": 1, "several_negative_types": 1}}
    assert record["skipped"] == 3


def test_valse_averages_instruments_of_validated_items(tmp_path):
    score = write_valse(tmp_path)
    record = check(run(tmp_path, "valse"), "valse", score)
    assert record["items"] == 11  # the not-validated half is left out


def test_valse_with_a_piece_missing_scores_the_rest_without_a_headline(tmp_path):
    write_valse(tmp_path, pieces=[piece for piece in VALSE_FOLDERS if piece != "foil-it"])
    results = run(tmp_path, "valse")
    assert results["details"]["valse"]["score"] is None and "foil-it" not in results["details"]["valse"]["subsets"]
    assert results["missing"]["valse"].startswith("partial; VALSE: missing") and "foil-it.json" in results["missing"]["valse"]
    assert results["coverage"]["comp"] == {"evaluated": 0, "of": 11}


def test_vl_checklist_first_1000_per_file_averaged_per_source(tmp_path):
    score, subsets = write_vl_checklist(tmp_path)
    record = check(run(tmp_path, "vl_checklist"), "vl_checklist", score, subsets)
    assert record["counts"]["Relation_spatial/vg/spatial"] == {"items": 1000, "skipped": {"image_absent": 3}}
    assert "2 items past the first 1000 of their file are not scored (VL-CheckList's MAX_NUM)" in record["notes"]
    assert "Object_Size_large/swig/swig_place_large" not in record["counts"]


def test_whatsup_reads_rows_as_its_loader_and_settles_ties_by_argmax(tmp_path):
    score, subsets = write_whatsup(tmp_path)
    check(run(tmp_path, "whatsup"), "whatsup", score, subsets)


def test_winoground_from_the_dataset_files(tmp_path):
    score, subsets = write_winoground(tmp_path)
    check(run(tmp_path, "winoground"), "winoground", score, subsets)


def winoground_dataset(root):
    """The three examples of ``winoground_examples`` as a ``datasets.Dataset`` with Image columns."""
    rows = winoground_examples(root)
    images = {name: str(root / "images" / f"{name}.png") for name in ("r", "b", "p")}
    return datasets.Dataset.from_dict(
        {"image_0": [images[r["image_0"]] for r in rows], "image_1": [images[r["image_1"]] for r in rows],
         "caption_0": [r["caption_0"] for r in rows], "caption_1": [r["caption_1"] for r in rows]},
        features=datasets.Features({"image_0": datasets.Image(), "image_1": datasets.Image(),
                                    "caption_0": datasets.Value("string"), "caption_1": datasets.Value("string")}))


WINOGROUND_SCORES = (100 / 3, {"text": 200 / 3, "image": 100 / 3, "group": 100 / 3})


def test_winoground_from_a_datasets_save(tmp_path):
    datasets.DatasetDict({"test": winoground_dataset(tmp_path / "source")}).save_to_disk(
        str(tmp_path / "data" / "winoground"))
    check(run(tmp_path / "data", "winoground"), "winoground", *WINOGROUND_SCORES)


@pytest.fixture
def hub(monkeypatch):
    """The Hub boundary: ``HfApi.dataset_info`` and ``hf_hub_download``, answering from ``hub.files``
    ({name in the repository: local path}); ``hub.calls`` records what was asked. Online by default."""
    import types

    import huggingface_hub
    from huggingface_hub import constants

    state = types.SimpleNamespace(files={}, calls=[], error=None)

    def dataset_info(self, repo_id, revision=None, timeout=None, **kwargs):
        state.calls.append(("dataset_info", repo_id, revision, timeout))
        if state.error is not None:
            raise state.error
        return types.SimpleNamespace(siblings=[types.SimpleNamespace(rfilename=name) for name in state.files])

    def hf_hub_download(repo_id, filename, repo_type=None, revision=None, **kwargs):
        state.calls.append(("hf_hub_download", repo_id, filename, revision))
        return state.files[filename]

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", dataset_info)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return state


def test_winoground_from_the_hubs_parquet_conversion(tmp_path, hub):
    parquet = tmp_path / "hub" / "0000.parquet"
    os.makedirs(parquet.parent)
    # The images' bytes in the file, as the Hub's parquet conversion stores them.
    dataset = winoground_dataset(tmp_path / "source")
    for column in ("image_0", "image_1"):
        dataset = dataset.cast_column(column, datasets.Image(decode=False)).map(
            lambda row, column=column: {column: {"bytes": open(row[column]["path"], "rb").read(), "path": None}})
    dataset.to_parquet(str(parquet))
    hub.files = {"default/test/0000.parquet": str(parquet), "README.md": str(parquet)}
    check(run(tmp_path / "data", "winoground"), "winoground", *WINOGROUND_SCORES)
    assert hub.calls == [("dataset_info", "facebook/winoground", "refs/convert/parquet", 10.0),
                         ("hf_hub_download", "facebook/winoground", "default/test/0000.parquet", "refs/convert/parquet")]


def test_winoground_probes_the_hub_only_without_local_files(tmp_path, hub):
    score, subsets = write_winoground(tmp_path)
    check(run(tmp_path, "winoground"), "winoground", score, subsets)
    assert hub.calls == []


def test_winoground_without_network_or_licence_is_missing_at_once(tmp_path, hub):
    hub.error = OSError("[Errno -3] Temporary failure in name resolution")
    results = run(tmp_path, "winoground")
    message = results["missing"]["winoground"]
    assert "hf download facebook/winoground" in message and "name resolution" in message
    assert [call[0] for call in hub.calls] == ["dataset_info"]  # one probe, nothing downloaded


def test_winoground_offline_without_files_is_missing(tmp_path, monkeypatch):
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("offline: the Hub must not be asked")

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", no_network)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    results = run(tmp_path, "winoground")
    assert "winoground" not in results["details"]
    message = results["missing"]["winoground"]
    assert "huggingface.co/datasets/facebook/winoground" in message and message.endswith("(from the Hub: offline)")


def test_spec_scores_both_directions(tmp_path):
    score = write_spec(tmp_path)
    record = check(run(tmp_path, "spec"), "spec", score)
    assert record["subsets"]["count/i2t"] == 0 and record["subsets"]["count/t2i"] == 100


def test_zeroshot_task_from_webdataset_shards(tmp_path):
    score, subsets = write_cifar10(tmp_path)
    results = run(tmp_path, "cifar10")
    check(results, "cifar10", score, subsets)
    assert results["zeroshot"] == {"cifar10": pytest.approx(score)}
    assert results["summary"]["zs"] == pytest.approx(score)
    assert results["coverage"]["zs"] == {"evaluated": 1, "of": 21}


def test_retrieval_from_webdataset_shards(tmp_path):
    recalls = write_coco_retrieval(tmp_path)
    results = run(tmp_path, "retrieval")
    assert results["retrieval"]["coco"] == pytest.approx(recalls)
    assert results["summary"]["i2t_r1"] == pytest.approx(100) and results["summary"]["t2i_r1"] == pytest.approx(80)
    assert "wds_flickr30k" in results["missing"]["flickr30k"]
    assert results["coverage"]["retrieval"] == {"evaluated": 1, "of": 2}
