"""VL-CheckList (Zhao et al., 2022; github.com/om-ai-lab/VL-CheckList).

Layout under ``data_root``::

    vl_checklist/data/...       the data/ folder of the VL-CheckList repository: JSON lists of
                                [image_path, {"POS": [captions], "NEG": [captions]}]
    visual_genome/VG_100K/..., visual_genome/VG_100K_2/...   images of the VG and VAW files
    swig/<image>.jpg                                          images of the SWiG files
    hake/<hake_images_20190730 | hico_20160224_det | ...>/   images of the HAKE files

Scored as VL-CheckList's own ITC evaluation (``vl_checklist/evaluate.py`` with ``MAX_NUM: 2000``):

* the corpus files are those of its ``corpus.json`` (``CORPUS`` below: 13 metrics, each over sources,
  each over files; the SWiG ``place`` files of data/ are in no metric and are not read);
* of each file, the items whose image exists, then the first 1,000 of them (``MAX_NUM / 2`` in ITC mode);
  absent images are counted (``image_absent``), the items past the first 1,000 are not part of the
  benchmark (a note gives their number);
* each image against the first positive and the first negative caption, right when the positive scores
  strictly higher;
* per metric as its ``radar.py`` aggregates: accuracy per file, mean over the files of a source, mean
  over the sources. VL-CheckList = the mean of Object (6 metrics), Attribute (5) and Relation (2), each
  the mean of its metrics (checked on the 202 published models, whose Relation_spatial is k / 1000).

The spatial relations are read from ``Relation/vg/spatial.json`` (the corpus configuration), or from
``Attribute/vg/spatial.json`` where an older copy of data/ has them.
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, TextChoice
from .base import Benchmark, Skip, collect, data_path, mean, read_json_list, shared_hint, text

MAX_ITEMS_PER_FILE = 1000  # MAX_NUM 2000, halved in ITC mode
CATEGORIES = ("Object", "Attribute", "Relation")
IMAGE_FOLDERS = {"vg": "visual_genome", "vaw": "visual_genome", "swig": "swig", "hake": "hake"}
_SWIG_ROLES = ("agent", "destination", "item", "tool")


def _object_files(dimension: str, value: str) -> dict[str, list[str]]:
    folder = f"Object/{dimension}/{{}}_{dimension.lower()}"
    return {"vg": [f"{folder.format('vg')}/vg_{part}_{value}.json" for part in ("obj", "subj")],
            "swig": [f"{folder.format('swig')}/swig_{role}/swig_{role}_{value}.json" for role in _SWIG_ROLES],
            "hake": [f"{folder.format('hake')}/hake_obj_{value}.json"]}


# metric -> source -> corpus files under data/ (VL-CheckList's corpus.json and corpus/v1/**.yaml).
CORPUS: dict[str, dict[str, list[str]]] = {
    **{f"Object_Size_{size}": _object_files("Size", size) for size in ("large", "medium", "small")},
    **{f"Object_Location_{place}": _object_files("Location", place) for place in ("center", "mid", "margin")},
    **{f"Attribute_{kind}": {source: [f"Attribute/{source}/{kind}.json"] for source in ("vg", "vaw")}
       for kind in ("color", "material", "action", "size", "state")},
    "Relation_action": {"vg": ["Relation/vg/action.json"], "swig": ["Relation/swig_action.json"],
                        "hake": ["Relation/hake_action.json"]},
    "Relation_spatial": {"vg": ["Relation/vg/spatial.json"]},
}
_OLDER_PLACES = {"Relation/vg/spatial.json": "Attribute/vg/spatial.json"}


def scoring_subset(metric: str, source: str, relative: str) -> str:
    """The engine's subset of one corpus file: ``<metric>/<source>/<file stem>``."""
    return f"{metric}/{source}/{os.path.splitext(os.path.basename(relative))[0]}"


class VLCheckList(Benchmark):
    name, title, family, folder = "vl_checklist", "VL-CheckList", "comp", "vl_checklist"
    download = ("Get the data/ folder of github.com/om-ai-lab/VL-CheckList into vl_checklist/data/; "
                f"{shared_hint('visual_genome')}; {shared_hint('swig')}; {shared_hint('hake')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root = os.path.join(self.root(data_root), "data")
        if not os.path.isdir(root):
            raise self.missing(data_root, [root])
        data, beyond = BenchmarkData(item_set=f"first {MAX_ITEMS_PER_FILE} items with an image of each corpus file"), 0
        for metric, sources in CORPUS.items():
            for source, files in sources.items():
                images = os.path.join(data_root, IMAGE_FOLDERS[source])
                for relative in files:
                    path = os.path.join(root, relative)
                    if not os.path.exists(path) and relative in _OLDER_PLACES:
                        path = os.path.join(root, _OLDER_PLACES[relative])
                    if not os.path.exists(path) or not os.path.isdir(images):
                        data.missing.extend(part for part in (os.path.join(root, relative), images)
                                            if not os.path.exists(part) and part not in data.missing)
                        continue
                    beyond += self._read_file(data, path, images, scoring_subset(metric, source, relative))
        if beyond:
            data.notes.append(f"{beyond} items past the first {MAX_ITEMS_PER_FILE} of their file are not scored "
                              "(VL-CheckList's MAX_NUM)")
        if data.is_empty():
            raise self.missing(data_root, data.missing or [f"{root}/**/*.json"])
        return data

    @staticmethod
    def _read_file(data: BenchmarkData, path: str, images: str, subset: str) -> int:
        """Add the first ``MAX_ITEMS_PER_FILE`` items of one corpus file whose image exists; returns how
        many further items with an image the file has."""
        kept: list[TextChoice] = []
        beyond = 0

        def item(record):
            nonlocal beyond
            image, captions = record
            image_path = data_path(images, text(image, "image path"))
            if not os.path.exists(image_path):
                raise Skip(IMAGE_ABSENT)
            choice = TextChoice(subset=subset, image=ImageFile(image_path),
                                captions=[text(captions["POS"][0], "POS"), text(captions["NEG"][0], "NEG")])
            if len(kept) >= MAX_ITEMS_PER_FILE:
                beyond += 1
                return None
            kept.append(choice)
            return choice

        collect(data, path, enumerate(read_json_list(path)), item, subset=subset)
        return beyond

    def summarise(self, scores):
        files = {subset: values["accuracy"] for subset, values in scores.items()}
        subsets = {}
        for metric, sources in CORPUS.items():
            per_source = []
            for source, relatives in sources.items():
                accuracies = [files.get(scoring_subset(metric, source, relative)) for relative in relatives]
                if any(accuracy is not None for accuracy in accuracies):
                    per_source.append(mean(accuracy for accuracy in accuracies if accuracy is not None))
            if per_source:
                subsets[metric] = mean(per_source)
        return dict(sorted(subsets.items())), self.headline(subsets)

    @staticmethod
    def headline(subsets):
        """VL-CheckList from its 13 metrics: the mean of Object, Attribute and Relation, each the mean of
        its metrics."""
        return mean(mean(value for metric, value in subsets.items() if metric.startswith(category + "_"))
                    for category in CATEGORIES)
