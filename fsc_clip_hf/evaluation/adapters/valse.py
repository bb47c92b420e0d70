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
count, as the VALSE authors ask: 505 / 851 / 868 / 900 / 691 / 535 / 648 / 949 / 708 / 104 / 943 items in
the order of ``INSTRUMENTS``, the denominators of the 202 published models. Each image against its caption
and its foil (image → captions), correct when the caption scores strictly higher (VALSE's pairwise
accuracy ``score(caption) > score(foil)``). VALSE = the mean of its seven instruments (existence,
plurality, counting, relations, actions, coreference, foil-it), each the mean of its pieces (checked on
the 202 published models). The image folder of each piece follows its ``dataset`` field; items whose
image is not found are skipped and counted (``image_absent``).
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, TextChoice
from .base import Benchmark, Malformed, Skip, absent, collect, data_path, mean, read_json_dict, shared_hint, text

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
        data = BenchmarkData()
        for pieces in INSTRUMENTS.values():
            for piece in pieces:
                annotation = os.path.join(root, f"{piece}.json")
                folders = [os.path.join(data_root, folder) for folder in IMAGE_FOLDERS[piece]]
                folders = [folder for folder in (*folders, os.path.join(root, "images")) if os.path.isdir(folder)]
                if not os.path.exists(annotation) or not folders:
                    data.missing.extend(absent([annotation]) or [os.path.join(data_root, IMAGE_FOLDERS[piece][0])])
                    continue

                def item(case, piece=piece, folders=folders):
                    votes = case["mturk"]["caption"]
                    if not isinstance(votes, (int, float)):
                        raise Malformed(f"mturk.caption is {votes!r}, not a count")
                    if votes < MIN_ANNOTATOR_VOTES:
                        return None  # not validated: not part of the benchmark
                    name = text(case["image_file"], "image_file")
                    image = next((data_path(folder, name) for folder in folders
                                  if os.path.exists(data_path(folder, name))), None)
                    if image is None:
                        raise Skip(IMAGE_ABSENT)
                    caption = case["caption"][0] if isinstance(case["caption"], list) else case["caption"]
                    return TextChoice(subset=piece, image=ImageFile(image), captions=[text(caption), text(case["foil"], "foil")])

                collect(data, annotation, read_json_dict(annotation).items(), item, subset=piece)
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {piece: scores[piece]["accuracy"] for pieces in INSTRUMENTS.values() for piece in pieces
                   if piece in scores}
        return subsets, self.headline(subsets)

    @staticmethod
    def headline(subsets):
        """VALSE from its eleven pieces: the mean of the instruments, each the mean of its pieces."""
        return mean(mean(subsets.get(piece) for piece in pieces) for pieces in INSTRUMENTS.values())
