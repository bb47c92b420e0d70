"""SPEC (Peng et al., CVPR 2024; github.com/wjpoom/SPEC, data on the Hub as ``wjpoom/SPEC``).

Layout under ``data_root`` (``data.zip`` of the dataset repository, unzipped)::

    spec/<subset>/image2text.json    [{query: image path, keys: [captions], label: true caption index}, ...]
    spec/<subset>/text2image.json    [{query: caption, keys: [image paths], label: true image index}, ...]
    spec/<subset>/...                the images, paths relative to the subset folder

for the six subsets absolute_size, relative_size, absolute_spatial, relative_spatial, existence, count
(a ``spec/data/<subset>/`` level, as the zip may unpack, is accepted too). Each subset is scored both
ways: image → captions (``<subset>/i2t``) and caption → images (``<subset>/t2i``). SPEC = the mean of the
twelve, i.e. of SPEC's own two averages (image-to-text and text-to-image over the subsets). Uncertain:
the FSC-CLIP evaluation does not say how it folds SPEC into one number; this is the plain mean.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import BenchmarkData, ImageChoice, TextChoice
from .base import Benchmark, absent, mean, read_json

SUBSETS = ("absolute_size", "relative_size", "absolute_spatial", "relative_spatial", "existence", "count")


class SPEC(Benchmark):
    name, title, family, folder = "spec", "SPEC", "comp", "spec"
    download = ("Download data.zip of the Hub dataset wjpoom/SPEC (huggingface-cli download wjpoom/SPEC data.zip "
                "--repo-type dataset) and unzip it into spec/ (one folder per subset).")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        if os.path.isdir(os.path.join(root, "data")) and not os.path.isdir(os.path.join(root, SUBSETS[0])):
            root = os.path.join(root, "data")
        data = BenchmarkData()
        for subset in SUBSETS:
            folder = os.path.join(root, subset)
            files = [os.path.join(folder, "image2text.json"), os.path.join(folder, "text2image.json")]
            if lacking := absent(files):
                data.missing.extend(lacking)
                continue
            data.text_choices.extend(
                TextChoice(subset=f"{subset}/i2t", image=ImageFile(os.path.join(folder, case["query"])),
                           captions=list(case["keys"]), answer=int(case["label"]))
                for case in read_json(files[0])
            )
            data.image_choices.extend(
                ImageChoice(subset=f"{subset}/t2i", caption=case["query"],
                            images=[ImageFile(os.path.join(folder, key)) for key in case["keys"]],
                            answer=int(case["label"]))
                for case in read_json(files[1])
            )
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {f"{subset}/{way}": scores[f"{subset}/{way}"]["accuracy"] for subset in SUBSETS
                   for way in ("i2t", "t2i") if f"{subset}/{way}" in scores}
        return subsets, mean(subsets.get(f"{subset}/{way}") for subset in SUBSETS for way in ("i2t", "t2i"))
