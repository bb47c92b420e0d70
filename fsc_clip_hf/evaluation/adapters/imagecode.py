"""ImageCoDe (Krojer et al., ACL 2022; github.com/McGill-NLP/imagecode), validation split.

Layout under ``data_root``::

    imagecode/valid_data.json             {image_set: {image_index: description}}
    imagecode/image-sets/<image_set>/img<k>.jpg   the ten images of each set (image-sets.zip)

Each description against the ten images of its set (caption → images); the true image is the
``image_index``-th of the set's images ordered by their number, as the official evaluation
(``baselines/clip/zero_shot.py``) indexes them: video sets name frames by frame number (``img0``,
``img7``, ...), so the number is not the position. Subsets ``static`` (sets from Open Images) and
``video`` (video frames); ImageCoDe = the accuracy over all descriptions, as the benchmark reports it
(which is also how the FSC-CLIP evaluation's figure is made up from its two parts).

Ties go to the first image (the official code takes the top of an ``argsort``). Every set has ten
images: a description whose set folder is missing or holds another number of ``img<k>.jpg`` files (an
interrupted unzip) is skipped as ``image_absent``, one whose index is not one of its set's ten as
``malformed``; each costs only itself, never the benchmark.
"""

from __future__ import annotations

import os
import re

from ..images import ImageFile
from ..items import FIRST, IMAGE_ABSENT, MALFORMED, BenchmarkData, ImageChoice
from .base import Benchmark, Malformed, Skip, collect, pooled_accuracy, read_json_dict, text

_IMAGE = re.compile(r"img(\d+)\.jpg")
SET_SIZE = 10


class ImageCoDe(Benchmark):
    name, title, family, folder = "imagecode", "ImageCoDe", "comp", "imagecode"
    download = ("Get data/valid_data.json of github.com/McGill-NLP/imagecode into imagecode/ and "
                "image-sets.zip (https://zenodo.org/record/6518944/files/image-sets.zip) unzipped into imagecode/.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        annotation, image_sets = os.path.join(root, "valid_data.json"), os.path.join(root, "image-sets")
        self.require(data_root, [annotation, image_sets])
        data = BenchmarkData()
        for image_set, descriptions in read_json_dict(annotation).items():
            subset = "static" if "open-images" in image_set else "video"
            if not isinstance(descriptions, dict):
                data.skips.add(subset, MALFORMED, f"{annotation} [{image_set}]: not an object of descriptions")
                continue
            images = self._images(os.path.join(image_sets, image_set))

            def description(record, images=images, subset=subset):
                index, caption = record
                if images is None or len(images) != SET_SIZE:
                    raise Skip(IMAGE_ABSENT)
                if not (isinstance(index, str) and index.isdigit() and int(index) < SET_SIZE):
                    raise Malformed(f"image index {index!r} is not one of the set's {SET_SIZE}")
                return ImageChoice(subset=subset, caption=text(caption).strip(), images=images, answer=int(index),
                                   ties=FIRST)

            collect(data, annotation, ((f"{image_set} {index}", (index, caption))
                                       for index, caption in descriptions.items()), description, subset=subset)
        if not data.image_choices and data.skips.by_reason()[IMAGE_ABSENT]:  # the image sets were never unzipped
            raise self.missing(data_root, [image_sets])
        return data

    @staticmethod
    def _images(folder: str) -> list[ImageFile] | None:
        """The set's images ordered by their number (img10 after img9), or None when the folder is absent."""
        if not os.path.isdir(folder):
            return None
        numbered = [(int(match.group(1)), name) for name in os.listdir(folder) if (match := _IMAGE.fullmatch(name))]
        return [ImageFile(os.path.join(folder, name)) for _, name in sorted(numbered)]

    def summarise(self, scores):
        subsets = {subset: values["accuracy"] for subset, values in scores.items()}
        return subsets, pooled_accuracy(scores, scores)
