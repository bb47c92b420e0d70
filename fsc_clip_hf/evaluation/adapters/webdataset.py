"""Reading the ``clip-benchmark/wds_*`` WebDataset layout (as CLIP_benchmark writes and reads it)::

    <dataset>/test/nshards.txt                 number of shards N
    <dataset>/test/0.tar ... <N-1>.tar         samples: <key>.webp|png|jpg|jpeg + <key>.cls (label),
                                               <key>.npy (multi-label sets: a 0/1 vector over the classes,
                                               numpy's .npy serialisation) or <key>.txt (captions, one per
                                               line, retrieval sets)
    <dataset>/classnames.txt                   one class name per line (classification)
    <dataset>/zeroshot_classification_templates.txt   one prompt per line, "{c}" for the class name
    <dataset>/dataset_type.txt                 "retrieval" for retrieval sets, "multilabel" for multi-label ones

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


def read_samples(folder: str, text_fields: tuple[str, ...], split: str = "test",
                 binary_fields: tuple[str, ...] = ()) -> list[tuple[TarMember, dict]]:
    """``(image, {field: value})`` for every sample that has an image and all fields, in shard order:
    ``text_fields`` as text, ``binary_fields`` (such as ``npy``) as bytes."""
    fields = (*text_fields, *binary_fields)
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
                elif extension in fields:
                    data = archive.extractfile(member).read()
                    sample[extension] = data if extension in binary_fields else data.decode("utf-8")
        samples.extend((sample["image"], {field: sample[field] for field in fields})
                       for sample in grouped.values() if "image" in sample and all(f in sample for f in fields))
    return samples
