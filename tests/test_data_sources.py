"""Every source type read from a small fixture in its published layout, through the streaming path."""

import json
import tarfile

import datasets
import pytest
import torch
from helpers.data_fixtures import (
    good_sample,
    image_bytes,
    png_declaring,
    truncated_jpeg,
    write_image,
    write_jsonl,
    write_tar,
)

from fsc_clip_hf.data import SkipStats, load_image_text_dataset


def captions_of(data):
    return sorted(sample["caption"] for sample in data.dataset)


def only_nonzero(counts):
    return {k: v for k, v in counts.items() if v}


# --------------------------------------------------------------------------- NegCLIP COCO TSV

NEGCLIP_TSV = (
    "\ttitle\tfilepath\tneg_caption\tneg_image\n"
    "0\tA child holding a flowered umbrella.\tcoco/train2014/COCO_train2014_000000000001.jpg\t"
    "['A umbrella holding a flowered child .', 'A child flowered a holding umbrella .']\t[2, 1]\n"
    "1\tA white truck filled with motorcycles.\tcoco/val2014/COCO_val2014_000000000002.jpg\t"
    "\"[\"\"A white motorcycle filled with truck 's .\"\"]\"\t[0]\n"
    "2\tA cat on a mat.\tcoco/train2014/COCO_train2014_000000000003.jpg\t[]\t[0]\n"
)


@pytest.mark.parametrize("image_dir", ["coco/images", "coco", "images", ""])
def test_negclip_tsv_with_precomputed_negatives(tmp_path, image_dir):
    (tmp_path / "train_neg_clip.tsv").write_text(NEGCLIP_TSV)
    base = tmp_path / image_dir
    write_image(str(base / "train2014/COCO_train2014_000000000001.jpg"), image_bytes(fmt="JPEG"))
    write_image(str(base / "val2014/COCO_val2014_000000000002.jpg"), image_bytes(fmt="JPEG"))
    # the third image is missing on purpose

    data = load_image_text_dataset("train_neg_clip", str(tmp_path), shuffle_buffer=0)
    samples = sorted(data.dataset, key=lambda s: s["caption"])
    assert data.has_negatives and data.num_rows == 3
    assert [s["caption"] for s in samples] == ["A child holding a flowered umbrella.",
                                              "A white truck filled with motorcycles."]
    assert samples[0]["negatives"] == ["A umbrella holding a flowered child .",
                                       "A child flowered a holding umbrella ."]
    assert samples[1]["negatives"] == ["A white motorcycle filled with truck 's ."]
    assert samples[0]["image"].mode == "RGB"
    assert only_nonzero(data.skip_stats.snapshot()) == {"seen": 3, "missing_file": 1}


def test_negclip_without_images_fails_at_start(tmp_path):
    (tmp_path / "train_neg_clip.tsv").write_text(NEGCLIP_TSV)
    with pytest.raises(FileNotFoundError, match="COCO 2014"):
        load_image_text_dataset("train_neg_clip", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="train_neg_clip.tsv"):
        load_image_text_dataset("train_neg_clip", str(tmp_path / "elsewhere"))


# --------------------------------------------------------------------------- Hub WebDataset seeds, local copies

def write_seed_shards(folder, prefix, n_shards=2, per_shard=3, coca_in_json=False, stats=True):
    keys = []
    for s in range(n_shards):
        samples = []
        for i in range(per_shard):
            key = f"{s:05d}{i:04d}"
            extra = {"coca_captions": f"coca caption {key}"} if coca_in_json else {}
            samples.append(good_sample(key, f"{prefix} caption {key}", **extra))
            keys.append(key)
        write_tar(str(folder / f"{s:05d}.tar"), samples)
        if stats:
            (folder / f"{s:05d}_stats.json").write_text(json.dumps({"successes": per_shard}))
    return keys


def test_laioncoco_seed_reads_local_shards(tmp_path):
    keys = write_seed_shards(tmp_path / "laioncoco/train_subset_100K", "laion")
    data = load_image_text_dataset("laioncoco_100k", str(tmp_path), shuffle_buffer=0)
    assert captions_of(data) == sorted(f"laion caption {k}" for k in keys)
    assert data.num_rows == 6 and not data.has_negatives


