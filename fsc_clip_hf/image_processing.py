"""An image processor whose pixels are open_clip's evaluation transform's, to the bit.

open_clip (and so the FSC-CLIP authors' evaluation) preprocesses a PIL image with torchvision:
``Resize(size)`` of the short side (bicubic, the long side ``int(size * long / short)``),
``CenterCrop(size)``, ``.convert("RGB")``, ``ToTensor()``, ``Normalize(mean, std)``. transformers'
``CLIPImageProcessor`` differs in two places: its centre crop floors the offset where torchvision
rounds it (half to even), one pixel apart for about a third of image sizes (resized long side ``L``
with ``(L - size) % 4 == 3``, e.g. COCO's 640×427), and it converts to RGB before resizing (RGBA by
compositing on white), where open_clip resizes the image in its own mode and then drops the alpha.

:class:`OpenCLIPImageProcessor` runs open_clip's steps in open_clip's order on PIL images. Saved, it is
an ordinary ``CLIPImageProcessor`` config with one more key, ``"open_clip_preprocess": true``: without
this package the folder still loads, as the standard processor; with it,
:func:`fsc_clip_hf.processor.load_processor` (used by training, ``recipes/eval.py`` and the converter)
and ``OpenCLIPImageProcessor.from_pretrained`` give open_clip's pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import CLIPImageProcessorPil
from transformers.image_processing_utils import BatchFeature
from transformers.image_transforms import to_pil_image

OPEN_CLIP_PREPROCESS = "open_clip_preprocess"  # the config key that asks for this processor


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """``(width, height)`` after torchvision's ``Resize(short_side)``: the long side is truncated, not rounded."""
    if width <= height:
        return short_side, int(short_side * height / width)
    return int(short_side * width / height), short_side


def crop_offset(size: int, crop: int) -> int:
    """torchvision's ``CenterCrop`` offset along one axis; negative where the crop is padded (with 0)."""
    if crop > size:
        return -((crop - size) // 2)
    return int(round((size - crop) / 2.0))  # round() is half to even, as in torchvision


class OpenCLIPImageProcessor(CLIPImageProcessorPil):
    """``CLIPImageProcessor`` with open_clip's ``preprocess_val`` pixels (see the module docstring).

    Only ``size={"shortest_edge": s}`` resizing is supported, as in open_clip. Inputs that are not PIL
    images (arrays, tensors) are turned into PIL images first.
    """

    model_input_names = ["pixel_values"]

    def __init__(self, **kwargs):
        kwargs.pop(OPEN_CLIP_PREPROCESS, None)
        super().__init__(**kwargs)

    def _preprocess_image_like_inputs(self, images, *args, **kwargs) -> BatchFeature:
        images = self._prepare_images_structure(images)
        pixels = [self._pixels(image if isinstance(image, Image.Image) else to_pil_image(image), **kwargs)
                  for image in images]
        return BatchFeature(data={"pixel_values": pixels}, tensor_type=kwargs.get("return_tensors"))

    def _pixels(self, image: Image.Image, *, do_resize, size, resample, do_center_crop, crop_size, do_convert_rgb,
                do_rescale, rescale_factor, do_normalize, image_mean, image_std, **_) -> np.ndarray:
        """One image as open_clip's transform makes it: (3, H, W) float32."""
        if do_resize:
            if not size.shortest_edge or size.longest_edge:
                raise ValueError(f"OpenCLIPImageProcessor resizes the short side only, got size={dict(size)}")
            target = resized_size(*image.size, size.shortest_edge)
            if target != image.size:  # torchvision returns an image of the requested size untouched
                image = image.resize(target, resample=Image.Resampling(int(resample)))
        if do_center_crop:
            left = crop_offset(image.width, crop_size.width)
            top = crop_offset(image.height, crop_size.height)
            # PIL fills a box reaching outside the image with zeros, as torchvision pads before cropping.
            image = image.crop((left, top, left + crop_size.width, top + crop_size.height))
        if do_convert_rgb:
            image = image.convert("RGB")
        # ToTensor then Normalize, in torch float32 with torchvision's operations and their order.
        array = np.array(image, dtype=np.uint8, copy=True)
        tensor = torch.from_numpy(array if array.ndim == 3 else array[:, :, None]).permute(2, 0, 1).contiguous()
        values = tensor.float()
        if do_rescale:
            values = values.div(255) if np.isclose(rescale_factor, 1 / 255) else values.mul(rescale_factor)
        if do_normalize:
            mean = torch.as_tensor(image_mean, dtype=values.dtype)[:, None, None]
            std = torch.as_tensor(image_std, dtype=values.dtype)[:, None, None]
            values = values.sub(mean).div(std)
        return values.numpy()

    def to_dict(self) -> dict[str, Any]:
        # Saved as the standard processor plus the marker, so that a folder loads without this package.
        config = super().to_dict()
        config["image_processor_type"] = "CLIPImageProcessor"
        config[OPEN_CLIP_PREPROCESS] = True
        return config


def open_clip_image_processor(image_size: int, mean=None, std=None) -> OpenCLIPImageProcessor:
    """open_clip's evaluation transform for ``image_size`` (openai's mean and std unless given)."""
    options = {"size": {"shortest_edge": image_size}, "crop_size": {"height": image_size, "width": image_size}}
    if mean is not None:
        options.update(image_mean=list(mean), image_std=list(std))
    return OpenCLIPImageProcessor(**options)
