"""SPEC (Peng et al., CVPR 2024; github.com/wjpoom/SPEC, data on the Hub as ``wjpoom/SPEC``).

Layout under ``data_root`` (``data.zip`` of the dataset repository, unzipped)::

    spec/<subset>/image2text.json    [{query: image path, keys: [captions], label: true caption index}, ...]
    spec/<subset>/text2image.json    [{query: caption, keys: [image paths], label: true image index}, ...]
    spec/<subset>/...                the images, paths relative to the subset folder

for the six subsets absolute_size, relative_size, absolute_spatial, relative_spatial, existence, count
(a ``spec/data/<subset>/`` level, as the zip may unpack, is accepted too). Each subset is scored both
ways: image → captions (``<subset>/i2t``) and caption → images (``<subset>/t2i``). SPEC = the mean of the
twelve, i.e. of SPEC's own two averages (image-to-text and text-to-image over the subsets). Scored as
SPEC's ``evaluate``: ``argmax`` over the candidates, right when it is ``label`` (a tie goes to the first
candidate listed). The 202-model study has no SPEC; the FSC-CLIP table's SPEC figures (e.g. coco_b32's
34.19 = 1477 / 4320) are consistent with the plain mean of the twelve.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import FIRST, BenchmarkData, ImageChoice, TextChoice
from .base import Benchmark, absent, collect, data_path, mean, read_json_list, text

SUBSETS = ("absolute_size", "relative_size", "absolute_spatial", "relative_spatial", "existence", "count")


class SPEC(Benchmark):
    name, title, family, folder = "spec", "SPEC", "comp", "spec"
    download = ("Download data.zip of the Hub dataset wjpoom/SPEC (hf download wjpoom/SPEC data.zip "
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
            collect(data, files[0], enumerate(read_json_list(files[0])), lambda case, subset=subset, folder=folder:
                    TextChoice(subset=f"{subset}/i2t", image=ImageFile(data_path(folder, text(case["query"], "query"))),
                               captions=[text(key, "keys") for key in case["keys"]], answer=int(case["label"]),
                               ties=FIRST), subset=f"{subset}/i2t")
            collect(data, files[1], enumerate(read_json_list(files[1])), lambda case, subset=subset, folder=folder:
                    ImageChoice(subset=f"{subset}/t2i", caption=text(case["query"], "query"),
                                images=[ImageFile(data_path(folder, text(key, "keys"))) for key in case["keys"]],
                                answer=int(case["label"]), ties=FIRST), subset=f"{subset}/t2i")
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {f"{subset}/{way}": scores[f"{subset}/{way}"]["accuracy"] for subset in SUBSETS
                   for way in ("i2t", "t2i") if f"{subset}/{way}" in scores}
        return subsets, self.headline(subsets)

    @staticmethod
    def headline(subsets):
        """SPEC from its twelve scores: their mean (= the mean of SPEC's image-to-text and text-to-image
        averages)."""
        return mean(subsets.get(f"{subset}/{way}") for subset in SUBSETS for way in ("i2t", "t2i"))
