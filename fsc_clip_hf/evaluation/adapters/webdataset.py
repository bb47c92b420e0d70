"""Reading the ``clip-benchmark/wds_*`` WebDataset layout (as CLIP_benchmark writes and reads it)::

    <dataset>/test/nshards.txt                 number of shards N
    <dataset>/test/0.tar ... <N-1>.tar         samples: <key>.webp|png|jpg|jpeg + <key>.cls (label) or
                                               <key>.txt (captions, one per line, retrieval sets)
    <dataset>/classnames.txt                   one class name per line (classification)
    <dataset>/zeroshot_classification_templates.txt   one prompt per line, "{c}" for the class name
    <dataset>/dataset_type.txt                 "retrieval" for retrieval sets

Shards are read with :mod:`tarfile`, never unpacked: images become :class:`TarMember` sources located
by byte offset, the small text members are read right away.
"""

from __future__ import annotations

import glob
import os
import re
import tarfile

from ..images import TarMember

IMAGE_EXTENSIONS = ("webp", "png", "jpg", "jpeg")


def shard_paths(folder: str, split: str = "test") -> list[str]:
    """The shards of ``split``: ``0.tar .. N-1.tar`` per ``nshards.txt``, else every ``*.tar`` in numeric order."""
    directory = os.path.join(folder, split)
    count_file = os.path.join(directory, "nshards.txt")
    if os.path.exists(count_file):
        with open(count_file, encoding="utf-8") as handle:
            return [os.path.join(directory, f"{index}.tar") for index in range(int(handle.read().strip()))]
    return sorted(glob.glob(os.path.join(directory, "*.tar")),
                  key=lambda path: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)])


def read_samples(folder: str, text_fields: tuple[str, ...], split: str = "test") -> list[tuple[TarMember, dict]]:
    """``(image, {field: text})`` for every sample that has an image and all ``text_fields``, in shard order."""
    samples = []
    for path in shard_paths(folder, split):
        grouped: dict[str, dict] = {}
        with tarfile.open(path, "r:") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                directory, base = os.path.split(member.name)
                stem, _, extension = base.partition(".")
                sample = grouped.setdefault(os.path.join(directory, stem), {})
                extension = extension.lower()
                if extension in IMAGE_EXTENSIONS and "image" not in sample:
                    sample["image"] = TarMember(path, member.name, member.offset_data, member.size)
                elif extension in text_fields:
                    sample[extension] = archive.extractfile(member).read().decode("utf-8")
        samples.extend((sample["image"], {field: sample[field] for field in text_fields})
                       for sample in grouped.values() if "image" in sample and all(f in sample for f in text_fields))
    return samples
