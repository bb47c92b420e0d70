"""VALSE (Parcalabescu et al., ACL 2022; github.com/Heidelberg-NLP/VALSE).

Layout under ``data_root``::

    valse/<piece>.json     {id: {dataset, image_file, caption, foil, mturk: {caption, foil, other}, ...}}
                           for the eleven pieces of data/ in the VALSE repository (names below)
    images, looked up by image_file in the piece's folders (first match wins):
      existence, counting-*          visual7w/ (Visual7W images, v7w_<id>.jpg)
      plurals, relations             coco/val2017/
      action-replacement, actant-swap  swig/
      coreference-standard           coco/train2014/ (VisDial train images)
      coreference-hard               visdial/VisualDialog_val2018/
      foil-it                        coco/val2014/
      any piece, as a fallback       valse/images/

Only the validated items (at least two of three annotators chose the caption: ``mturk.caption >= 2``)
count, as the VALSE authors ask. Each image against its caption and its foil (image → captions);
VALSE = the mean of its seven instruments (existence, plurality, counting, relations, actions,
coreference, foil-it), each the mean of its pieces: this reproduces the FSC-CLIP evaluation's VALSE
figures from their per-piece scores. Uncertain: the image folder of each piece is inferred from the
pieces' ``dataset`` field and other public evaluation code; items whose image is not found are skipped
and counted in the notes.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import BenchmarkData, TextChoice
from .base import Benchmark, absent, mean, read_json, shared_hint

INSTRUMENTS = {
    "existence": ("existence",),
    "plurality": ("plurals",),
    "counting": ("counting-hard", "counting-small-quant", "counting-adversarial"),
    "relations": ("relations",),
    "actions": ("action-replacement", "actant-swap"),
    "coreference": ("coreference-standard", "coreference-hard"),
    "foil-it": ("foil-it",),
}
IMAGE_FOLDERS = {
    "existence": ("visual7w", "visual7w/images"),
    "counting-hard": ("visual7w", "visual7w/images"),
    "counting-small-quant": ("visual7w", "visual7w/images"),
    "counting-adversarial": ("visual7w", "visual7w/images"),
    "plurals": ("coco/val2017",),
    "relations": ("coco/val2017",),
    "action-replacement": ("swig",),
    "actant-swap": ("swig",),
    "coreference-standard": ("coco/train2014",),
    "coreference-hard": ("visdial/VisualDialog_val2018",),
    "foil-it": ("coco/val2014",),
}
MIN_ANNOTATOR_VOTES = 2


class VALSE(Benchmark):
    name, title, family, folder = "valse", "VALSE", "comp", "valse"
    download = ("Get the eleven JSON files of data/ in github.com/Heidelberg-NLP/VALSE into valse/; images: "
                "Visual7W (https://ai.stanford.edu/~yukez/visual7w/) in visual7w/, "
                f"{shared_hint('coco/val2017')}, {shared_hint('coco/val2014')}, {shared_hint('coco/train2014')}, "
                f"{shared_hint('swig')}, VisDial v1.0 val images (https://visualdialog.org/data) in "
                "visdial/VisualDialog_val2018/ (or any piece's images in valse/images/).")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        data, skipped = BenchmarkData(), 0
        for pieces in INSTRUMENTS.values():
            for piece in pieces:
                annotation = os.path.join(root, f"{piece}.json")
                folders = [os.path.join(data_root, folder) for folder in IMAGE_FOLDERS[piece]]
                folders = [folder for folder in (*folders, os.path.join(root, "images")) if os.path.isdir(folder)]
                if not os.path.exists(annotation) or not folders:
                    data.missing.extend(absent([annotation]) or [os.path.join(data_root, IMAGE_FOLDERS[piece][0])])
                    continue
                for case in read_json(annotation).values():
                    if case["mturk"]["caption"] < MIN_ANNOTATOR_VOTES:
                        continue
                    image = next((os.path.join(folder, case["image_file"]) for folder in folders
                                  if os.path.exists(os.path.join(folder, case["image_file"]))), None)
                    if image is None:
                        skipped += 1
                        continue
                    caption = case["caption"][0] if isinstance(case["caption"], list) else case["caption"]
                    data.text_choices.append(TextChoice(subset=piece, image=ImageFile(image),
                                                        captions=[caption, case["foil"]]))
        if skipped:
            data.notes.append(f"{skipped} validated items skipped: their image was not found")
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {piece: scores[piece]["accuracy"] for pieces in INSTRUMENTS.values() for piece in pieces
                   if piece in scores}
        instruments = [mean(subsets.get(piece) for piece in pieces) for pieces in INSTRUMENTS.values()]
        return subsets, mean(instruments)
