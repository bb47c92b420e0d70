"""Every kind of bad input at once, in a CSV and in a WebDataset corpus, through the Trainer's own loader with
0 and 2 workers: each bad sample counted under its reason, exactly, and every good sample reaches a batch.
Captions too: a lone UTF-16 surrogate (as scraped JSON carries them) is repaired, and captions over
4,096 characters (one of 210,000 and one over spaCy's 1,000,000 limit, both in the CSV) are cut
before anything parses them.
"""

import json
import os
import tarfile

import pytest
import torch
from helpers.data_fixtures import good_sample, image_bytes, png_declaring, truncated_jpeg, write_image, write_tar
from transformers import CLIPProcessor

from fsc_clip_hf.data import DataEpochCallback, FSCCollator, load_image_text_dataset
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world
from fsc_clip_hf.modeling import FSCCLIPModel, tiny_clip_config
from fsc_clip_hf.training.recipes import parse_args
from fsc_clip_hf.training.trainer import FSCTrainer

CAP = 200_000  # max_image_bytes for both corpora: the 300 x 300 BMP (270 kB) is over it
BIG_BMP = image_bytes(size=(300, 300), fmt="BMP")
LONG_CAPTION = "a long caption " * 14_000  # 210,000 characters: over the csv module's default field limit
HUGE_CAPTION = "a huge caption " * 80_000  # 1,200,000 characters: over spaCy's max_length


def cut_caption(text):
    """What a caption over 4,096 characters becomes: its words, cut at 4,096 characters."""
    cut = " ".join(text.split())[:4096]
    assert len(cut) == 4096
    return " ".join(cut.split())

# (member or file bytes, format) of the images that are repaired and kept
REPAIRED_IMAGES = {"grey.png": image_bytes("L"), "cmyk.jpg": image_bytes("CMYK", fmt="JPEG"),
                   "alpha.png": image_bytes("RGBA"), "deep.png": image_bytes("I;16"), "palette.png": image_bytes("P")}
BAD_IMAGES = {"garbage.jpg": b"<html>an error page saved as a picture</html>", "truncated.jpg": truncated_jpeg(),
              "tiny.png": image_bytes(size=(5, 5)), "bomb.png": png_declaring(7000, 7000), "big.bmp": BIG_BMP,
              "empty.jpg": b""}
BAD_IMAGE_REASONS = {"garbage.jpg": "undecodable_image", "truncated.jpg": "truncated_image",
                     "tiny.png": "image_too_small", "bomb.png": "decompression_bomb", "big.bmp": "file_too_large",
                     "empty.jpg": "empty_file"}


