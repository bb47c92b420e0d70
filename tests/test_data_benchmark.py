"""The JPEG data benchmark runs end to end on a few small JPEGs and reports every figure it promises."""

import importlib.util
import sys

import pytest
from helpers.repo import REPO


@pytest.mark.slow
def test_jpeg_benchmark_smoke(tmp_path, capsys):
    sys.path.insert(0, str(REPO / "recipes"))
    spec = importlib.util.spec_from_file_location("data_benchmark", REPO / "recipes" / "benchmarks" / "data.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(["--images", "jpeg", "--num_train", "12", "--jpeg_size", "96x72", "--input_size", "32",
                         "--batch_size", "4", "--negatives", "none", "--sources", "wds,csv", "--workers", "1",
                         "--world", str(tmp_path / "world"), "--diff_images", "4", "--floor_repeats", "1"])
    assert set(report["floor_ms"]) == {"off", "on"} and all(v > 0 for v in report["floor_ms"].values())
    runs = {(r["source"], r["draft"], r["workers"]): r for r in report["runs"]}
    assert set(runs) == {(s, d, w) for s in ("wds", "csv") for d in ("off", "on") for w in (0, 1)}
    assert all(r["samples"] == 12 and r["worker_cpu"] > 0 and r["x_floor"] > 0 for r in runs.values())
    assert report["draft_difference"]["reduced"] == 4  # 72 px high: the half-scale draft keeps 36 >= 32
    out = capsys.readouterr().out
    assert "floor (bare PIL decode" in out and "× floor" in out
