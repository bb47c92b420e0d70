"""SugarCrepe++ (Dumpala et al., NeurIPS 2024 Datasets and Benchmarks; github.com/Sri-Harsha/scpp).

Layout under ``data_root``::

    sugarcrepe_pp/<subset>.json    a JSON list of {id, filename, caption, caption2, negative_caption} for
                                   the five subsets replace_att, replace_obj, replace_rel, swap_att, swap_obj
                                   (data/ of the repository: 788 / 1,652 / 1,406 / 666 / 245 items)
    coco/val2017/<filename>        COCO 2017 val images (shared with SugarCrepe)

Each item is an image, two captions that describe it in different words (``caption``, ``caption2``) and a
hard negative, scored as the repository's ``VLMs/test_*.py`` do, on the cosine similarities of normalised
embeddings with strict inequalities (every item counts):

* ITT (image-to-text, the main task): the image is closer to each of the two captions than to the negative;
* TOT (text-only): the two captions are closer to each other than either is to the negative.

Reported per subset (``<subset>/itt``, ``<subset>/tot``), as the scripts print them. They have no figure
across subsets; the headline here (and the report's "SC++ ITT" / "SC++ TOT") is the plain mean of the five
subsets, our choice. SugarCrepe++ is in neither Comp nor Comp-12.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, ParaphraseTriple
from .base import Benchmark, Skip, absent, collect, data_path, mean, read_json_list, shared_hint, text

SUBSETS = ("replace_att", "replace_obj", "replace_rel", "swap_att", "swap_obj")
PUBLISHED_ITEMS = 4757  # 788 + 1,652 + 1,406 + 666 + 245
TASKS = ("itt", "tot")


class SugarCrepePP(Benchmark):
    name, title, family, folder = "sugarcrepe_pp", "SugarCrepe++", "comp_extra", "sugarcrepe_pp"
    subsets = tuple(f"{subset}/itt" for subset in SUBSETS)
    download = ("Get the five JSON files of data/ in github.com/Sri-Harsha/scpp into sugarcrepe_pp/; "
                f"{shared_hint('coco/val2017')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root, images = self.root(data_root), os.path.join(data_root, "coco", "val2017")
        files = {subset: os.path.join(root, f"{subset}.json") for subset in SUBSETS}
        data = BenchmarkData(missing=absent([images, *files.values()]))
        if images in data.missing or len(data.missing) == len(files):
            raise self.missing(data_root, data.missing)

        def triple(record, subset) -> ParaphraseTriple:
            image = data_path(images, text(record["filename"], "filename"))
            if not os.path.exists(image):
                raise Skip(IMAGE_ABSENT)
            return ParaphraseTriple(subset=subset, image=ImageFile(image),
                                    positives=(text(record["caption"]), text(record["caption2"], "caption2")),
                                    negative=text(record["negative_caption"], "negative_caption"))

        records = {subset: read_json_list(path) for subset, path in files.items() if path not in data.missing}
        for subset, rows in records.items():
            collect(data, files[subset], enumerate(rows), lambda record, subset=subset: triple(record, subset),
                    subset=subset)
        data.item_set = (f"{sum(map(len, records.values()))} records of {len(records)} subset files "
                         f"(the published five hold {PUBLISHED_ITEMS:,})")
        return data

    def summarise(self, scores):
        subsets = {f"{subset}/{task}": scores[subset][task] for subset in SUBSETS if subset in scores for task in TASKS}
        return subsets, self.headline(subsets)

    def figures(self, subsets):
        return {task: mean(subsets.get(f"{subset}/{task}") for subset in SUBSETS) for task in TASKS}
