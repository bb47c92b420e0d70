"""Batched training pixels: the image processor's values bit for bit, shared memory in workers, bad input."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPImageProcessorPil

from fsc_clip_hf.data.pixels import views_to_pixel_values
from fsc_clip_hf.image_processing import open_clip_image_processor


def views(count=5, size=(24, 16), seed=0):
    rng = np.random.default_rng(seed)
    images = [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(count)]
    # every uint8 value in every channel, so the whole table of the rescale and normalisation is compared
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8).reshape(16, 16)[:, :, None], (16, 16, 3))
    images.append(Image.fromarray(np.ascontiguousarray(ramp)).resize(size, Image.Resampling.NEAREST))
    images.append(Image.fromarray(np.ascontiguousarray(ramp[:, :, ::-1])).resize(size, Image.Resampling.NEAREST))
    return images


@pytest.mark.parametrize("processor", [
    CLIPImageProcessorPil(),  # openai's mean and std
    CLIPImageProcessorPil(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]),
    open_clip_image_processor(16),
], ids=["transformers", "transformers-0.5", "open_clip"])
def test_equal_to_the_processor_bit_for_bit(processor):
    images = views()
    expected = processor(images=images, return_tensors="pt", do_resize=False, do_center_crop=False)["pixel_values"]
    got = views_to_pixel_values(images, processor)
    assert got.shape == (7, 3, 16, 24) and got.dtype == torch.float32 and got.is_contiguous()
    assert torch.equal(got, expected)


def test_every_uint8_value_matches_with_an_odd_rescale_factor():
    images = views(count=0, size=(16, 16))
    processor = CLIPImageProcessorPil(rescale_factor=1 / 127.5, do_normalize=False)
    expected = processor(images=images, return_tensors="pt", do_resize=False, do_center_crop=False)["pixel_values"]
    assert torch.equal(views_to_pixel_values(images, processor), expected)
    assert float(expected.max()) == pytest.approx(2.0)


def test_views_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match=r"share one size.*\(16, 16\), \(24, 16\)"):
        views_to_pixel_values([Image.new("RGB", (24, 16)), Image.new("RGB", (16, 16))], CLIPImageProcessorPil())


def test_greyscale_view_is_converted():
    grey = Image.new("L", (8, 8), 128)
    processor = CLIPImageProcessorPil()
    expected = processor(images=[grey.convert("RGB")], return_tensors="pt", do_resize=False,
                         do_center_crop=False)["pixel_values"]
    assert torch.equal(views_to_pixel_values([grey], processor), expected)


class _Views(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return views(count=1, seed=i)[0]


def _collate(images):
    values = views_to_pixel_values(images, CLIPImageProcessorPil())
    return values, values.is_shared()


def test_worker_output_is_created_in_shared_memory():
    loader = torch.utils.data.DataLoader(_Views(), batch_size=2, num_workers=1, collate_fn=_collate)
    (values, shared_in_worker), = list(loader)
    assert shared_in_worker  # written there directly, so sending it is no copy
    assert torch.equal(values, _collate([_Views()[0], _Views()[1]])[0])
    assert not _collate([_Views()[0]])[1]  # the main process keeps ordinary memory
