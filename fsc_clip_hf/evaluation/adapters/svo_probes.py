"""SVO-Probes (Hendricks & Nematzadeh, ACL Findings 2021; github.com/google-deepmind/svo_probes).

Layout under ``data_root``::

    svo_probes/svo_probes.csv             sentence, pos_triplet, neg_triplet, subj_neg, verb_neg, obj_neg,
                                          pos_url, neg_url, pos_image_id, neg_image_id
    svo_probes/images/<image_id>.jpg      the images, downloaded from pos_url / neg_url

Each sentence against its positive and its negative image (caption → images). The negative differs in
the subject, the verb or the object (``subj_neg`` / ``verb_neg`` / ``obj_neg``); SVO-Probes = the mean of
the three subsets. The images are only published as URLs, many of which no longer resolve: rows whose
two images are not both on disk are skipped and counted in the notes, so scores cover the images you
have (the published numbers covered the images their authors had).
"""

from __future__ import annotations

import csv
import os

from ..images import ImageFile
from ..items import BenchmarkData, ImageChoice
from .base import Benchmark, mean

SUBSETS = ("subj_neg", "verb_neg", "obj_neg")


class SVOProbes(Benchmark):
    name, title, family, folder = "svo_probes", "SVO-Probes", "comp", "svo_probes"
    download = ("Get svo_probes.csv from github.com/google-deepmind/svo_probes into svo_probes/ and "
                "download its pos_url/neg_url images as svo_probes/images/<pos_image_id|neg_image_id>.jpg.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        table, images = os.path.join(root, "svo_probes.csv"), os.path.join(root, "images")
        self.require(data_root, [table, images])
        on_disk = set(os.listdir(images))
        data, rows, skipped = BenchmarkData(), 0, 0
        with open(table, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows += 1
                names = [f"{row['pos_image_id']}.jpg", f"{row['neg_image_id']}.jpg"]
                subsets = [subset for subset in SUBSETS if row[subset].strip().lower() == "true"]
                if not subsets or not all(name in on_disk for name in names):
                    skipped += 1
                    continue
                data.image_choices.append(ImageChoice(
                    subset=subsets[0], caption=row["sentence"],
                    images=[ImageFile(os.path.join(images, name)) for name in names],
                ))
        if skipped:
            data.notes.append(f"{skipped} of {rows} rows skipped: an image is not in svo_probes/images/")
        if data.is_empty():
            raise self.missing(data_root, [f"{images}/*.jpg for the rows of svo_probes.csv"])
        return data

    def summarise(self, scores):
        subsets = {subset: scores[subset]["accuracy"] for subset in SUBSETS if subset in scores}
        return subsets, mean(subsets.get(subset) for subset in SUBSETS)
