"""The JPEG training path: EXIF orientation, no needless copies, and draft decoding as a training option."""

import io
import random

import numpy as np
import pytest
from helpers.data_fixtures import write_tar
from helpers.repo import RECIPES
from PIL import Image

from fsc_clip_hf.data import load_image_text_dataset
from fsc_clip_hf.data.augment import random_resized_crop_box
from fsc_clip_hf.data.images import decode_image
from fsc_clip_hf.training.recipes import load_recipe, parse_args


def photo(width=160, height=120, seed=0) -> Image.Image:
    """A smooth colour field with mild grain: what draft decoding is meant for."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray(rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)).resize((width, height),
                                                                                  Image.Resampling.BICUBIC)
    grain = rng.normal(0, 3, (height, width, 1))
    return Image.fromarray(np.clip(np.asarray(field, dtype=np.float64) + grain, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    stored = Image.new("RGB", (40, 20), (250, 0, 0))
    stored.paste((0, 0, 250), (0, 0, 10, 20))  # blue on the left of the stored pixels
    upright, _ = decode_image(jpeg(stored, orientation=6))  # 6: the camera was turned; rotate 90° clockwise
    assert upright.size == (20, 40)
    top, bottom = upright.getpixel((10, 2)), upright.getpixel((10, 37))
    assert top[2] > 200 and top[0] < 60 and bottom[0] > 200  # the stored left edge is now the top
    for orientation in (None, 1, 0, 9):  # absent, upright, or out of range: the pixels as stored
        image, _ = decode_image(jpeg(stored, orientation))
        assert image.size == (40, 20) and image.getpixel((2, 10))[2] > 200


def test_an_upright_rgb_jpeg_is_decoded_without_a_copy(monkeypatch):
    copies = []
    original = Image.Image.copy
    monkeypatch.setattr(Image.Image, "copy", lambda self: copies.append(self.size) or original(self))
    image, converted = decode_image(jpeg(photo(), orientation=1))
    assert image.mode == "RGB" and not converted
    assert copies == []  # exif_transpose and convert("RGB") would each copy the whole image


def test_draft_option_parses_and_the_published_recipes_decode_fully():
    base = ["--output_dir", "unused", "--use_cpu", "true", "--train_data", "corpus.csv", "--loss_name", "clip"]
    assert parse_args([*base, "--image_draft_size", "224"]).image_draft_size == 224
    assert parse_args(base).image_draft_size is None
    with pytest.raises(ValueError, match="image_draft_size: 0 is below 1"):
        parse_args([*base, "--image_draft_size", "0"])
    published = sorted(p.stem for p in RECIPES.glob("*.yaml") if not p.stem.startswith("demo"))
    assert len(published) == 18
    for name in published:
        assert load_recipe(f"{name}.yaml").get("image_draft_size") is None, name  # the authors decode fully


@pytest.mark.parametrize("draft,expected", [(None, (160, 120)), (60, (80, 60)), (61, (160, 120)), (16, (40, 30)),
                                            (15, (20, 15))])
def test_draft_size_reaches_the_decoder_through_the_source(tmp_path, draft, expected):
    samples = [(f"{i:03d}", {"jpg": jpeg(photo(seed=i)), "txt": f"photo {i}".encode()}) for i in range(3)]
    shard = write_tar(str(tmp_path / "s.tar"), samples)
    data = load_image_text_dataset(shard, shuffle_buffer=0, image_draft_size=draft)
    sizes = [s["image"].size for s in data.dataset]
    # The smallest DCT scale (1/2, 1/4, 1/8) that keeps both sides >= draft: for 61, 120/2 = 60 is too small.
    assert sizes == [expected] * 3


def test_draft_view_is_close_to_the_full_view_after_the_crop():
    """The same crop box cut from the full decode and, scaled, from the half-scale draft, both resized."""
    data = jpeg(photo(320, 240, seed=4))
    full, _ = decode_image(data)
    small, _ = decode_image(data, draft_size=100)
    assert small.size == (160, 120)
    left, top, w, h = random_resized_crop_box(320, 240, random.Random(0))
    view = np.asarray(full.resize((64, 64), Image.Resampling.BICUBIC, box=(left, top, left + w, top + h)), float)
    draft = np.asarray(small.resize((64, 64), Image.Resampling.BICUBIC,
                                    box=(left / 2, top / 2, (left + w) / 2, (top + h) / 2)), float)
    shifted = np.asarray(full.resize((64, 64), Image.Resampling.BICUBIC, box=(0, 0, w, h)), float)
    assert np.abs(view - draft).mean() < 1.5  # 0-255 levels
    assert np.abs(view - shifted).mean() > 3 * np.abs(view - draft).mean()  # the comparison can tell crops apart
