"""EqBen (Wang et al., ICCV 2023; github.com/Wangt-CN/EqBen).

Layout under ``data_root`` (EqBen's public 10% subset, Winoground-style)::

    eqben/eqben_subset_10percent_final.json   [{image0, caption0, image1, caption1}, ...]
    eqben/image_subset/<image0 | image1>      images (.png/.jpg) or BGR frames (.npy, YouCook2 part)

Each entry is a 2×2 group scored like Winoground. The source of an entry is the first folder of its
image path (``eqbenag``, ``eqbengebc``, ``eqbenyoucook2``, ``eqbenkubric_loc``, ``eqbenkubric_attr``,
``eqbenkubric_cnt``, ``eqbensd``). EqBen = the group score averaged over the five sources (AG, GEBC,
YouCook2, Kubric, SD), Kubric being the mean of its three parts: this reproduces the FSC-CLIP
evaluation's EqBen figures from their per-source scores (a source absent from the data is left out).

Uncertain: the subset annotation's exact path prefixes (entries whose first folder is not a known
source are scored under ``other``, which only counts when no source is recognised), and whether the FSC-CLIP evaluation
used this public subset or the full annotation (``private_info_global.json``, 100 GB of images).
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import BenchmarkData, Pair
from .base import Benchmark, mean, read_json

ANNOTATION = "eqben_subset_10percent_final.json"
IMAGE_DIR = "image_subset"
SOURCES = ("eqbenag", "eqbengebc", "eqbenyoucook2", "eqbenkubric_loc", "eqbenkubric_attr", "eqbenkubric_cnt",
           "eqbensd")
KUBRIC = ("eqbenkubric_loc", "eqbenkubric_attr", "eqbenkubric_cnt")


class EqBen(Benchmark):
    name, title, family, folder = "eqben", "EqBen", "comp", "eqben"
    download = ("Get EqBen's 10% subset from github.com/Wangt-CN/EqBen (README, 'Sub-Test Set'): "
                f"the annotation {ANNOTATION} into eqben/ and subset_image.tar.gz extracted into "
                f"eqben/{IMAGE_DIR}/.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        annotation, images = os.path.join(root, ANNOTATION), os.path.join(root, IMAGE_DIR)
        self.require(data_root, [annotation, images])
        data = BenchmarkData()
        for entry in read_json(annotation):
            source = entry["image0"].replace("\\", "/").split("/")[0]
            data.pairs.append(Pair(
                subset=source if source in SOURCES else "other",
                images=(ImageFile(os.path.join(images, entry["image0"])),
                        ImageFile(os.path.join(images, entry["image1"]))),
                captions=(entry["caption0"], entry["caption1"]),
            ))
        return data

    def summarise(self, scores):
        subsets = {f"{source}/{kind}": values[kind] for source, values in scores.items()
                   for kind in ("text", "image", "group")}
        group = {source: values["group"] for source, values in scores.items()}
        kubric = mean(group[part] for part in KUBRIC if part in group)
        sources = [group.get("eqbenag"), group.get("eqbengebc"), group.get("eqbenyoucook2"), kubric,
                   group.get("eqbensd")]
        known = [value for value in sources if value is not None]
        # Without any recognisable source (unexpected path prefixes), the group score of everything.
        return subsets, mean(known) if known else mean(group.values())
