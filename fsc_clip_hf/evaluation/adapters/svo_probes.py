"""SVO-Probes (Hendricks & Nematzadeh, ACL Findings 2021; github.com/google-deepmind/svo_probes).

Layout under ``data_root``::

    svo_probes/svo_probes.csv             sentence, pos_triplet, neg_triplet, subj_neg, verb_neg, obj_neg,
                                          pos_url, neg_url, pos_image_id, neg_image_id
    svo_probes/images/<image_id>.jpg      the images, downloaded from pos_url / neg_url

Each sentence against its positive and its negative image (caption → images, the positive first; a tie
is wrong). The negative differs in the subject, the verb or the object. A row counts for a subset only
when exactly that negative flag is set, as the official notebook selects them
(``subj_neg & ~verb_neg & ~obj_neg``, ...): rows with several flags are left out of every subset
(``several_negative_types``) and rows with none too (``no_negative_type``). SVO-Probes = the mean of the
three subsets. The images are only published as URLs, many of which no longer resolve: rows whose two
images are not both on disk are skipped (``image_absent``), so scores cover the images you have.

Not comparable with the published figures: the FSC-CLIP evaluation's per-subset numbers are the
notebook's ``(pos_acc + neg_acc) / 2`` over unique sentence–image pairs (denominators 3,727 / 3,728,
13,523 / 13,592, 4,937 / 4,911 for subject / verb / object), and for all 202 published models one of the
two accuracies is exactly 100 %: its match decision for a contrastive model is not published. We report
the pairwise accuracy of each row, which that figure bounds from below at (100 + x) / 2.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, ImageChoice
from .base import Benchmark, Malformed, Skip, collect, data_path, read_csv, text

SUBSETS = ("subj_neg", "verb_neg", "obj_neg")
NO_TYPE, SEVERAL_TYPES = "no_negative_type", "several_negative_types"
_FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}


def flag(value, name: str) -> bool:
    """A negative-type cell (``True`` / ``False`` as pandas writes them)."""
    key = text(value, name).strip().lower()
    if key not in _FLAGS:
        raise Malformed(f"{name} is {value!r}, not True/False")
    return _FLAGS[key]


class SVOProbes(Benchmark):
    name, title, family, folder = "svo_probes", "SVO-Probes", "comp", "svo_probes"
    subsets = SUBSETS
    download = ("Get svo_probes.csv from github.com/google-deepmind/svo_probes into svo_probes/ and "
                "download its pos_url/neg_url images as svo_probes/images/<pos_image_id|neg_image_id>.jpg.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        table, images = os.path.join(root, "svo_probes.csv"), os.path.join(root, "images")
        self.require(data_root, [table, images])
        on_disk = set(os.listdir(images))
        data = BenchmarkData()

        def row_item(row):
            flags = [subset for subset in SUBSETS if flag(row[subset], subset)]
            if len(flags) != 1:
                raise Skip(NO_TYPE if not flags else SEVERAL_TYPES)
            names = [f"{text(row['pos_image_id'], 'pos_image_id')}.jpg", f"{text(row['neg_image_id'], 'neg_image_id')}.jpg"]
            if not all(name in on_disk for name in names):
                raise Skip(IMAGE_ABSENT, flags[0])
            return ImageChoice(subset=flags[0], caption=text(row["sentence"], "sentence"),
                               images=[ImageFile(data_path(images, name)) for name in names])

        collect(data, table, ((f"line {line}", row) for line, row in read_csv(table)), row_item)
        if data.is_empty():
            raise self.missing(data_root, [f"{images}/*.jpg for the rows of svo_probes.csv"])
        return data

