"""ImageCoDe (Krojer et al., ACL 2022; github.com/McGill-NLP/imagecode), validation split.

Layout under ``data_root``::

    imagecode/valid_data.json             {image_set: {image_index: description}}
    imagecode/image-sets/<image_set>/img<k>.jpg   the ten images of each set (image-sets.zip)

Each description against the ten images of its set (caption → images); the true image is
``img<image_index>``. Subsets ``static`` (sets from Open Images) and ``video`` (video frames); ImageCoDe =
the accuracy over all descriptions, as the benchmark reports it (which is also how the FSC-CLIP
evaluation's figure is made up from its two parts).
"""

from __future__ import annotations

import os
import re

from ..images import ImageFile
from ..items import FIRST, BenchmarkData, ImageChoice
from .base import Benchmark, pooled_accuracy, read_json

_INDEX = re.compile(r"(\d+)")


class ImageCoDe(Benchmark):
    name, title, family, folder = "imagecode", "ImageCoDe", "comp", "imagecode"
    download = ("Get data/valid_data.json of github.com/McGill-NLP/imagecode into imagecode/ and "
                "image-sets.zip (https://zenodo.org/record/6518944/files/image-sets.zip) unzipped into imagecode/.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        annotation, image_sets = os.path.join(root, "valid_data.json"), os.path.join(root, "image-sets")
        self.require(data_root, [annotation, image_sets])
        data = BenchmarkData()
        for image_set, descriptions in read_json(annotation).items():
            folder = os.path.join(image_sets, image_set)
            # Images are img0.jpg ... img9.jpg; ordered by their number, not as text (img10 > img9).
            names = sorted((n for n in os.listdir(folder) if n.endswith(".jpg")),
                           key=lambda n: int(_INDEX.search(n).group(1)))
            images = [ImageFile(os.path.join(folder, name)) for name in names]
            subset = "static" if "open-images" in image_set else "video"
            data.image_choices.extend(ImageChoice(subset=subset, caption=text.strip(), images=images,
                                                  answer=int(index), ties=FIRST)
                                      for index, text in descriptions.items())
        return data

    def summarise(self, scores):
        subsets = {subset: values["accuracy"] for subset, values in scores.items()}
        return subsets, pooled_accuracy(scores, scores)