@pytest.mark.parametrize("side", ["folder", "archive", "json"])
def test_cc3m_seed_coca_captions(tmp_path, side):
    folder = tmp_path / "cc3m/train_subset_100K"
    keys = write_seed_shards(folder, "cc3m", coca_in_json=side == "json", stats=False)
    if side == "folder":
        for key in keys:
            (folder / "coca_captions").mkdir(exist_ok=True)
            # the authors read the first line only
            (folder / "coca_captions" / f"{key}.txt").write_text(f"coca caption {key}\nsecond line\n")
    elif side == "archive":
        write_tar(str(folder / "coca.tar"), [(f"coca_captions/{k}", {"txt": f"coca caption {k}".encode()})
                                             for k in keys])
        with tarfile.open(folder / "coca_captions.tar.gz", "w:gz") as archive:
            archive.add(folder / "coca.tar", arcname="unrelated.bin")
            for k in keys:
                path = folder / f"{k}.txt"
                path.write_text(f"coca caption {k}\r\nsecond line")
                archive.add(path, arcname=f"coca_captions/{k}.txt")
                path.unlink()
        (folder / "coca.tar").unlink()
    data = load_image_text_dataset("cc3m_100k", str(tmp_path), shuffle_buffer=0)
    assert captions_of(data) == sorted(f"coca caption {k}" for k in keys)
    assert data.num_rows is None  # no stats files beside these shards
    # the shard's own caption stays reachable
    data = load_image_text_dataset("cc3m_100k", str(tmp_path), caption_key="caption", shuffle_buffer=0)
    assert captions_of(data) == sorted(f"cc3m caption {k}" for k in keys)


def test_wrong_caption_key_fails_at_start_naming_fields(tmp_path):
    write_seed_shards(tmp_path / "cc3m/train_subset_100K", "cc3m")
    expected = r"caption 'coca_captions' not found.*members found \['jpg', 'json', 'txt'\]"
    with pytest.raises(ValueError, match=expected):
        load_image_text_dataset("cc3m_100k", str(tmp_path))


def test_seed_root_without_shards_fails(tmp_path):
    with pytest.raises(FileNotFoundError, match="no \\*.tar shards"):
        load_image_text_dataset("laioncoco_100k", str(tmp_path))


# --------------------------------------------------------------------------- generic WebDataset + bad data

def test_brace_and_glob_patterns(tmp_path):
    keys = write_seed_shards(tmp_path, "wds", n_shards=3)
    for pattern in (f"{tmp_path}/{{00000..00002}}.tar", f"{tmp_path}/*.tar", str(tmp_path),
                    [f"{tmp_path}/00000.tar", f"{tmp_path}/0000{{1,2}}.tar"]):
        data = load_image_text_dataset(pattern, shuffle_buffer=4)
        assert captions_of(data) == sorted(f"wds caption {k}" for k in keys)
        assert data.num_rows == 9


