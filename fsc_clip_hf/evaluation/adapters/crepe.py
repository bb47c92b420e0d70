"""CREPE productivity (Ma et al., CVPR 2023; github.com/RAIVNLab/CREPE).

Layout under ``data_root`` (CREPE's productivity hard-negative CSVs and the Visual Genome images)::

    crepe/prod_hard_negatives/<type>/prod_vg_hard_negs_<type>_complexity_<k>.csv
        type in atom, swap, negate; k = 4..12; columns image_id, caption, hard_negs (a Python list
        literal), x, y, width, height
    visual_genome/VG_100K/<image_id>.jpg, visual_genome/VG_100K_2/<image_id>.jpg

Each row: the image cropped to (x, y, width, height) against its caption and its hard negatives
(image → captions, Recall@1 as CREPE's scripts compute it). Subsets ``atom``, ``swap``, ``negate`` pool
all complexities; CREPE = their mean, which reproduces how the FSC-CLIP evaluation reports CREPE as the
mean of its three negative types. Uncertain: whether that evaluation pooled the complexities (done here)
or averaged per-complexity scores.
"""

from __future__ import annotations

import ast
import csv
import glob
import os

from ..images import ImageFile
from ..items import BenchmarkData, TextChoice
from .base import Benchmark, absent, mean, shared_hint

NEGATIVE_TYPES = ("atom", "swap", "negate")


def find_visual_genome_image(data_root: str, image_id) -> str | None:
    """The path of Visual Genome image ``image_id`` (it lives in one of the two parts), or None."""
    for part in ("VG_100K", "VG_100K_2"):
        path = os.path.join(data_root, "visual_genome", part, f"{image_id}.jpg")
        if os.path.exists(path):
            return path
    return None


class CREPE(Benchmark):
    name, title, family, folder = "crepe", "CREPE", "comp", "crepe"
    download = ("Get CREPE's productivity hard negatives (data/prod_hard_negatives/ of "
                "github.com/RAIVNLab/CREPE) into crepe/prod_hard_negatives/; "
                f"{shared_hint('visual_genome')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root = os.path.join(self.root(data_root), "prod_hard_negatives")
        data = BenchmarkData()
        data.missing.extend(absent([os.path.join(data_root, "visual_genome")]))
        images_missing, skipped = bool(data.missing), 0
        for kind in NEGATIVE_TYPES:
            files = sorted(glob.glob(os.path.join(root, kind, f"prod_vg_hard_negs_{kind}_complexity_*.csv")))
            if not files:
                data.missing.append(os.path.join(root, kind))
                continue
            if images_missing:
                continue
            for path in files:
                with open(path, encoding="utf-8", newline="") as handle:
                    for row in csv.DictReader(handle):
                        image = find_visual_genome_image(data_root, row["image_id"])
                        if image is None:
                            skipped += 1
                            continue
                        x, y, w, h = (float(row[k]) for k in ("x", "y", "width", "height"))
                        data.text_choices.append(TextChoice(
                            subset=kind, image=ImageFile(image, box=(x, y, x + w, y + h)),
                            captions=[row["caption"], *ast.literal_eval(row["hard_negs"])],
                        ))
        if skipped:
            data.notes.append(f"{skipped} rows skipped: their Visual Genome image is not in visual_genome/")
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = {kind: scores[kind]["accuracy"] for kind in NEGATIVE_TYPES if kind in scores}
        return subsets, mean(subsets.get(kind) for kind in NEGATIVE_TYPES)
