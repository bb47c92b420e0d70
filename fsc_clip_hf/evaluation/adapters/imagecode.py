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

Every set has ten images. A set whose folder is missing or holds another number of ``img<k>.jpg``
files (an interrupted unzip), and a description whose index is not one of its set's ten, cost only
those descriptions: they are skipped and counted in the notes, never the benchmark.
"""

from __future__ import annotations

import os
import re

from ..images import ImageFile
from ..items import BenchmarkData, ImageChoice
from .base import Benchmark, pooled_accuracy, read_json

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
        data, skipped = BenchmarkData(), {"missing": [], "incomplete": [], "index": 0}
        for image_set, descriptions in read_json(annotation).items():
            images = self._images(os.path.join(image_sets, image_set))
            if images is None or len(images) != SET_SIZE:
                skipped["missing" if images is None else "incomplete"].append((image_set, len(descriptions)))
                continue
            subset = "static" if "open-images" in image_set else "video"
            for index, text in descriptions.items():
                if not (str(index).isdigit() and int(index) < SET_SIZE):
                    skipped["index"] += 1
                    continue
                data.image_choices.append(ImageChoice(subset=subset, caption=text.strip(), images=images,
                                                      answer=int(index)))
        if not data.image_choices:  # not one set there: the images were never unzipped
            raise self.missing(data_root, [os.path.join(image_sets, next(iter(skipped["missing"]), ("?",))[0])])
        data.notes.extend(_skip_notes(skipped))
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


def _skip_notes(skipped: dict) -> list[str]:
    notes = []
    for kind, reason in (("missing", "image set not in image-sets/"),
                         ("incomplete", f"image set without its {SET_SIZE} images")):
        if skipped[kind]:
            count = sum(descriptions for _, descriptions in skipped[kind])
            notes.append(f"{count} descriptions skipped: {reason} ({len(skipped[kind])} sets, e.g. "
                         f"{[image_set for image_set, _ in skipped[kind][:3]]})")
    if skipped["index"]:
        notes.append(f"{skipped['index']} descriptions skipped: image index not one of its set's {SET_SIZE}")
    return notes
