"""What'sUp (Kamath et al., EMNLP 2023; github.com/amitakamath/whatsup_vlms).

Layout under ``data_root`` (the files What'sUp's loaders fetch)::

    whatsup/controlled_images_dataset.json   [{image_path, caption_options: [true, 3 false]}, ...]
    whatsup/controlled_images/<file>         (image_path's file name is looked up here)
    whatsup/controlled_clevr_dataset.json    the same, images in whatsup/controlled_clevr/
    whatsup/coco_qa_one_obj.json, coco_qa_two_obj.json    [[image_id, true caption, false caption], ...]
    coco/val2017/<image_id:012d>.jpg
    whatsup/vg_qa_one_obj.json, vg_qa_two_obj.json        [[image_id, true caption, false caption], ...]
    whatsup/vg_images/<image_id>.jpg

Six subsets, image → captions with the true caption first, scored as What'sUp's ``evaluate_scores``:
``argmax`` over the options, right when it is the first (a tie with the true caption is right):
WhatsUp_A (controlled images, 412 items), WhatsUp_B (controlled CLEVR, 408), COCO_QA_ONE/TWO (2,247 /
440), VG_QA_ONE/TWO (1,160 / 291); What'sUp = their mean (checked on the 202 published models). The
controlled sets store image paths relative to the authors' checkout (``data/controlled_images/...``): only
the file name is used. A QA row is read as What'sUp's loader reads it, ``row[0], row[1], row[2]`` (image
id, true caption, false caption): values after the third are ignored.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import FIRST, BenchmarkData, TextChoice
from .base import Benchmark, Malformed, absent, collect, data_path, read_json_list, shared_hint, text

CONTROLLED = {"WhatsUp_A": ("controlled_images_dataset.json", "controlled_images"),
              "WhatsUp_B": ("controlled_clevr_dataset.json", "controlled_clevr")}
QUESTIONS = {"COCO_QA_ONE": "coco_qa_one_obj.json", "COCO_QA_TWO": "coco_qa_two_obj.json",
             "VG_QA_ONE": "vg_qa_one_obj.json", "VG_QA_TWO": "vg_qa_two_obj.json"}
SUBSETS = (*CONTROLLED, *QUESTIONS)


class WhatsUp(Benchmark):
    name, title, family, folder = "whatsup", "What'sUp", "comp", "whatsup"
    subsets = SUBSETS
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
            collect(data, paths[0], enumerate(read_json_list(paths[0])), lambda case, subset=subset, folder=paths[1]:
                    TextChoice(subset=subset, image=ImageFile(os.path.join(folder, os.path.basename(
                        text(case["image_path"], "image_path")))),
                        captions=[text(option) for option in case["caption_options"]], ties=FIRST), subset=subset)
        for subset, annotation in QUESTIONS.items():
            on_coco = subset.startswith("COCO")
            images = os.path.join(data_root, "coco", "val2017") if on_coco else os.path.join(root, "vg_images")
            if lacking := absent([os.path.join(root, annotation), images]):
                data.missing.extend(path for path in lacking if path not in data.missing)
                continue

            def question(row, subset=subset, on_coco=on_coco, images=images):
                if not isinstance(row, list):
                    raise Malformed(f"a {type(row).__name__}, not [image id, true caption, false caption]")
                # str(id).zfill(12) as What'sUp's COCO_QA loader names the file; VG ids as they are.
                name = f"{str(row[0]).zfill(12)}.jpg" if on_coco else f"{row[0]}.jpg"
                return TextChoice(subset=subset, image=ImageFile(data_path(images, name)),
                                  captions=[text(row[1]), text(row[2])], ties=FIRST)

            path = os.path.join(root, annotation)
            collect(data, path, enumerate(read_json_list(path)), question, subset=subset)
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

