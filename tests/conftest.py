import pytest
from helpers.world import write_tiny_world

from fsc_clip_hf.modeling import tiny_clip_config


@pytest.fixture
def tiny_config():
    """A 2-layer CLIP with 32-wide towers, 32x32 images in 16 patches, 16-d embeddings."""
    return tiny_clip_config()


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """16 training pairs, 4 test scenes, and a tiny random CLIP saved beside them (``write_tiny_world``)."""
    return write_tiny_world(tmp_path_factory.mktemp("tiny_world"), num_train=16, num_test=4)


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """32 training pairs (4 batches of 8), 8 test scenes, and a tiny random CLIP (``write_tiny_world``)."""
    return write_tiny_world(tmp_path_factory.mktemp("world"), num_train=32, num_test=8)


@pytest.fixture
def offline_hub(monkeypatch):
    """No Hub request can start: what reads a benchmark or a dataset must do with local files."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
