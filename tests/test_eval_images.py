"""Benchmark images: decoded as open_clip's evaluation does, but 16-bit greyscale rescaled as in training."""

import io
import json
import os
import tarfile

import numpy as np
import pytest
from helpers.data_fixtures import image_bytes
from PIL import Image

from fsc_clip_hf.data.images import decode_image
from fsc_clip_hf.data.skips import BadSample
from fsc_clip_hf.evaluation.images import ImageBytes, ImageFile, TarMember


def test_sixteen_bit_greyscale_is_rescaled_as_in_training_not_clipped_to_white(tmp_path):
    data = image_bytes("I;16")
    path = tmp_path / "deep.png"
    path.write_bytes(data)
    assert Image.open(path).mode in ("I;16", "I")
    trained, _ = decode_image(data)
    for source in (ImageFile(str(path)), ImageBytes(data)):
        image = source.open()
        assert image.mode == "RGB"
        assert np.array_equal(np.asarray(image), np.asarray(trained))
        assert len(np.unique(np.asarray(image))) > 50  # convert("RGB") clips all but 0 to white
    assert set(np.unique(np.asarray(Image.open(path).convert("RGB")))) == {0, 255}


def test_the_rest_is_open_clips_decoding(tmp_path):
    """Transparent pixels keep their colour (convert("RGB") drops the alpha; training composites on white)."""
    buffer = io.BytesIO()
    Image.new("RGBA", (16, 16), (200, 10, 10, 0)).save(buffer, format="PNG")
    assert ImageBytes(buffer.getvalue()).open().getpixel((0, 0)) == (200, 10, 10)


def test_only_regular_files_of_bounded_size_are_opened(tmp_path):
    os.mkfifo(tmp_path / "fifo.png")
    for source in (ImageFile("/dev/zero"), ImageFile(str(tmp_path / "fifo.png"))):
        with pytest.raises(BadSample, match="not_a_file"):
            source.open()
    with tarfile.open(tmp_path / "s.tar", "w") as archive:
        info = tarfile.TarInfo("0.png")
        data = image_bytes()
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with tarfile.open(tmp_path / "s.tar") as archive:
        member = archive.getmember("0.png")
    assert TarMember(str(tmp_path / "s.tar"), "0.png", member.offset_data, member.size).open().size == (24, 20)
    with pytest.raises(BadSample, match="file_too_large"):
        TarMember(str(tmp_path / "s.tar"), "0.png", member.offset_data, 1 << 40).open()


def test_benchmark_image_paths_that_leave_their_folder_are_malformed_items(tmp_path):
    from fsc_clip_hf.evaluation.adapters.sugarcrepe import SugarCrepe

    (tmp_path / "coco" / "val2017").mkdir(parents=True)
    (tmp_path / "coco" / "val2017" / "a.jpg").write_bytes(image_bytes(fmt="JPEG"))
    (tmp_path / "sugarcrepe").mkdir()
    cases = {"0": {"filename": "a.jpg", "caption": "a cat", "negative_caption": "a dog"},
             "1": {"filename": "../../../etc/hostname", "caption": "a cat", "negative_caption": "a dog"},
             "2": {"filename": "/etc/hostname", "caption": "a cat", "negative_caption": "a dog"}}
    (tmp_path / "sugarcrepe" / "swap_att.json").write_text(json.dumps(cases))
    data = SugarCrepe().load(str(tmp_path))
    assert [item.image.path for item in data.text_choices] == [str(tmp_path / "coco" / "val2017" / "a.jpg")]
    assert data.skips.total("swap_att") == 2
    assert any("leaves" in example for example in sum(data.skips.examples.values(), []))
    assert any("absolute" in example for example in sum(data.skips.examples.values(), []))


def test_winoground_and_elevater_paths_that_leave_their_folder_are_skipped_and_counted(tmp_path):
    from fsc_clip_hf.evaluation.adapters.elevater import read_release
    from fsc_clip_hf.evaluation.adapters.winoground import Winoground

    folder = tmp_path / "winoground" / "data"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.png").write_bytes(image_bytes())
    rows = [{"image_0": "a", "image_1": "a", "caption_0": "x", "caption_1": "y"},
            {"image_0": "../../../etc/hostname", "image_1": "a", "caption_0": "x", "caption_1": "y"},
            {"image_0": "a", "image_1": None, "caption_0": "x", "caption_1": "y"}]
    (folder / "examples.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    data = Winoground().load(str(tmp_path))
    assert len(data.pairs) == 1 and data.skips.total("winoground") == 2
    assert any("leaves" in example for example in sum(data.skips.examples.values(), []))

    release = tmp_path / "release"
    (release / "test").mkdir(parents=True)
    (release / "test" / "a.png").write_bytes(image_bytes())
    (release / "test.txt").write_text("test/a.png 0\n../../etc/hostname 1\n/etc/hostname 0\n../x.zip@a.png 1\n")
    read = read_release(str(release), "test.txt")
    assert [image.path for image in read.images] == [str(release / "test" / "a.png")] and read.labels == [[0]]
    assert [entry.split(":")[0] for entry in read.refused] == ["../../etc/hostname", "/etc/hostname", "../x.zip@a.png"]
