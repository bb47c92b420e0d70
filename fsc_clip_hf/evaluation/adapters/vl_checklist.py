"""VL-CheckList (Zhao et al., 2022; github.com/om-ai-lab/VL-CheckList).

Layout under ``data_root``::

    vl_checklist/data/...       the data/ folder of the VL-CheckList repository: JSON lists of
                                [image_path, {"POS": [captions], "NEG": [captions]}]
    visual_genome/VG_100K/..., visual_genome/VG_100K_2/...   images of the VG and VAW files
    swig/<image>.jpg                                          images of the SWiG files
    hake/<hake_images_20190730 | hico_20160224_det | ...>/   images of the HAKE files

Each image against its first positive and first negative caption (image → captions), as VL-CheckList's
ITC evaluation does; items whose image file is absent are skipped, as VL-CheckList's loader does
(counted in the notes). The subset of a file follows from its path:

* ``Object/Location/.../*_<center|mid|margin>.json`` → ``Object_Location_<position>``;
* ``Object/Size/.../*_<large|medium|small>.json`` → ``Object_Size_<size>``;
* ``Attribute/<vg|vaw>/<attribute>.json`` → ``Attribute_<attribute>``;
* ``Relation/.../<action|spatial>.json`` or ``Relation/<source>_action.json`` → ``Relation_<kind>``;

and its image folder from the source in its path (``hake``, ``swig``, else Visual Genome).
VL-CheckList = the mean of Object, Attribute and Relation, each the mean of its subsets: this reproduces
the FSC-CLIP evaluation's figures from their 13 subset scores. Uncertain: the repository's corpus
configurations point one file elsewhere than where the data folder has it (spatial relations); files
are found by walking ``data/``, so either place works.
"""

from __future__ import annotations

import os
import re

from ..images import ImageFile
from ..items import BenchmarkData, TextChoice
from .base import Benchmark, mean, read_json, shared_hint

CATEGORIES = ("Object", "Attribute", "Relation")
_SUFFIX = re.compile(r"_(center|mid|margin|large|medium|small)\.json$")


def subset_of(relative: str) -> str | None:
    """The subset of a data file from its path under ``data/`` (None for files that are no test set)."""
    parts = relative.replace("\\", "/").split("/")
    stem = os.path.splitext(parts[-1])[0]
    if parts[0] == "Object" and len(parts) > 2 and (match := _SUFFIX.search(parts[-1])):
        return f"Object_{parts[1]}_{match.group(1)}"
    if parts[0] == "Attribute" and stem == "spatial":
        return "Relation_spatial"  # where the corpus configuration expects the spatial relations
    if parts[0] == "Attribute":
        return f"Attribute_{stem}"
    if parts[0] == "Relation":
        return f"Relation_{stem.split('_')[-1]}"
    return None


def image_folder(relative: str) -> str:
    """The shared image folder of a data file, from the source named in its path."""
    lowered = relative.lower()
    return "hake" if "hake" in lowered else "swig" if "swig" in lowered else "visual_genome"


class VLCheckList(Benchmark):
    name, title, family, folder = "vl_checklist", "VL-CheckList", "comp", "vl_checklist"
    download = ("Get the data/ folder of github.com/om-ai-lab/VL-CheckList into vl_checklist/data/; "
                f"{shared_hint('visual_genome')}; {shared_hint('swig')}; {shared_hint('hake')}.")

    def load(self, data_root: str) -> BenchmarkData:
        root = os.path.join(self.root(data_root), "data")
        if not os.path.isdir(root):
            raise self.missing(data_root, [root])
        data, skipped = BenchmarkData(), 0
        for directory, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                relative = os.path.relpath(os.path.join(directory, name), root)
                subset = subset_of(relative) if name.endswith(".json") else None
                if subset is None:
                    continue
                images = os.path.join(data_root, image_folder(relative))
                if not os.path.isdir(images):
                    if images not in data.missing:
                        data.missing.append(images)
                    continue
                for image, texts in read_json(os.path.join(root, relative)):
                    path = os.path.join(images, image)
                    if not os.path.exists(path):
                        skipped += 1
                        continue
                    data.text_choices.append(TextChoice(subset=subset, image=ImageFile(path),
                                                        captions=[texts["POS"][0], texts["NEG"][0]]))
        if skipped:
            data.notes.append(f"{skipped} items skipped: their image file is absent")
        if data.is_empty():
            raise self.missing(data_root, data.missing or [f"{root}/**/*.json"])
        return data

    def summarise(self, scores):
        subsets = {subset: values["accuracy"] for subset, values in sorted(scores.items())}
        categories = [mean(value for subset, value in subsets.items() if subset.startswith(category + "_"))
                      for category in CATEGORIES]
        return subsets, mean(categories)
