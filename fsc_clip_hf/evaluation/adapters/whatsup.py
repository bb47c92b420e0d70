"""What'sUp (Kamath et al., EMNLP 2023; github.com/amitakamath/whatsup_vlms).

Layout under ``data_root`` (the files What'sUp's loaders fetch)::

    whatsup/controlled_images_dataset.json   [{image_path, caption_options: [true, 3 false]}, ...]
    whatsup/controlled_images/<file>         (image_path's file name is looked up here)
    whatsup/controlled_clevr_dataset.json    the same, images in whatsup/controlled_clevr/
    whatsup/coco_qa_one_obj.json, coco_qa_two_obj.json    [[image_id, true caption, false caption], ...]
    coco/val2017/<image_id:012d>.jpg
    whatsup/vg_qa_one_obj.json, vg_qa_two_obj.json        [[image_id, true caption, false caption], ...]
    whatsup/vg_images/<image_id>.jpg

Six subsets, image → captions with the true caption first: WhatsUp_A (controlled images), WhatsUp_B
(controlled CLEVR), COCO_QA_ONE/TWO, VG_QA_ONE/TWO; What'sUp = their mean, which reproduces the FSC-CLIP
evaluation's figures from the six subset scores. The controlled sets store image paths relative to the
authors' checkout (``data/controlled_images/...``): only the file name is used.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import BenchmarkData, TextChoice
from .base import Benchmark, absent, mean, read_json, shared_hint

CONTROLLED = {"WhatsUp_A": ("controlled_images_dataset.json", "controlled_images"),
              "WhatsUp_B": ("controlled_clevr_dataset.json", "controlled_clevr")}
QUESTIONS = {"COCO_QA_ONE": "coco_qa_one_obj.json", "COCO_QA_TWO": "coco_qa_two_obj.json",
             "VG_QA_ONE": "vg_qa_one_obj.json", "VG_QA_TWO": "vg_qa_two_obj.json"}
SUBSETS = (*CONTROLLED, *QUESTIONS)


class WhatsUp(Benchmark):
    name, title, family, folder = "whatsup", "What'sUp", "comp", "whatsup"
    download = ("Get the annotation files and images (controlled_images.tar.gz, controlled_clevr.tar.gz, "
                "vg_images.tar.gz) linked from github.com/amitakamath/whatsup_vlms (dataset_zoo/aro_datasets.py) "
                f"into whatsup/; {shared_hint('coco/val2017')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        data = BenchmarkData()
        for subset, (annotation, folder) in CONTROLLED.items():
            paths = [os.path.join(root, annotation), os.path.join(root, folder)]
            if lacking := absent(paths):
                data.missing.extend(lacking)
                continue
            data.text_choices.extend(
                TextChoice(subset=subset, image=ImageFile(os.path.join(paths[1], os.path.basename(case["image_path"]))),
                           captions=list(case["caption_options"]))
                for case in read_json(paths[0])
            )
        for subset, annotation in QUESTIONS.items():
            on_coco = subset.startswith("COCO")
            images = os.path.join(data_root, "coco", "val2017") if on_coco else os.path.join(root, "vg_images")
            if lacking := absent([os.path.join(root, annotation), images]):
                data.missing.extend(path for path in lacking if path not in data.missing)
                continue
            for image_id, true_caption, false_caption in read_json(os.path.join(root, annotation)):
                name = f"{int(image_id):012d}.jpg" if on_coco else f"{image_id}.jpg"
                data.text_choices.append(TextChoice(subset=subset, image=ImageFile(os.path.join(images, name)),
                                                    captions=[true_caption, false_caption]))
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {subset: scores[subset]["accuracy"] for subset in SUBSETS if subset in scores}
        return subsets, mean(subsets.get(subset) for subset in SUBSETS)
