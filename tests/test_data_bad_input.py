"""Every kind of bad input at once, in a CSV and in a WebDataset corpus, through the Trainer's own loader with
0 and 2 workers: each bad sample counted under its reason, exactly, and every good sample reaches a batch.
Captions too: a lone UTF-16 surrogate (as scraped JSON carries them) is repaired, and captions over
4,096 characters (one of 210,000 and one over spaCy's 1,000,000 limit, both in the CSV) are cut
before anything parses them.
"""

import pytest
import torch
from helpers.bad_corpora import CAP, csv_corpus, webdataset_corpus
from transformers import CLIPProcessor

from fsc_clip_hf.data import DataEpochCallback, FSCCollator, load_image_text_dataset
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config
from fsc_clip_hf.training.recipes import parse_args
from fsc_clip_hf.training.trainer import FSCTrainer


@pytest.fixture(scope="module")
def processor(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_synthetic_world(str(root), seed=0, num_train=4, num_test=4, image_size=32, shard_size=4)
    return CLIPProcessor.from_pretrained(load_synthetic_world(str(root)).processor_dir)


def captions_too(collator):
    def collate(samples):
        return {**collator(samples), "captions": [sample["caption"] for sample in samples]}
    return collate


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("layout", ["csv", "webdataset"])
def test_every_bad_input_is_counted_exactly_and_every_good_sample_reaches_a_batch(processor, tmp_path, layout,
                                                                                  workers):
    (tmp_path / "corpus").mkdir()
    source, good, expected = (csv_corpus if layout == "csv" else webdataset_corpus)(tmp_path / "corpus")
    data = load_image_text_dataset(source, seed=1, shuffle_buffer=8, max_image_bytes=CAP,
                                   negatives_column="neg" if layout == "csv" else None)
    collator = FSCCollator(processor, skip_stats=data.skip_stats)
    args = parse_args(["--output_dir", str(tmp_path / "out"), "--use_cpu", "true", "--report_to", "none",
                       "--per_device_train_batch_size", "4", "--dataloader_num_workers", str(workers),
                       "--max_steps", "1", "--train_data", str(source), "--loss_name", "clip"])
    trainer = FSCTrainer(model=FSCCLIPModel(tiny_clip_config()), args=args, train_dataset=data.dataset,
                         data_collator=captions_too(collator),
                         callbacks=[DataEpochCallback(data.skip_stats, collator, data.dataset, seek=data.seek)])
    trained = []
    for batch in trainer.get_train_dataloader():
        assert batch["pixel_values"].shape[0] == batch["input_ids"].shape[0] == len(batch["captions"])
        assert torch.isfinite(batch["pixel_values"]).all()
        trained += batch["captions"]
    assert sorted(trained) == sorted(good)
    counts = {reason: n for reason, n in data.skip_stats.snapshot().items() if n}
    assert counts == expected
