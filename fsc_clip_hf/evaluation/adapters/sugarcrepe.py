"""SugarCrepe (Hsieh et al., NeurIPS 2023; github.com/RAIVNLab/sugar-crepe).

Layout under ``data_root``::

    sugarcrepe/<subset>.json     {id: {filename, caption, negative_caption}} for the seven subsets
                                 add_att, add_obj, replace_att, replace_obj, replace_rel, swap_att, swap_obj
                                 (an older release names the object files *_ent.json: also read)
    coco/val2017/<filename>      COCO 2017 val images

Each image against its caption and its one negative (image → captions). SugarCrepe = the mean of its
three categories (replace, swap, add), each the accuracy over all items of its subsets: this reproduces
the FSC-CLIP evaluation's SugarCrepe figures exactly from the per-subset results.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import BenchmarkData, TextChoice
from .base import Benchmark, absent, mean, pooled_accuracy, read_json, shared_hint

SUBSETS = ("replace_obj", "replace_att", "replace_rel", "swap_obj", "swap_att", "add_obj", "add_att")
CATEGORIES = {"replace": SUBSETS[:3], "swap": SUBSETS[3:5], "add": SUBSETS[5:]}


class SugarCrepe(Benchmark):
    name, title, family, folder = "sugarcrepe", "SugarCrepe", "comp", "sugarcrepe"
    download = ("Get the seven JSON files of data/ in github.com/RAIVNLab/sugar-crepe into sugarcrepe/; "
                f"{shared_hint('coco/val2017')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root, images = self.root(data_root), os.path.join(data_root, "coco", "val2017")
        files = {}
        for subset in SUBSETS:
            candidates = [os.path.join(root, f"{subset}.json"), os.path.join(root, f"{subset.replace('obj', 'ent')}.json")]
            files[subset] = next((path for path in candidates if os.path.exists(path)), candidates[0])
        data = BenchmarkData(missing=absent([images, *files.values()]))
        if images in data.missing:
            raise self.missing(data_root, data.missing)
        for subset, path in files.items():
            if path in data.missing:
                continue
            data.text_choices.extend(
                TextChoice(subset=subset, image=ImageFile(os.path.join(images, case["filename"])),
                           captions=[case["caption"], case["negative_caption"]])
                for case in read_json(path).values()
            )
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {subset: scores[subset]["accuracy"] for subset in SUBSETS if subset in scores}
        categories = {name: pooled_accuracy(scores, members) if all(m in scores for m in members) else None
                      for name, members in CATEGORIES.items()}
        return subsets, mean(categories.values())