def bad_data_shards(folder):
    """One shard with every kind of bad sample, and one shard cut in the middle."""
    jpg, png = image_bytes(fmt="JPEG"), image_bytes()
    samples = [
        good_sample("a00", "a good sample"),
        ("a01", {"jpg": b"garbage, not an image", "txt": b"undecodable"}),
        ("a02", {"jpg": truncated_jpeg(), "txt": b"truncated"}),
        ("a03", {"png": image_bytes("L"), "txt": b"grayscale"}),
        ("a04", {"jpg": image_bytes("CMYK", fmt="JPEG"), "txt": b"cmyk"}),
        ("a05", {"png": image_bytes("RGBA"), "txt": b"with alpha"}),
        ("a06", {"png": image_bytes("I;16"), "txt": b"sixteen bit"}),
        ("a07", {"png": image_bytes(size=(5, 5)), "txt": b"tiny"}),
        ("a08", {"png": png_declaring(7000, 7000), "txt": b"bomb"}),
        ("a09", {"jpg": jpg, "txt": b""}),
        ("a10", {"jpg": jpg, "txt": b"  \n\t "}),
        ("a11", {"jpg": jpg, "txt": b"caf\xe9 on a table"}),
        ("a12", {"jpg": jpg, "txt": b"\x81\x8d"}),
        ("a13", {"txt": b"no image"}),
        ("a14", {"png": png}),
    ]
    write_tar(str(folder / "good-0.tar"), samples)
    cut = write_tar(str(folder / "cut-1.tar"), [good_sample(f"b{i:02d}", f"before the cut {i}") for i in range(6)])
    size = len(open(cut, "rb").read())
    write_tar(cut, [good_sample(f"b{i:02d}", f"before the cut {i}") for i in range(6)], cut=size // 2)


def test_bad_data_is_skipped_repaired_and_counted(tmp_path):
    bad_data_shards(tmp_path)
    data = load_image_text_dataset(f"{tmp_path}/*.tar", shuffle_buffer=8)
    kept = captions_of(data)
    assert "a good sample" in kept and "café on a table" in kept
    assert {"grayscale", "cmyk", "with alpha", "sixteen bit"} <= set(kept)
    assert {k for k in kept if k.startswith("before the cut")}  # what came before the damage is kept
    counts = only_nonzero(data.skip_stats.snapshot())
    seen = counts.pop("seen")
    assert counts == {"undecodable_image": 1, "truncated_image": 1, "image_too_small": 1, "decompression_bomb": 1,
                      "empty_caption": 2, "undecodable_caption": 1, "missing_image": 1, "missing_caption": 1,
                      "corrupt_shard": 1, "image_mode_converted": 4, "caption_recoded": 1}
    assert seen == 15 + len([k for k in kept if k.startswith("before the cut")])
    assert len(kept) == seen - 9


def test_broken_json_metadata_counted(tmp_path):
    samples = [good_sample("k0", "x", coca_captions="from json 0"),
               ("k1", {"jpg": image_bytes(fmt="JPEG"), "json": b"{broken"}),
               good_sample("k2", "y", coca_captions="from json 2")]
    write_tar(str(tmp_path / "s.tar"), samples)
    data = load_image_text_dataset(str(tmp_path / "s.tar"), caption_key="coca_captions", shuffle_buffer=0)
    assert captions_of(data) == ["from json 0", "from json 2"]
    assert data.skip_stats.snapshot()["bad_metadata"] == 1


# --------------------------------------------------------------------------- tables

def write_images(folder, names):
    for name in names:
        write_image(str(folder / name))


def test_csv_relative_paths_and_bad_rows(tmp_path):
    write_images(tmp_path / "ann/imgs", ["a.png", "b.png", "c.png"])
    (tmp_path / "ann/captions.csv").write_bytes(
        b"filepath,text\nimgs/a.png,a red circle\nimgs/b.png,\"a blue, quoted square\"\n"
        b"imgs/missing.png,lost\nimgs/c.png,   \nimgs/a.png,caf\xe9 latte\n")
    data = load_image_text_dataset(str(tmp_path / "ann/captions.csv"), image_column="filepath", caption_column="text")
    assert captions_of(data) == ["a blue, quoted square", "a red circle", "café latte"]
    assert data.num_rows == 5
    assert only_nonzero(data.skip_stats.snapshot()) == {"seen": 5, "missing_file": 1, "empty_caption": 1,
                                                        "caption_recoded": 1}


def test_tsv_with_image_root(tmp_path):
    write_images(tmp_path / "pictures", ["a.png"])
    (tmp_path / "list.tsv").write_text("image\tcaption\ta.png\ta square\n".replace("\ta.png", "\na.png"))
    data = load_image_text_dataset(str(tmp_path / "list.tsv"), str(tmp_path / "pictures"))
    assert captions_of(data) == ["a square"]


def test_jsonl_with_a_bad_line(tmp_path):
    write_images(tmp_path / "imgs", ["a.png", "b.png"])
    path = write_jsonl(str(tmp_path / "train.jsonl"), [{"image": "imgs/a.png", "caption": "first"}])
    with open(path, "a") as f:
        f.write("{this is not json\n" + json.dumps({"image": "imgs/b.png", "caption": "second"}) + "\n")
    data = load_image_text_dataset(path)
    assert captions_of(data) == ["first", "second"]
    assert data.skip_stats.snapshot()["bad_row"] == 1 and data.num_rows == 3  # the bad line is a row too


def test_wrong_columns_and_unreadable_files_fail_at_start(tmp_path):
    path = write_jsonl(str(tmp_path / "t.jsonl"), [{"img": "a.png", "text": "x"}])
    with pytest.raises(ValueError, match=r"t.jsonl: column\(s\) image_column='image', caption_column='caption' "
                                         r"not found; columns found: \['img', 'text'\]"):
        load_image_text_dataset(path)
    (tmp_path / "garbage.jsonl").write_bytes(b"\x00\x01\x02 binary \xff")
    with pytest.raises(ValueError, match="cannot read annotation file .*garbage.jsonl"):
        load_image_text_dataset(str(tmp_path / "garbage.jsonl"))
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        load_image_text_dataset(str(tmp_path / "nothere.csv"))


# --------------------------------------------------------------------------- datasets objects

def image_text_dataset(n=6, corrupt=(2,)):
    images = [{"bytes": b"corrupt bytes" if i in corrupt else image_bytes(), "path": None} for i in range(n)]
    features = datasets.Features({"img": datasets.Image(), "text": datasets.Value("string"),
                                  "other": datasets.Value("int32")})
    return datasets.Dataset.from_dict({"img": images, "text": [f"caption {i}" for i in range(n)],
                                       "other": list(range(n))}, features=features)


def test_save_to_disk_folder(tmp_path):
    image_text_dataset().save_to_disk(str(tmp_path / "saved"))
    data = load_image_text_dataset(str(tmp_path / "saved"), image_column="img", caption_column="text")
    assert captions_of(data) == [f"caption {i}" for i in (0, 1, 3, 4, 5)]
    assert data.num_rows == 6 and data.skip_stats.snapshot()["undecodable_image"] == 1
    datasets.DatasetDict({"validation": image_text_dataset()}).save_to_disk(str(tmp_path / "dict"))
    with pytest.raises(ValueError, match=r"split 'train' not found; splits found: \['validation'\]"):
        load_image_text_dataset(str(tmp_path / "dict"), image_column="img", caption_column="text")
    data = load_image_text_dataset(str(tmp_path / "dict"), image_column="img", caption_column="text",
                                   split="validation")
    assert len(captions_of(data)) == 5


def test_hub_layout_folder_streams_parquet(tmp_path, monkeypatch):
    """A Hub dataset repository checked out locally: data/train-*.parquet with an Image column."""
    # datasets pauses 5 s after each streamed pass over parquet (an Arrow shutdown workaround)
    monkeypatch.setattr(datasets.config, "SLEEP_TIME_ON_THREADS_SHUTDOWN", 0)
    (tmp_path / "repo/data").mkdir(parents=True)
    image_text_dataset(n=8, corrupt=(0, 5)).to_parquet(str(tmp_path / "repo/data/train-00000-of-00001.parquet"))
    data = load_image_text_dataset(str(tmp_path / "repo"), image_column="img", caption_column="text")
    assert captions_of(data) == [f"caption {i}" for i in (1, 2, 3, 4, 6, 7)]
    assert data.skip_stats.snapshot()["undecodable_image"] == 2
    with pytest.raises(ValueError, match=r"columns found: \['img', 'text', 'other'\]"):
        load_image_text_dataset(str(tmp_path / "repo"), caption_column="caption_en", image_column="img")


# --------------------------------------------------------------------------- processes, epochs, shared stats

def table_of(tmp_path, n):
    write_images(tmp_path / "imgs", ["a.png"])
    return write_jsonl(str(tmp_path / "t.jsonl"), [{"image": "imgs/a.png", "caption": f"c{i}"} for i in range(n)])


def test_two_processes_see_disjoint_parts(tmp_path):
    table = table_of(tmp_path, 40)
    write_seed_shards(tmp_path / "wds", "w", n_shards=3, per_shard=4)  # 3 shards for 2 processes: example split
    for source in (table, str(tmp_path / "wds")):
        loaded = [load_image_text_dataset(source, seed=3, process_index=rank, num_processes=2) for rank in (0, 1)]
        parts = [captions_of(data) for data in loaded]
        # Each process decodes only its own part, also where the shards do not divide among the processes.
        assert [data.skip_stats.snapshot()["seen"] for data in loaded] == [len(part) for part in parts]
        assert not set(parts[0]) & set(parts[1])
        assert sorted(parts[0] + parts[1]) == captions_of(load_image_text_dataset(source))
        assert abs(len(parts[0]) - len(parts[1])) <= 4


def test_shuffle_changes_per_epoch_and_repeats_within_one(tmp_path):
    data = load_image_text_dataset(table_of(tmp_path, 50), seed=1, shuffle_buffer=20)

    def order(epoch):
        data.dataset.set_epoch(epoch)
        return [s["caption"] for s in data.dataset]

    assert order(0) == order(0) and order(0) != order(1)
    assert sorted(order(1)) == sorted(order(0))


def test_shared_skip_stats(tmp_path):
    stats = SkipStats()
    write_images(tmp_path / "imgs", ["a.png"])
    path = write_jsonl(str(tmp_path / "t.jsonl"), [{"image": "imgs/a.png", "caption": ""}])
    list(load_image_text_dataset(path, skip_stats=stats).dataset)
    list(load_image_text_dataset(path, skip_stats=stats).dataset)
    assert stats.snapshot()["empty_caption"] == 2


def test_accelerate_prepare_splits_an_unsplit_stream(tmp_path):
    """accelerate, when it prepares a loader (dispatch_batches=False), shards an unsplit stream by
    itself; a stream already split by node would be split twice. FSCTrainer therefore builds its own
    loader over the split stream (tests/test_trainer.py checks the two-process step)."""
    from accelerate.data_loader import prepare_data_loader

    data = load_image_text_dataset(table_of(tmp_path, 40), seed=0, shuffle_buffer=8)
    parts = []
    for rank in (0, 1):
        loader = torch.utils.data.DataLoader(data.dataset, batch_size=4,
                                             collate_fn=lambda batch: [s["caption"] for s in batch])
        loader = prepare_data_loader(loader, num_processes=2, process_index=rank, dispatch_batches=False,
                                     put_on_device=False)
        loader.set_epoch(0)
        parts.append([c for batch in loader for c in batch])
    assert not set(parts[0]) & set(parts[1]) and len(parts[0]) + len(parts[1]) == 40


# --------------------------------------------------------------------------- epochs: tables permuted, shards shuffled

def test_a_table_is_permuted_in_full_each_epoch_identically_across_processes(tmp_path):
    """Rows listing each image's five captions one after the other (as COCO tables do) are spread over
    the whole epoch: no buffer of nearby rows holds them together."""
    write_images(tmp_path / "imgs", ["a.png"])
    path = write_jsonl(str(tmp_path / "t.jsonl"), [{"image": "imgs/a.png", "caption": f"image {i // 5} caption {i % 5}"}
                                                   for i in range(300)])

    def order(data, epoch):
        data.dataset.set_epoch(epoch)
        return [s["caption"] for s in data.dataset]

    data = load_image_text_dataset(path, seed=7, shuffle_buffer=10)
    epochs = [order(data, e) for e in range(3)]
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 3 and order(data, 1) == epochs[1]
    first = [int(caption.split()[1]) for caption in epochs[0][:30]]
    assert max(first) - min(first) > 40  # a buffer of 10 rows would keep them within a few images
    assert len(set(first)) > 20  # few images twice among 30 rows
    assert order(load_image_text_dataset(path, seed=8, shuffle_buffer=10), 0) != epochs[0]
    for epoch in (0, 2):
        parts = [order(load_image_text_dataset(path, seed=7, process_index=r, num_processes=2), epoch) for r in (0, 1)]
        assert not set(parts[0]) & set(parts[1]) and sorted(parts[0] + parts[1]) == sorted(epochs[0])
        # one permutation dealt to the two processes, row by row
        assert [c for pair in zip(*parts) for c in pair] == epochs[epoch]


def test_shards_are_reshuffled_per_epoch_then_read_one_at_a_time_into_the_buffer(tmp_path):
    write_seed_shards(tmp_path, "wds", n_shards=4, per_shard=8, stats=False)
    data = load_image_text_dataset(str(tmp_path), seed=2, shuffle_buffer=6)
    firsts = []
    for epoch in range(4):
        data.dataset.set_epoch(epoch)
        captions = [s["caption"] for s in data.dataset]
        shards = [c.split()[-1][:5] for c in captions]
        assert len(set(shards[:3])) == 1  # the buffer's first draw holds one shard only
        firsts.append(shards[0])
    assert len(set(firsts)) > 1  # the shard order changes with the epoch


# --------------------------------------------------------------------------- counts

def test_a_shard_cut_at_a_member_header_is_corrupt_and_its_lost_samples_are_counted(tmp_path):
    samples = [good_sample(f"c{i}", f"cut {i}") for i in range(5)]
    path = write_tar(str(tmp_path / "00000.tar"), samples)
    with tarfile.open(path) as archive:
        header = next(m.offset for m in archive.getmembers() if m.name == "c2.txt")  # sample c2's second member
    with open(path, "r+b") as f:
        f.truncate(header)
    (tmp_path / "00000_stats.json").write_text(json.dumps({"successes": 5}))
    write_seed_shards(tmp_path / "next", "next", n_shards=1, per_shard=2)
    data = load_image_text_dataset([path, str(tmp_path / "next" / "00000.tar")], shuffle_buffer=0)
    assert captions_of(data) == ["cut 0", "cut 1", "next caption 000000000", "next caption 000000001"]
    counts = only_nonzero(data.skip_stats.snapshot())
    # c2 (cut after its image), c3 and c4 are lost; corrupt_shard counts the shard
    assert counts == {"seen": 7, "corrupt_shard": 1, "lost_in_shard": 3}


def test_the_caption_source_is_decided_per_sample(tmp_path):
    jpg = image_bytes(fmt="JPEG")
    write_tar(str(tmp_path / "s.tar"), [
        good_sample("k0", "from txt"),
        ("k1", {"jpg": jpg, "json": json.dumps({"key": "k1", "caption": "from json"}).encode()}),
        ("k2", {"jpg": jpg, "json": b"{}"}),
    ])
    data = load_image_text_dataset(str(tmp_path / "s.tar"), shuffle_buffer=0)
    assert captions_of(data) == ["from json", "from txt"]
    assert only_nonzero(data.skip_stats.snapshot()) == {"seen": 3, "missing_caption": 1}


def test_oversized_and_empty_members(tmp_path):
    write_tar(str(tmp_path / "s.tar"), [good_sample("k0", "small enough"),
                                        ("k1", {"bmp": image_bytes(size=(200, 200), fmt="BMP"), "txt": b"too big"}),
                                        ("k2", {"jpg": b"", "txt": b"zero bytes"})])
    data = load_image_text_dataset(str(tmp_path / "s.tar"), shuffle_buffer=0, max_image_bytes=10_000)
    assert captions_of(data) == ["small enough"]
    assert only_nonzero(data.skip_stats.snapshot()) == {"seen": 3, "file_too_large": 1, "empty_file": 1}


def test_jsonl_bad_lines_are_counted_in_every_epoch_they_pass(tmp_path):
    write_images(tmp_path / "imgs", ["a.png"])
    path = write_jsonl(str(tmp_path / "t.jsonl"), [{"image": "imgs/a.png", "caption": "good"}])
    with open(path, "a") as f:
        f.write("[1, 2]\n{broken\n")
    data = load_image_text_dataset(path)
    assert data.skip_stats.snapshot()["bad_row"] == 0  # nothing is counted before the stream passes it
    for epoch in range(2):
        data.dataset.set_epoch(epoch)
        list(data.dataset)
        assert data.skip_stats.snapshot()["bad_row"] == 2 * (epoch + 1)


def test_a_huge_csv_field_and_a_deeply_nested_negatives_cell_cost_nothing(tmp_path):
    write_images(tmp_path / "imgs", ["a.png"])
    long_caption = "a red circle " * 20_000  # 260,000 characters: over the csv module's default limit
    (tmp_path / "t.csv").write_text(f"image,caption\nimgs/a.png,{long_caption}\nimgs/a.png,short\n")
    data = load_image_text_dataset(str(tmp_path / "t.csv"), shuffle_buffer=0)
    assert len(captions_of(data)) == 2
    tsv = "filepath\ttitle\tneg_caption\nimgs/a.png\ta cat\t" + "[" * 1000 + "\nimgs/a.png\ta dog\t['a god']\n"
    (tmp_path / "t.tsv").write_text(tsv)
    data = load_image_text_dataset(str(tmp_path / "t.tsv"), image_column="filepath", caption_column="title",
                                   negatives_column="neg_caption", shuffle_buffer=0)
    assert sorted((s["caption"], s["negatives"]) for s in data.dataset) == [("a cat", []), ("a dog", ["a god"])]


def test_image_paths_that_leave_their_root_are_refused_unless_allowed(tmp_path):
    outside = write_image(str(tmp_path / "outside.png"))
    write_images(tmp_path / "ann/imgs", ["a.png"])
    rows = [{"image": "imgs/a.png", "caption": "inside"}, {"image": "../outside.png", "caption": "climbs out"},
            {"image": outside, "caption": "absolute"}, {"image": "imgs/../imgs/a.png", "caption": "stays inside"}]
    path = write_jsonl(str(tmp_path / "ann/t.jsonl"), rows)
    data = load_image_text_dataset(path, shuffle_buffer=0)
    assert captions_of(data) == ["inside", "stays inside"]
    assert only_nonzero(data.skip_stats.snapshot()) == {"seen": 4, "path_outside_root": 2}
    data = load_image_text_dataset(path, shuffle_buffer=0, allow_paths_outside_root=True)
    assert captions_of(data) == ["absolute", "climbs out", "inside", "stays inside"]
    only_outside = write_jsonl(str(tmp_path / "ann/bad.jsonl"), rows[1:3])
    with pytest.raises(ValueError, match="bad.jsonl: no usable row.*allow_paths_outside_root"):
        load_image_text_dataset(only_outside)
