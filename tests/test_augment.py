"""open_clip's training crop on PIL: torchvision's sampling rule, bicubic resize, per-sample seeds."""

import math
import pickle
import random

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPProcessor

from fsc_clip_hf.data import FSCCollator
from fsc_clip_hf.data.augment import RandomResizedCrop, build_train_transform, random_resized_crop_box
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world


def noise_image(width, height, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [(640, 480), (300, 300), (480, 640), (500, 400)])
def test_crop_boxes_follow_open_clips_scale_and_ratio(size):
    """Images whose own ratio lies within [3/4, 4/3] (others always take the central fallback)."""
    width, height = size
    boxes = [random_resized_crop_box(width, height, random.Random(seed)) for seed in range(2000)]
    shares = np.array([w * h / (width * height) for _, _, w, h in boxes])
    aspects = np.array([w / h for _, _, w, h in boxes])
    # Rounding w and h to pixels moves the share and the ratio by at most about one pixel's worth.
    slack = 1.5 * (width + height) / (width * height)
    assert shares.min() >= 0.9 - slack and shares.max() <= 1.0
    assert aspects.min() >= 3 / 4 - 2 / min(width, height) and aspects.max() <= 4 / 3 + 2 / min(width, height)
    for left, top, w, h in boxes:
        assert 0 <= left <= width - w and 0 <= top <= height - h
    # The draws spread over the allowed range rather than sitting on one value.
    # (A crop of at least 90 % of the area keeps close to the image's own ratio.)
    assert shares.min() < 0.92 and shares.max() > 0.98 and aspects.max() - aspects.min() > 0.05
    lefts = {left for left, _, w, _ in boxes if w < width}
    assert len(lefts) > 10


def test_crop_positions_are_uniform_over_the_free_range():
    # Where a box has room to move, its left edge, as a fraction of that room, is uniform: mean 1/2,
    # variance 1/12.
    fractions = []
    for seed in range(4000):
        left, _, w, _ = random_resized_crop_box(400, 400, random.Random(seed))
        if w < 390:
            fractions.append(left / (400 - w))
    fractions = np.array(fractions)
    assert len(fractions) > 1000
    assert abs(fractions.mean() - 0.5) < 0.03 and abs(fractions.var() - 1 / 12) < 0.01


class Upper:
    """A random source whose every draw is the top of its range: area share 1, ratio 4/3, so no box
    fits a square image and all ten tries fail."""

    def uniform(self, low, high):
        return high

    def randint(self, low, high):
        return high


@pytest.mark.parametrize("size, box", [
    ((1000, 100), (433, 0, 133, 100)),   # wider than 4/3: full height, width 4/3 of it, centred
    ((100, 1000), (0, 433, 100, 133)),   # taller than 3/4: full width, height 4/3 of it, centred
    ((500, 333), (28, 0, 444, 333)),     # 3:2 photos too; the fallback ignores the area bounds (88.8 %)
    ((200, 200), (0, 0, 200, 200)),      # ratio inside the bounds: the whole image
])
def test_the_central_fallback_when_no_try_fits(size, box):
    assert random_resized_crop_box(*size, Upper()) == box
    if size[0] != size[1]:  # no draw can fit such an elongated image: the fallback whatever the seed
        assert {random_resized_crop_box(*size, random.Random(seed)) for seed in range(50)} == {box}


def test_the_view_is_the_box_resized_with_bicubic():
    image = noise_image(96, 64)
    crop = RandomResizedCrop(32)
    for seed in range(5):
        left, top, w, h = random_resized_crop_box(96, 64, random.Random(seed))
        box = image.crop((left, top, left + w, top + h))
        view = crop(image, seed)
        assert view.size == (32, 32) and view.mode == "RGB"
        assert np.array_equal(np.asarray(view), np.asarray(box.resize((32, 32), Image.Resampling.BICUBIC)))
        assert not np.array_equal(np.asarray(view), np.asarray(box.resize((32, 32), Image.Resampling.BILINEAR)))


def test_the_same_seed_gives_the_same_view_and_seeds_differ():
    image = noise_image(120, 90)
    crop = RandomResizedCrop(48)
    views = [np.asarray(crop(image, seed)) for seed in (7, 7, 8)]
    assert np.array_equal(views[0], views[1]) and not np.array_equal(views[0], views[2])


def test_the_option_builds_the_transform():
    assert isinstance(build_train_transform("open_clip", 224), RandomResizedCrop)
    assert build_train_transform("open_clip", 224).size == 224
    assert build_train_transform("eval", 224) is None
    with pytest.raises(ValueError, match="train_transform='flip'"):
        build_train_transform("flip", 224)


@pytest.fixture(scope="module")
def processor(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_synthetic_world(str(root), seed=0, num_train=8, num_test=2, image_size=32, shard_size=8)
    return CLIPProcessor.from_pretrained(load_synthetic_world(str(root)).processor_dir)


def samples():
    return [{"image": noise_image(64 + 8 * i, 48, seed=i), "caption": f"a picture number {i}"} for i in range(4)]


def test_collator_views_depend_on_seed_epoch_and_sample_only(processor):
    """A sample's view is the same whatever batch (hence worker) it lands in; it changes with the epoch."""
    collator = FSCCollator(processor, train_transform=RandomResizedCrop(32), seed=3)
    batch = collator(samples())["pixel_values"]
    assert batch.shape == (4, 3, 32, 32)
    reordered = collator(samples()[::-1])["pixel_values"]
    single = torch.cat([collator([s])["pixel_values"] for s in samples()])
    assert torch.equal(reordered.flip(0), batch) and torch.equal(single, batch)
    assert torch.equal(pickle.loads(pickle.dumps(collator))(samples())["pixel_values"], batch)
    collator.set_epoch(1)
    assert not torch.equal(collator(samples())["pixel_values"], batch)
    other_seed = FSCCollator(processor, train_transform=RandomResizedCrop(32), seed=4)
    assert not torch.equal(other_seed(samples())["pixel_values"], batch)


def test_collator_normalises_the_view_without_resizing_it_again(processor):
    crop = RandomResizedCrop(32)
    collator = FSCCollator(processor, train_transform=crop, seed=0)
    sample = samples()[0]
    pixels = collator([sample])["pixel_values"][0]
    view = np.asarray(crop(sample["image"], collator._view_seed(0, sample["image"], sample["caption"])))
    ip = processor.image_processor
    expected = (view / 255.0 - np.array(ip.image_mean)) / np.array(ip.image_std)
    torch.testing.assert_close(pixels, torch.tensor(expected.transpose(2, 0, 1), dtype=torch.float32),
                               atol=1e-5, rtol=0)
    # The evaluation path resizes the short side and centre-crops instead: a different image.
    assert not torch.allclose(FSCCollator(processor)([sample])["pixel_values"][0], pixels, atol=1e-3)
    assert math.isclose(crop.scale[0], 0.9) and crop.ratio == (3 / 4, 4 / 3)
