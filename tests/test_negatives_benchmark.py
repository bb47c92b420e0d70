"""The negatives benchmark runs end to end and reports every figure it promises."""

import importlib.util

import pytest
from helpers.repo import REPO


@pytest.mark.slow
def test_benchmark_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("negatives_benchmark", REPO / "recipes" / "benchmarks" / "negatives.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    captions = tmp_path / "captions.txt"
    captions.write_text("\n".join((REPO / "tests/fixtures/coco_style_captions.txt").read_text().splitlines()[:20]))
    report = bench.main(["--captions", str(captions), "--repeats", "1", "--epochs", "1", "--no-pin"])
    assert set(report["throughput"]) == {"fsc-clip", "negclip", "replace", "ngram_shuffle_2"}
    assert set(report["coverage"]) == {"swap", "replace", "shuffle"}
    assert report["disk"]["parsed"] is False  # the disk cache served every caption
    quality = report["quality"]
    assert list(quality) == [name for name, _ in bench.VARIANTS]
    assert quality["swap_skip_modifier_reorder"]["swap"]["modifier_reorders"] == 0
    assert quality["negatives_article_agreement"]["replace"]["article_errors"] == 0
    assert quality["replace_vocabulary corpus"]["replace"]["in_vocabulary"] == 1
    out = capsys.readouterr().out
    assert "targets:" in out and "all five of ours" in out
