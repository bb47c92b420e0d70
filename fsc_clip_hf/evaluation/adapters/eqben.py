"""EqBen (Wang et al., ICCV 2023; github.com/Wangt-CN/EqBen).

Two item sets, read from the first that is there (the results say which, ``item_set``)::

    eqben/all_select.json        the full set: EqBen's "whole original annotation" (Winoground-style,
    eqben/images/<image0|image1>   linked from its README; saved under this name, as other toolkits
                                   do), images from its full image archive (or the light .jpg one)
    eqben/eqben_subset_10percent_final.json   the public 10 % subset
    eqben/image_subset/<image0|image1>        its images (subset_image.tar.gz)

Both annotations are lists of ``{image0, caption0, image1, caption1}``; images are .png/.jpg files, or
BGR frames (.npy) for the YouCook2 part. A ``.png`` path whose file is absent is read from the ``.jpg`` of
the same name (the light release converted every image). The source of a group is the first folder of its
image path (``eqbenag``, ``eqbengebc``, ``eqbenyoucook2``, ``eqbenkubric_loc``, ``eqbenkubric_attr``,
``eqbenkubric_cnt``, ``eqbensd``; anything else is ``other``).

Each group is scored like Winoground with strict inequalities (EqBen's ``cal_wino_score``): text, image
and group scores per source. EqBen = the group score averaged over AG, GEBC, YouCook2, Kubric (the mean of
its three parts) and SD. The published figures are on the full set (per-source denominators 195,872 /
45,849 / 1,814 / 2,000 / 2,000 / 2,000 / 1,513 groups, EqBen's ``SUBSET_LENGTH_INFO``; checked on the 202
published models): a score on the 10 % subset is not comparable with them.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, Pair
from .base import Benchmark, Skip, collect, data_path, mean, read_json_list, text

FULL = ("all_select.json", "images", "full set (all_select.json)")
SUBSET = ("eqben_subset_10percent_final.json", "image_subset", "10 % subset (eqben_subset_10percent_final.json); "
          "not comparable with the published figures, which are on the full set")
SOURCES = ("eqbenag", "eqbengebc", "eqbenyoucook2", "eqbenkubric_loc", "eqbenkubric_attr", "eqbenkubric_cnt",
           "eqbensd")
KUBRIC = ("eqbenkubric_loc", "eqbenkubric_attr", "eqbenkubric_cnt")
# Groups per source of the full set (EqBen's evaluate_eqben_locally.py).
FULL_SET_SIZES = {"eqbenag": 195872, "eqbenyoucook2": 45849, "eqbengebc": 1814, "eqbenkubric_loc": 2000,
                  "eqbenkubric_attr": 2000, "eqbenkubric_cnt": 2000, "eqbensd": 1513}


def source_of(path: str) -> str:
    source = path.replace("\\", "/").split("/")[0]
    return source if source in SOURCES else "other"


def _image(folder: str, relative: str) -> ImageFile:
    path = data_path(folder, text(relative, "image path"))
    if not os.path.exists(path):
        light = path[:-4] + ".jpg" if path.endswith(".png") else None
        if light is None or not os.path.exists(light):
            raise Skip(IMAGE_ABSENT, source_of(relative))
        path = light
    return ImageFile(path)


class EqBen(Benchmark):
    name, title, family, folder = "eqben", "EqBen", "comp", "eqben"
    download = ("Get EqBen from github.com/Wangt-CN/EqBen (README, 'Data Download'): for the published figures "
                f"the full set, its whole original annotation saved as eqben/{FULL[0]} and its image archive "
                f"(or the light .jpg one) extracted into eqben/{FULL[1]}/; or the 10 % subset, "
                f"{SUBSET[0]} into eqben/ and subset_image.tar.gz extracted into eqben/{SUBSET[1]}/.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        for annotation, images, item_set in (FULL, SUBSET):
            annotation, images = os.path.join(root, annotation), os.path.join(root, images)
            if os.path.exists(annotation) and os.path.isdir(images):
                break
        else:
            self.require(data_root, [os.path.join(root, SUBSET[0]), os.path.join(root, SUBSET[1])])
        data = BenchmarkData(item_set=item_set)

        def group(entry):
            first = _image(images, entry["image0"])
            return Pair(subset=source_of(entry["image0"]), images=(first, _image(images, entry["image1"])),
                        captions=(text(entry["caption0"]), text(entry["caption1"])))

        collect(data, annotation, enumerate(read_json_list(annotation)), group)
        if data.is_empty():
            raise self.missing(data_root, [images])
        return data

    def summarise(self, scores):
        subsets = {f"{source}/{kind}": values[kind] for source, values in scores.items()
                   for kind in ("text", "image", "group")}
        return subsets, self.headline(subsets)

    @staticmethod
    def headline(subsets):
        """EqBen from the per-source group scores; without any recognisable source (unexpected path
        prefixes), the group score of everything."""
        group = {name.split("/")[0]: value for name, value in subsets.items() if name.endswith("/group")}
        kubric = mean(group[part] for part in KUBRIC if part in group)
        known = [value for value in (group.get("eqbenag"), group.get("eqbengebc"), group.get("eqbenyoucook2"),
                                     kubric, group.get("eqbensd")) if value is not None]
        return mean(known) if known else mean(group.values())
