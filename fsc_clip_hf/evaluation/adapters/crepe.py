"""CREPE productivity (Ma et al., CVPR 2023; github.com/RAIVNLab/CREPE).

Layout under ``data_root`` (``data/prod_hard_negatives.zip`` of the CREPE repository, unzipped, and the
Visual Genome images)::

    crepe/prod_hard_negatives/<type>/prod_vg_hard_negs_<type>_all.csv            every complexity
    crepe/prod_hard_negatives/<type>/prod_vg_hard_negs_<type>_complexity_<k>.csv  k = 4..12
        type in atom, swap, negate; columns image_id, caption, hard_negs (a Python list or set literal),
        x, y, width, height
    visual_genome/VG_100K/<image_id>.jpg, visual_genome/VG_100K_2/<image_id>.jpg

Item set: per type, the ``_all`` file when it is there (what the FSC-CLIP evaluation scored: 17,698 /
7,405 / 17,303 rows, complexities above 12 included, as the 202 published models' denominators show),
else the complexity 4-12 files CREPE's own scripts loop over (16,727 / 6,652 / 16,336 rows); the
results say which (``item_set``). Scored as CREPE's ``crepe_prod_eval_clip.py`` does: each row's image
cropped to (x, y, width, height) against ``[caption, *hard_negs]``, Recall@1 of the caption. CREPE ranks
with ``torch.argsort``, whose order among equal scores is not defined; we take the caption-first order a
stable sort gives (a negative that tokenises like the caption ties, and the tie is right). Subsets
``atom``, ``swap``, ``negate`` pool their rows; CREPE = their mean (checked on the 202 published models).
"""

from __future__ import annotations

import ast
import os

from ..images import ImageFile
from ..items import FIRST, IMAGE_ABSENT, BenchmarkData, TextChoice
from .base import Benchmark, Malformed, Skip, absent, collect, data_path, read_csv, shared_hint, text

NEGATIVE_TYPES = ("atom", "swap", "negate")
COMPLEXITIES = range(4, 13)  # the files crepe_prod_eval_*.py loop over


def find_visual_genome_image(data_root: str, image_id) -> str | None:
    """The path of Visual Genome image ``image_id`` (it lives in one of the two parts), or None."""
    for part in ("VG_100K", "VG_100K_2"):
        path = data_path(os.path.join(data_root, "visual_genome", part), f"{image_id}.jpg")
        if os.path.exists(path):
            return path
    return None


def crepe_files(root: str, kind: str) -> tuple[list[str], str]:
    """The CSV files of negative type ``kind`` and the item set they make up."""
    everything = os.path.join(root, kind, f"prod_vg_hard_negs_{kind}_all.csv")
    if os.path.exists(everything):
        return [everything], f"{kind}: prod_vg_hard_negs_{kind}_all.csv (all complexities)"
    found = {k: os.path.join(root, kind, f"prod_vg_hard_negs_{kind}_complexity_{k}.csv") for k in COMPLEXITIES}
    found = {k: path for k, path in found.items() if os.path.exists(path)}
    return list(found.values()), f"{kind}: complexity files {', '.join(map(str, found))}"


def hard_negatives(cell) -> list[str]:
    """The ``hard_negs`` cell: a Python list literal of captions, or a set literal (some rows of the atom and
    negate files hold one; CREPE reads both, ``list(ast.literal_eval(cell))``). A set's captions are taken in
    their written order, repeats dropped as a set drops them: Recall@1 of the caption does not depend on the
    negatives' order, and the written one keeps runs reproducible where a set's order follows string hashing."""
    try:
        node = ast.parse(text(cell, "hard_negs").strip(), mode="eval").body
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            raise ValueError
        negatives = [ast.literal_eval(element) for element in node.elts]
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise Malformed("hard_negs is not a list or set literal") from None
    if not negatives:
        raise Malformed("hard_negs is empty")
    negatives = [text(negative, "hard_negs") for negative in negatives]
    return list(dict.fromkeys(negatives)) if isinstance(node, ast.Set) else negatives


class CREPE(Benchmark):
    name, title, family, folder = "crepe", "CREPE", "comp", "crepe"
    subsets = NEGATIVE_TYPES
    download = ("Unzip data/prod_hard_negatives.zip of github.com/RAIVNLab/CREPE into crepe/ (it creates "
                f"crepe/prod_hard_negatives/); {shared_hint('visual_genome')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root = os.path.join(self.root(data_root), "prod_hard_negatives")
        data = BenchmarkData()
        data.missing.extend(absent([os.path.join(data_root, "visual_genome")]))
        images_missing, item_sets = bool(data.missing), []
        for kind in NEGATIVE_TYPES:
            files, item_set = crepe_files(root, kind)
            if not files:
                data.missing.append(os.path.join(root, kind))
                continue
            item_sets.append(item_set)
            if images_missing:
                continue

            def row_item(row, kind=kind):
                image = find_visual_genome_image(data_root, text(row["image_id"], "image_id"))
                if image is None:
                    raise Skip(IMAGE_ABSENT)
                x, y, w, h = (float(row[k]) for k in ("x", "y", "width", "height"))
                return TextChoice(subset=kind, image=ImageFile(image, box=(x, y, x + w, y + h)),
                                  captions=[text(row["caption"]), *hard_negatives(row["hard_negs"])], ties=FIRST)

            for path in files:
                collect(data, path, ((f"line {line}", row) for line, row in read_csv(path)), row_item, subset=kind)
        data.item_set = "; ".join(item_sets) or None
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

