"""Safe decoding of images and captions: every failure is a typed reason, odd modes become RGB."""

import os

import numpy as np
import pytest
from helpers.data_fixtures import image_bytes, png_declaring, truncated_jpeg
from PIL import Image

from fsc_clip_hf.data.images import decode_image
from fsc_clip_hf.data.skips import BadSample, SkipStats, difference, format_counts


@pytest.mark.parametrize("mode,fmt", [("L", "PNG"), ("LA", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("1", "PNG"),
                                      ("CMYK", "JPEG"), ("I;16", "PNG"), ("L", "JPEG")])
def test_odd_modes_become_rgb(mode, fmt):
    image, converted = decode_image(image_bytes(mode, fmt=fmt))
    assert image.mode == "RGB" and image.size == (24, 20)
    assert converted


def test_sixteen_bit_is_rescaled_not_clipped():
    image, _ = decode_image(image_bytes("I;16"))
    values = np.unique(np.asarray(image)[..., 0])
    assert values.max() > 200 and len(values) > 50  # convert("L") would give a single white value


def test_transparency_composited_on_white():
    rgba = Image.new("RGBA", (16, 16), (255, 0, 0, 0))
    image, converted = decode_image(rgba)
    assert converted and image.getpixel((0, 0)) == (255, 255, 255)


def test_rgb_sources_bytes_path_and_dict(tmp_path):
    data = image_bytes(fmt="JPEG")
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    for source in (data, str(path), {"bytes": data, "path": None}, {"bytes": None, "path": str(path)}):
        image, converted = decode_image(source)
        assert image.mode == "RGB" and not converted


@pytest.mark.parametrize("source,reason", [
    (b"not an image at all", "undecodable_image"),
    (truncated_jpeg(), "truncated_image"),
    (image_bytes(size=(200, 150))[:-400], "truncated_image"),  # a PNG cut in its pixel data
    (b"", "empty_file"),
    ({"bytes": b"", "path": "shard.tar:key.jpg"}, "empty_file"),  # a zero-byte tar member
    (None, "missing_image"),
    ({"bytes": None, "path": None}, "missing_image"),
    ("/nonexistent/x.jpg", "missing_file"),
    (image_bytes(size=(4, 40)), "image_too_small"),
    (png_declaring(7000, 7000), "decompression_bomb"),  # 49 MP: above our 40 MP cap
    (png_declaring(100_000, 100_000), "decompression_bomb"),  # PIL's own bomb error, mapped
])
def test_failures_have_typed_reasons(source, reason):
    with pytest.raises(BadSample) as caught:
        decode_image(source)
    assert caught.value.reason == reason


def test_only_regular_files_under_the_size_cap_are_opened(tmp_path):
    """/dev/zero would be read forever, a FIFO would block: neither is opened."""
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "folder.jpg").mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    with open(tmp_path / "huge.jpg", "wb") as f:  # sparse: 300 MB of nothing on disk
        f.truncate(300 << 20)
    (tmp_path / "small.png").write_bytes(image_bytes())
    os.symlink("/dev/zero", tmp_path / "zero.jpg")
    cases = {"/dev/zero": "not_a_file", str(tmp_path / "zero.jpg"): "not_a_file",
             str(tmp_path / "fifo.jpg"): "not_a_file", str(tmp_path / "folder.jpg"): "not_a_file",
             str(tmp_path / "empty.jpg"): "empty_file", str(tmp_path / "huge.jpg"): "file_too_large"}
    for path, reason in cases.items():
        with pytest.raises(BadSample) as caught:
            decode_image(path)
        assert caught.value.reason == reason, path
    with pytest.raises(BadSample, match="file_too_large"):
        decode_image(str(tmp_path / "small.png"), max_bytes=100)
    assert decode_image(str(tmp_path / "small.png"))[0].size == (24, 20)


def test_draft_decodes_big_jpeg_smaller():
    data = image_bytes(size=(400, 300), fmt="JPEG")
    full, _ = decode_image(data)
    small, _ = decode_image(data, draft_size=100)
    assert full.size == (400, 300) and small.size[1] >= 100 and small.size[0] < 400


def test_skip_stats_counts_and_summary():
    stats = SkipStats()
    before = stats.snapshot()
    stats.seen(10)
    stats.count("truncated_image", n=2)
    stats.count("image_mode_converted")
    counts = difference(stats.snapshot(), before)
    assert counts["seen"] == 10 and counts["truncated_image"] == 2
    line = format_counts(counts)
    assert "10 samples seen" in line and "skipped 2 (20.00%) [truncated_image=2]" in line
    assert "repaired 1 (10.00%) [image_mode_converted=1]" in line
    with pytest.raises(ValueError):
        BadSample("no_such_reason")
