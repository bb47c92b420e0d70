"""Corpora with every kind of bad sample, in a CSV and in WebDataset shards, with the counts each must give."""

from __future__ import annotations

import json
import os
import tarfile

from .data_fixtures import good_sample, image_bytes, png_declaring, truncated_jpeg, write_image, write_tar

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
