"""Training views to ``pixel_values`` in one batched step, with the image processor's own values.

A training view (``augment.RandomResizedCrop``) is already at the model's input size, so of the image
processor only the rescale and the normalisation remain. transformers' processors do both per image
in numpy, which for 224 px views costs about as much as decoding the JPEG; here the batch is stacked
once and both run as whole-batch torch operations. The values are the processor's bit for bit (tested
against transformers' ``CLIPImageProcessorPil`` and open_clip's pixels, ``OpenCLIPImageProcessor``):
uint8 / 255 in float32 equals their float64 product rounded to float32 for all 256 values, and the
subtraction and division are the same IEEE float32 operations.

In a DataLoader worker the batch is written straight into shared memory, as torch's ``default_collate``
does: otherwise sending it to the main process copies it there once more.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

_ONE_255TH = 1 / 255


def _output(shape: tuple[int, ...]) -> torch.Tensor:
    """An uninitialised float32 tensor, in shared memory when this is a DataLoader worker."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=torch.float32)
    # What default_collate does: the storage is created shared, so the queue sends a handle, not a copy.
    storage = torch.empty(0, dtype=torch.float32)._typed_storage()._new_shared(math.prod(shape))
    return torch.empty(0, dtype=torch.float32).set_(storage).view(shape)


def views_to_pixel_values(images: list[Image.Image], image_processor) -> torch.Tensor:
    """``image_processor(images, do_resize=False, do_center_crop=False)["pixel_values"]``, batched.

    Args:
        images: B RGB PIL images of one size (H, W), e.g. the training transform's views.
        image_processor: a CLIP image processor; its ``do_rescale``, ``rescale_factor``,
            ``do_normalize``, ``image_mean`` and ``image_std`` are applied.

    Returns:
        (B, 3, H, W) float32.
    """
    sizes = {image.size for image in images}
    if len(sizes) != 1:
        raise ValueError(f"training views must share one size to be batched, got {sorted(sizes)}")
    width, height = sizes.pop()
    stacked = torch.from_numpy(np.stack([np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
                                         for image in images]))  # (B, H, W, 3) uint8
    values = _output((len(images), 3, height, width))
    values.copy_(stacked.permute(0, 3, 1, 2))
    if image_processor.do_rescale:
        factor = float(image_processor.rescale_factor)
        if factor == _ONE_255TH:
            values.div_(255)
        else:  # transformers' rescale: the product in float64, rounded to float32
            values.copy_(values.double().mul_(factor))
    if image_processor.do_normalize:
        mean = torch.as_tensor(image_processor.image_mean, dtype=torch.float32).view(-1, 1, 1)
        std = torch.as_tensor(image_processor.image_std, dtype=torch.float32).view(-1, 1, 1)
        values.sub_(mean).div_(std)
    return values
