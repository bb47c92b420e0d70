"""The step benchmark's chunked and engine runs end to end (tiny CLIP, CPU) and print the ratios they promise."""

import os
import re
import subprocess
import sys

import pytest
from helpers.repo import REPO


@pytest.mark.slow
def test_chunked_step_under_ddp_prints_its_memory_and_time_ratios():
    """`--engine ddp --processes 2 --gradient_cache_chunk_size 4`: three torchrun runs. About 35 s."""
    done = subprocess.run([sys.executable, str(REPO / "recipes" / "benchmark.py"), "step", "--batch", "8",
                           "--repeats", "1", "--threads", "1", "--engine", "ddp", "--processes", "2",
                           "--gradient_cache_chunk_size", "4"],
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(ddp x 2 processes)" in done.stdout and re.search(r"^fsc, chunks of 4 +32 ", done.stdout, re.MULTILINE)
    assert re.search(r"FSC in chunks of 4 / unchunked: step peak memory [\d.]+ .*CPU time [\d.]+", done.stdout)


def test_chunks_need_an_engine_that_follows_them():
    done = subprocess.run([sys.executable, str(REPO / "recipes" / "benchmark.py"), "step", "--engine", "fsdp",
                           "--gradient_cache_chunk_size", "4"],
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--gradient_cache_chunk_size runs with --engine none or ddp" in done.stderr