@pytest.fixture(scope="module")
def processor(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_synthetic_world(str(root), seed=0, num_train=4, num_test=4, image_size=32, shard_size=4)
    return CLIPProcessor.from_pretrained(load_synthetic_world(str(root)).processor_dir)


def csv_corpus(root):
    """A CSV with image, caption and negatives columns; returns (path, good captions, expected counts)."""
    images = root / "imgs"
    good = [f"good sample number {i}" for i in range(10)]
    rows = [(f"imgs/good{i}.png", caption.encode(), b"") for i, caption in enumerate(good)]
    for i in range(10):
        write_image(str(images / f"good{i}.png"))
    for name, data in {**REPAIRED_IMAGES, **BAD_IMAGES}.items():
        write_image(str(images / name), data)
    write_image(str(root.parent / "outside.png"))
    os.symlink("/dev/zero", images / "zero.jpg")
    os.mkfifo(images / "fifo.jpg")
    kept = [f"repaired {name}" for name in REPAIRED_IMAGES]
    rows += [(f"imgs/{name}", f"repaired {name}".encode(), b"") for name in REPAIRED_IMAGES]
    rows += [(f"imgs/{name}", f"bad {name}".encode(), b"") for name in BAD_IMAGES]
    rows += [
        (b"imgs/good0.png", b"caf\xe9 on a table", b""),  # Windows-1252: recoded
        (b"imgs/good1.png", "cafÃ© au lait".encode(), b""),  # mojibake: repaired
        (b"imgs/good2.png", LONG_CAPTION.encode(), b""),
        (b"imgs/good7.png", HUGE_CAPTION.encode(), b""),
        (b"imgs/good3.png", b"nested negatives", b"[" * 1000),
        (b"", b"no image at all", b""),
        (b"imgs/absent.png", b"a missing file", b""),
        (b"../outside.png", b"climbs out of the root", b""),
        (str(root.parent / "outside.png").encode(), b"an absolute path", b""),
        (b"imgs/zero.jpg", b"a link to /dev/zero", b""),
        (b"imgs/fifo.jpg", b"a fifo", b""),
        (b"imgs/" + b"n" * 300 + b".jpg", b"a name too long to stat", b""),
        (b"imgs/good4.png", b"   ", b""),
        (b"imgs/good5.png", b"\x81\x8d", b""),
    ]
    kept += ["café on a table", "café au lait", cut_caption(LONG_CAPTION), cut_caption(HUGE_CAPTION), "nested negatives"]
    lines = [b"image,caption,neg"]
    lines += [b",".join(cell if isinstance(cell, bytes) else cell.encode() for cell in row) for row in rows]
    lines.append(b"imgs/good6.png")  # a row without its caption field
    path = root / "corpus.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    counts = {reason: 1 for reason in BAD_IMAGE_REASONS.values()}
    counts.update(missing_image=1, missing_file=1, path_outside_root=2, not_a_file=2, unreadable_file=1,
                  empty_caption=1, undecodable_caption=1, missing_caption=1, image_mode_converted=5,
                  caption_recoded=1, caption_repaired=1, caption_truncated=2, seen=len(rows) + 1)
    return str(path), good + kept, counts


def webdataset_corpus(root):
    """Three shards (one cut at a member header), with img2dataset stats; returns (folder, good, counts)."""
    good = [f"good sample {i:02d}" for i in range(8)]
    first = [good_sample(f"a{i:02d}", caption) for i, caption in enumerate(good)]
    first += [(f"r{i}", {name.split(".")[1]: data, "txt": f"repaired {name}".encode()})
              for i, (name, data) in enumerate(REPAIRED_IMAGES.items())]
    jpg = image_bytes(fmt="JPEG")
    first += [("t0", {"jpg": jpg, "txt": b"caf\xe9 on a table"}), ("t1", {"jpg": jpg, "txt": "cafÃ© au lait".encode()}),
              ("j0", {"jpg": jpg, "json": json.dumps({"key": "j0", "caption": "only in the json"}).encode()}),
              ("s0", {"jpg": jpg, "json": b'{"caption": "\\ud83d a red circle"}'})]  # a lone surrogate
    kept = [f"repaired {name}" for name in REPAIRED_IMAGES] + ["café on a table", "café au lait", "only in the json",
                                                                "\ufffd a red circle"]
    second = [(f"b{i}", {name.split(".")[1]: data, "txt": f"bad {name}".encode()})
              for i, (name, data) in enumerate(BAD_IMAGES.items())]
    second += [("c0", {"txt": b"no image member"}), ("c1", {"jpg": jpg, "json": b"{}"}),
               ("c2", {"jpg": jpg, "txt": b""}), ("c3", {"jpg": jpg, "txt": b"\x81\x8d"}),
               ("c4", {"jpg": jpg, "json": b"{not json"}), good_sample("c5", "good between the bad")]
    kept.append("good between the bad")
    third = [good_sample(f"d{i}", f"before the cut {i}") for i in range(5)]
    kept += ["before the cut 0", "before the cut 1"]
    for index, samples in enumerate((first, second, third)):
        write_tar(str(root / f"{index:05d}.tar"), samples)
        (root / f"{index:05d}_stats.json").write_text(json.dumps({"successes": len(samples)}))
    cut = root / "00002.tar"
    with tarfile.open(cut) as archive:
        header = next(m.offset for m in archive.getmembers() if m.name == "d2.txt")
    with open(cut, "r+b") as f:
        f.truncate(header)  # d2 loses its caption, d3 and d4 everything
    counts = {reason: 1 for reason in BAD_IMAGE_REASONS.values()}
    counts.update(missing_image=1, missing_caption=1, empty_caption=1, undecodable_caption=1, bad_metadata=1,
                  corrupt_shard=1, lost_in_shard=3, image_mode_converted=5, caption_recoded=1, caption_repaired=2,
                  seen=len(first) + len(second) + len(third))
    return str(root), good + kept, counts


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
