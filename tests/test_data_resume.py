"""Seeking a stream back to a batch position: the same batches follow, and what came before is not decoded."""

import pytest
import torch
from accelerate import skip_first_batches
from helpers.data_fixtures import good_sample, image_bytes, write_tar

from fsc_clip_hf.data import DataEpochCallback, load_image_text_dataset
from fsc_clip_hf.data.resume import STREAM_KEY, SeekableStream, TaggedCollate


def captions(samples):
    return {"captions": [sample["caption"] for sample in samples]}


def write_shards(folder):
    """Shards of unequal length (workers run dry at different times) with bad samples among the good."""
    sizes = (7, 3, 6, 5, 2)
    for s, size in enumerate(sizes):
        samples = [good_sample(f"{s}{i:02d}", f"caption {s}-{i}") for i in range(size)]
        samples.insert(1, (f"{s}bad", {"jpg": b"no image", "txt": b"bad"}))
        samples.append((f"{s}empty", {"png": image_bytes(), "txt": b" "}))
        write_tar(str(folder / f"{s:02d}.tar"), samples)
    return sum(sizes) + 2 * len(sizes)  # raw records


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("taken", [1, 4, 6])
def test_a_seeked_stream_gives_the_batches_that_followed_without_decoding_the_earlier_ones(tmp_path, workers, taken):
    raw = write_shards(tmp_path)
    data = load_image_text_dataset(str(tmp_path), seed=3, shuffle_buffer=4)
    data.dataset.set_epoch(2)
    loader = torch.utils.data.DataLoader(data.dataset, batch_size=3, num_workers=workers, collate_fn=TaggedCollate(captions))
    batches = list(loader)
    assert len(batches) > taken + 1

    tracker = DataEpochCallback(seek=data.seek)
    for batch in batches[:taken]:
        tracker.batch_consumed(*batch[STREAM_KEY].tolist())
    plan = tracker.resume_plan(batch_size=3)
    data.seek.set(plan)
    before = data.skip_stats.snapshot()["seen"]
    resumed = torch.utils.data.DataLoader(SeekableStream(data.dataset, data.seek), batch_size=3, num_workers=workers,
                                          collate_fn=TaggedCollate(captions))
    rest = list(skip_first_batches(resumed, taken))
    assert [b["captions"] for b in rest] == [b["captions"] for b in batches[taken:]]
    assert all(torch.equal(b[STREAM_KEY], a[STREAM_KEY]) for a, b in zip(batches[taken:], rest))
    # Every record up to each worker's position was passed over undecoded.
    assert data.skip_stats.snapshot()["seen"] - before == raw - sum(position for position, _ in plan.values())
