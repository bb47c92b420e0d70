"""ELEVATER's own release of its image-classification tasks, read as ELEVATER's toolkit reads it.

ELEVATER's toolkit (github.com/Computer-Vision-in-the-Wild/Elevater_Toolkit_IC) downloads each task with
``vision-datasets`` (microsoft/vision-datasets 0.2.17); its DataDownload repository
(github.com/Computer-Vision-in-the-Wild/DataDownload) does the same on demand::

    pip install vision-datasets==0.2.17
    cd DataDownload/classification
    python download_datasets.py --ds caltech-101 --output_dir <data_root>/elevater

which leaves each task in ``<data_root>/elevater/classification/<release>/``, the release folder being
the ``root_folder`` of ELEVATER's ``vision_datasets.json`` (e.g. ``caltech_101_20211007``). The folders
of ELEVATER's own per-task ``DATASET.ROOT`` (``<data_root>/elevater/<any>/classification/<release>/``)
and a bare ``<data_root>/elevater/<release>/`` are found too. A release folder holds the test index,
its zips and a labelmap, in one of vision-datasets' two formats:

* iris (most tasks): ``<index>.txt``, one image per line, ``<zip>@<path in the zip> <label>[,<label>...]``
  (class indices from 0; several for the multi-label VOC 2007);
* coco (ImageNet-1k, KITTI distance, RESISC45, Hateful Memes): ``<index>.json``,
  ``{"images": [{"id", "file_name", "zip_file"}], "annotations": [{"image_id", "category_id"}],
  "categories": [{"id", "name"}]}``; a class is the position of its category id among the sorted ids,
  and the images come in id order.

Images are read inside the zips, which stay packed; a folder named as a zip (its contents unpacked
there) works too. The class names and prompt templates are ELEVATER's own ``class_map`` and
``template_map`` (shipped here as ``elevater_prompts.json``, source and commit named inside), which its
toolkit uses whatever the release's labelmap says.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import zipfile
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from ...paths import PathOutsideRoot, join_under
from ..images import ImageFile, ImageSource, ZipMember
from .base import read_json

FOLDER = "elevater"


@dataclass
class Release:
    """The test split of one task as read from ELEVATER's release."""

    images: list[ImageSource] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)  # per image its class indices (maybe none)
    absent: list[str] = field(default_factory=list)  # index entries whose image is not in its zip or folder
    refused: list[str] = field(default_factory=list)  # "entry: why" for paths that leave the release folder


def find_release(data_root: str, release: str) -> str | None:
    """The folder of ELEVATER's ``release`` under ``data_root/elevater``, or None."""
    base = os.path.join(data_root, FOLDER)
    candidates = [os.path.join(base, "classification", release), os.path.join(base, release),
                  *sorted(glob.glob(os.path.join(glob.escape(base), "*", "classification", release)))]
    return next((folder for folder in candidates if os.path.isdir(folder)), None)


@cache
def _prompts() -> dict:
    text = resources.files(__package__).joinpath("elevater_prompts.json").read_text(encoding="utf-8")
    return json.loads(text)["tasks"]


def elevater_prompts(dataset: str) -> tuple[list[str], list[str]]:
    """ELEVATER's ``(class names, templates)`` of ``dataset`` (its name in ELEVATER, e.g. ``caltech-101``);
    templates say ``{c}`` where the class name goes."""
    task = _prompts()[dataset]
    return list(task["classnames"]), list(task["templates"])


def read_release(folder: str, index: str) -> Release:
    """The images and labels listed by ``folder/index`` (iris ``.txt`` or coco ``.json``), in index order.

    Raises:
        FileNotFoundError: a zip the index names is absent (and not unpacked into a folder of its name).
        ValueError: an index line or entry that cannot be read, with the file and line or image id.
    """
    path = os.path.join(folder, index)
    entries = _coco_entries(path) if index.endswith(".json") else _iris_entries(path)
    images = _ImageResolver(folder)
    release = Release()
    for image_path, labels in entries:
        try:
            source = images(image_path)
        except PathOutsideRoot as error:
            release.refused.append(f"{image_path}: {error}")
            continue
        if source is None:
            release.absent.append(image_path)
            continue
        release.images.append(source)
        release.labels.append(labels)
    return release


def _iris_entries(path: str) -> list[tuple[str, list[int]]]:
    entries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            # vision-datasets' rule: only the image path may hold spaces, so the labels follow the last one.
            image_path, _, labels = line.rpartition(" ")
            if not image_path:
                entries.append((labels, []))
                continue
            try:
                entries.append((image_path, [int(label) for label in labels.split(",")]))
            except ValueError:
                raise ValueError(f"{path}, line {number}: labels {labels!r} are not comma-separated class "
                                 "indices") from None
    return entries


def _coco_entries(path: str) -> list[tuple[str, list[int]]]:
    data = read_json(path)
    try:
        position = {category["id"]: index for index, category in
                    enumerate(sorted(data["categories"], key=lambda category: category["id"]))}
        labels: dict = {image["id"]: [] for image in data["images"]}
        for annotation in data["annotations"]:
            labels[annotation["image_id"]].append(position[annotation["category_id"]])
        return [((f"{image['zip_file']}@" if image.get("zip_file") else "") + image["file_name"], labels[image["id"]])
                for image in sorted(data["images"], key=lambda image: image["id"])]
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a vision-datasets coco index ({type(error).__name__}: {error})") from None


class _ImageResolver:
    """Image paths of vision-datasets (``images.zip@dir/x.jpg`` or a plain relative path) → image sources."""

    def __init__(self, folder: str):
        self.folder = folder
        self.members: dict[str, dict[str, zipfile.ZipInfo] | None] = {}

    def __call__(self, path: str) -> ImageSource | None:
        """The image ``path`` names, None when it is absent.

        Raises:
            PathOutsideRoot: ``path`` (or the zip it names) is absolute or climbs out of the folder.
        """
        archive, separator, inner = path.partition("@")
        if not separator:
            local = join_under(self.folder, path)
            return ImageFile(local) if os.path.isfile(local) else None
        members = self._members(join_under(self.folder, archive))
        if members is None:  # unpacked into a folder named as the zip
            local = join_under(os.path.splitext(os.path.join(self.folder, archive))[0], inner)
            return ImageFile(local) if os.path.isfile(local) else None
        info = members.get(inner)
        if info is None:
            return None
        return ZipMember(os.path.join(self.folder, archive), inner, info.header_offset, info.compress_size,
                         info.compress_type)

    def _members(self, path: str) -> dict[str, zipfile.ZipInfo] | None:
        """The members of the zip at ``path`` by name, None when it is unpacked into a folder of its name."""
        if path not in self.members:
            if os.path.isfile(path):
                try:
                    with zipfile.ZipFile(path) as handle:  # the central directory, read once per zip
                        self.members[path] = {info.filename: info for info in handle.infolist()
                                                 if not info.is_dir()}
                except zipfile.BadZipFile as error:
                    raise ValueError(f"{path}: not a readable zip ({error}); download it again") from None
            elif os.path.isdir(os.path.splitext(path)[0]):
                self.members[path] = None
            else:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return self.members[path]
