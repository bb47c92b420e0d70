"""SugarCrepe (Hsieh et al., NeurIPS 2023; github.com/RAIVNLab/sugar-crepe).

Layout under ``data_root``::

    sugarcrepe/<subset>.json     {id: {filename, caption, negative_caption}} for the seven subsets
                                 add_att, add_obj, replace_att, replace_obj, replace_rel, swap_att, swap_obj
                                 (an older release names the object files *_ent.json: also read)
    coco/val2017/<filename>      COCO 2017 val images

Each image against its caption and its one negative (image → captions), correct when
``pos_score > neg_score`` as SugarCrepe's ``main_eval.py`` has it (a tie is wrong). Every item of the
seven files is scored (1,652 / 788 / 1,406 / 245 / 666 / 2,062 / 692 items). SugarCrepe = the mean of its
three categories (replace, swap, add), each the accuracy over all items of its subsets (checked on the 202
published models).
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import BenchmarkData, TextChoice
from .base import Benchmark, absent, collect, data_path, mean, pooled_accuracy, read_json_dict, shared_hint, text

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
            collect(data, path, read_json_dict(path).items(), lambda case, subset=subset: TextChoice(
                subset=subset, image=ImageFile(data_path(images, text(case["filename"], "filename"))),
                captions=[text(case["caption"]), text(case["negative_caption"], "negative_caption")]), subset=subset)
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {subset: scores[subset]["accuracy"] for subset in SUBSETS if subset in scores}
        return subsets, self.headline(subsets, {subset: scores[subset]["count"] for subset in subsets})

    @staticmethod
    def headline(subsets, counts):
        """SugarCrepe from its seven subsets and their item counts: the mean of the pooled categories."""
        scores = {subset: {"accuracy": subsets[subset], "count": counts[subset]} for subset in subsets}
        categories = [pooled_accuracy(scores, members) if all(m in scores for m in members) else None
                      for members in CATEGORIES.values()]
        return mean(categories)
