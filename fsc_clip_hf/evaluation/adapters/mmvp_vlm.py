"""MMVP-VLM (Tong et al., CVPR 2024, "Eyes Wide Shut?"; github.com/tsb0601/MMVP; Hub ``MMVP/MMVP_VLM``).

Layout under ``data_root`` (the Hub dataset's files: ``hf download MMVP/MMVP_VLM --repo-type dataset
--local-dir <data_root>/mmvp_vlm``)::

    mmvp_vlm/Questions.csv                         Question ID, Type, Statement (270 rows)
    mmvp_vlm/MLLM_VLM Images/<Type>/<Question ID>.jpg

Read as MMVP's ``scripts/evaluate_vlm.py`` reads it: rows two at a time make a pair (an unpaired last row
is left out), both images from the folder of the pair's first ``Type``, each statement prefixed with
``"a photo of "``; the pair's category is its position, pairs 0-14 the first of :data:`CATEGORIES`, 15-29
the second, ... (not the ``Type`` column). A statement's true image is the first of the pair when its
question id is odd, else the second.

Two figures per category, both reported (135 pairs, 15 per category):

* ``<category>/official``: MMVP-VLM's metric. For each statement a softmax over the two images, the first
  predicted when its probability is above 0.5, else the second (compared here on the similarities: P > 0.5
  is s(first) > s(second), so a tie goes to the second image); the pair counts when both statements pick
  their image. Its mean over the 9 categories (the paper's average) is the figure ``official``.
* ``<category>/text``, ``/image``, ``/group``: Winoground's scores of the pair as a 2×2 group (strict), as
  the companion study publishes them (its per-category figures are multiples of 1/15, and its
  ``mmvp_vlm`` column is the mean of the 9 ``::group`` figures, i.e. the group score over 135 pairs).
  MMVP-VLM's headline here = that mean, the companion study's figure that Comp-12 averages; it is stricter
  than the official metric, which is the image score alone.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, Pair
from .base import Benchmark, Malformed, Skip, collect, data_path, mean, read_csv, text

HUB_ID = "MMVP/MMVP_VLM"
IMAGES = "MLLM_VLM Images"
PREFIX = "a photo of "  # evaluate_vlm.py: text = 'a photo of ' + statement
CATEGORIES = ("Orientation and Direction", "Presence of Specific Features", "State and Condition",
              "Quantity and Count", "Positional and Relational Context", "Color and Appearance",
              "Structural Characteristics", "Texts", "Viewpoint and Perspective")
PAIRS_PER_CATEGORY = 15
KINDS = ("text", "image", "group", "official")


class MMVPVLM(Benchmark):
    name, title, family, folder = "mmvp_vlm", "MMVP-VLM", "comp_extra", "mmvp_vlm"
    subsets = tuple(f"{category}/group" for category in CATEGORIES)
    download = (f"`hf download {HUB_ID} --repo-type dataset --local-dir <data_root>/mmvp_vlm` "
                f"(Questions.csv and the folder '{IMAGES}').")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        table, images = os.path.join(root, "Questions.csv"), os.path.join(root, IMAGES)
        self.require(data_root, [table, images])
        rows = read_csv(table)
        published = len(CATEGORIES) * PAIRS_PER_CATEGORY
        data = BenchmarkData(item_set=f"{len(rows) // 2} pairs of Questions.csv"
                                      + ("" if len(rows) // 2 == published else f" (the published set has {published})"))

        def pair(index_and_rows) -> Pair:
            index, (first, second) = index_and_rows
            if index // PAIRS_PER_CATEGORY >= len(CATEGORIES):
                raise Malformed(f"pair {index} is past the 9 categories of 15 pairs")
            category = CATEGORIES[index // PAIRS_PER_CATEGORY]
            ids = [int(text(row["Question ID"], "Question ID")) for row in (first, second)]
            if ids[0] % 2 == ids[1] % 2:
                raise Malformed(f"question ids {ids[0]} and {ids[1]}: one must be odd (the first image's), one even")
            folder = data_path(images, text(first["Type"], "Type"))
            files = [data_path(folder, f"{qid}.jpg") for qid in ids]
            if not all(os.path.exists(path) for path in files):
                raise Skip(IMAGE_ABSENT, category)
            statements = [PREFIX + text(row["Statement"], "Statement") for row in (first, second)]
            # Caption k is the statement whose true image is image k (odd id: the first).
            captions = tuple(statements if ids[0] % 2 == 1 else statements[::-1])
            return Pair(subset=category, images=(ImageFile(files[0]), ImageFile(files[1])), captions=captions)

        pairs = [(rows[k], rows[k + 1]) for k in range(0, len(rows) - 1, 2)]
        collect(data, table, ((f"lines {first[0]}-{second[0]}", (n, (first[1], second[1])))
                              for n, (first, second) in enumerate(pairs)), pair)
        return data

    def summarise(self, scores):
        subsets = {f"{category}/{kind}": scores[category]["image_ties_to_second" if kind == "official" else kind]
                   for category in CATEGORIES if category in scores for kind in KINDS}
        return subsets, self.headline(subsets)

    def figures(self, subsets):
        return {"official": official(subsets)}


def official(subsets) -> float | None:
    """MMVP-VLM's own figure: the mean over the 9 categories of the official pair accuracy."""
    return mean(subsets.get(f"{category}/official") for category in CATEGORIES)
