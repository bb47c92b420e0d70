"""What every benchmark adapter provides, and small helpers they share.

An adapter reads one benchmark's published files under ``data_root`` into test items
(:class:`~fsc_clip_hf.evaluation.items.BenchmarkData`) and summarises the per-subset scores the way the
benchmark's official code (and the FSC-CLIP evaluation) does. When its files are absent it raises
:class:`MissingData` naming what to download and where to put it; when only some parts are absent it
returns the rest with ``data.missing`` filled in.

Bad input: a file that cannot be parsed at all (truncated JSON, not a CSV) fails its benchmark with an
error naming the file. A single bad item (a missing key, a null caption, bytes that are not UTF-8) is
skipped and counted with its file and id (:func:`collect`); files are decoded with
``errors="surrogateescape"`` so that one undecodable byte costs its item, not the file.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping

from ...paths import PathOutsideRoot, join_under
from ..items import MALFORMED, BenchmarkData

# Image collections several benchmarks share, as folders under data_root, with where to get them.
SHARED_IMAGES = {
    "coco/val2014": "COCO 2014 val images: http://images.cocodataset.org/zips/val2014.zip, unzipped into coco/",
    "coco/train2014": "COCO 2014 train images: http://images.cocodataset.org/zips/train2014.zip, unzipped into coco/",
    "coco/val2017": "COCO 2017 val images: http://images.cocodataset.org/zips/val2017.zip, unzipped into coco/",
    "visual_genome": "Visual Genome images (https://homes.cs.washington.edu/~ranjay/visualgenome/api.html): "
                     "images.zip and images2.zip unzipped into visual_genome/VG_100K and visual_genome/VG_100K_2",
    "swig": "SWiG images: https://swig-data-weights.s3.us-east-2.amazonaws.com/images_512.zip, "
            "its images directly in swig/",
    "hake": "HAKE images (https://github.com/DirtyHarryLYL/HAKE/tree/master/Images), laid out as in "
            "VL-CheckList's DATASETS.md under hake/",
    "flickr30k": "Flickr30k images (https://shannon.cs.illinois.edu/DenotationGraph/, by request), "
                 "in flickr30k/flickr30k-images/",
}


def shared_hint(folder: str) -> str:
    """Where to get a shared image folder (``SHARED_IMAGES``), for missing-data messages."""
    return SHARED_IMAGES[folder]


class MissingData(Exception):
    """A benchmark's data is not under ``data_root``; the message says what to fetch and where."""


class Skip(Exception):
    """Raised while building an item to leave it out for ``reason`` (counted under ``subset``)."""

    def __init__(self, reason: str, subset: str | None = None):
        super().__init__(reason)
        self.reason, self.subset = reason, subset


class Malformed(ValueError):
    """A record that is not a usable test item (the adapter skips and counts it)."""


# Errors that mean "this record is malformed", as opposed to "this file is unreadable".
RECORD_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)
# Lone surrogates: what undecodable bytes become under surrogateescape (and what a JSON "\ud83d" gives).
_NOT_TEXT = re.compile("[\ud800-\udfff]")
WHOLE = "(all)"  # the skip bucket of records whose subset is not known


def text(value, name: str = "caption") -> str:
    """``value`` if it is a string of real text; a null, a number or undecodable bytes are :class:`Malformed`."""
    if not isinstance(value, str):
        raise Malformed(f"{name} is {'null' if value is None else type(value).__name__}, not text")
    if _NOT_TEXT.search(value):
        raise Malformed(f"{name} holds bytes that are not UTF-8")
    return value


def describe(error: Exception) -> str:
    """A short reason for a malformed record, e.g. ``"no 'caption'"``."""
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r}" if error.args else "a key is missing"
    return str(error) or type(error).__name__


def collect(data: BenchmarkData, path: str, records: Iterable[tuple[object, object]],
            build: Callable[[object], object], subset: str | None = None) -> int:
    """Add to ``data`` the items that ``build`` makes of each ``(item id, record)`` of file ``path``.

    ``build`` returns a test item, a list of them or None (nothing to score, nothing to count); it raises
    :class:`Skip` to leave a record out for a reason, and any of ``RECORD_ERRORS`` (or
    :class:`Malformed`) when the record is malformed. Skipped records are counted under their subset (the
    Skip's, else ``subset``) with the file and id of the first few. Returns how many items were added.
    """
    added = 0
    for item_id, record in records:
        try:
            built = build(record)
        except Skip as skip:
            data.skips.add(skip.subset or subset or WHOLE, skip.reason, f"{path} [{item_id}]")
            continue
        except RECORD_ERRORS as error:
            data.skips.add(subset or WHOLE, MALFORMED, f"{path} [{item_id}]: {describe(error)}")
            continue
        for item in built if isinstance(built, list) else [] if built is None else [built]:
            data.add(item)
            added += 1
    return added


class Benchmark:
    """One benchmark: how to read it and how to summarise it.

    Attributes:
        name: the key used on the command line and in ``results.json``.
        title: the display name of tables (the paper's spelling).
        family: ``"comp"`` (counts towards Comp), ``"comp_extra"`` (compositionality outside the paper's Comp:
            ColorSwap and MMVP-VLM, which count towards Comp-12, and SugarCrepe++), ``"zs"`` (towards ZS)
            or ``"retrieval"``.
        suite: ``"published"`` (the seed's evaluation suite) or ``"synthetic"`` (the offline world).
        folder: its folder under ``data_root`` (shared image folders are named in ``download``).
        download: where to get the data and how to lay it out (shown when it is missing).
        subsets: the subsets whose plain mean is the headline, in the paper's order (each required); empty:
            every subset scored. Other subsets scored are reported beside them.
    """

    name: str
    title: str
    family: str
    suite: str = "published"
    folder: str
    download: str
    subsets: tuple[str, ...] = ()

    def load(self, data_root: str) -> BenchmarkData:
        raise NotImplementedError

    def summarise(self, scores: Mapping[str, Mapping[str, float]]) -> tuple[dict[str, float], float | None]:
        """``(reported subsets, headline)`` from the per-subset scores of the scoring engine.
        Default: each subset's accuracy, headline their plain mean (:meth:`headline`)."""
        names = dict.fromkeys([*self.subsets, *scores])  # the declared subsets first, then any other scored
        subsets = {subset: scores[subset]["accuracy"] for subset in names if subset in scores}
        return subsets, self.headline(subsets)

    def figures(self, subsets: Mapping[str, float]) -> dict[str, float | None]:
        """Named figures beside the headline, from the reported subsets (MMVP-VLM's official metric,
        SugarCrepe++'s ITT and TOT); none by default."""
        return {}

    @classmethod
    def headline(cls, subsets: Mapping[str, float]) -> float | None:
        """The plain mean of the subsets' figures: of every one of :attr:`subsets` when declared (None while
        one is missing), else of those given."""
        return mean(subsets.get(subset) for subset in cls.subsets) if cls.subsets else mean(subsets.values())

    # ------------------------------------------------------------------ helpers for adapters

    def root(self, data_root: str) -> str:
        return os.path.join(data_root, self.folder)

    def require(self, data_root: str, paths: Iterable[str]) -> None:
        """Raise :class:`MissingData` when any of ``paths`` (without which nothing can be read) is absent."""
        lacking = absent(paths)
        if lacking:
            raise self.missing(data_root, lacking)

    def missing(self, data_root: str, parts: Iterable[str]) -> MissingData:
        """The error for absent ``parts`` (paths): each shown by its first absent folder, with the download."""
        shown = ", ".join(sorted({first_absent(path, data_root) for path in parts}))
        return MissingData(f"{self.title}: missing {shown}. {self.download.replace('<data_root>', data_root)} "
                           f"Or: {download_command(self.name, data_root)}")


def download_command(name: str, data_root: str) -> str:
    """The command that fetches benchmark ``name`` into ``data_root`` (or prints the steps where it is gated)."""
    return f"python -m fsc_clip_hf.evaluation.download --benchmarks {name} --data_root {data_root}"


def data_path(folder: str, *parts: str) -> str:
    """``folder/parts`` for path parts read from a benchmark's files; one that is absolute or climbs out of
    ``folder`` through ``..`` makes its item :class:`Malformed` (``fsc_clip_hf.paths``)."""
    try:
        return join_under(folder, os.path.join(*parts))
    except PathOutsideRoot as error:
        raise Malformed(str(error)) from None


def first_absent(path: str, data_root: str) -> str:
    """The shortest absent prefix of ``path`` below ``data_root`` (a missing folder, not its 7 files)."""
    relative = os.path.relpath(path, data_root)
    if relative.startswith(".."):
        return path
    current = data_root
    for part in relative.split(os.sep):
        current = os.path.join(current, part)
        if not os.path.exists(current):
            return current
    return path


def absent(paths: Iterable[str]) -> list[str]:
    """The paths among ``paths`` that do not exist."""
    return [path for path in paths if not os.path.exists(path)]


def _open(path: str):
    return open(path, encoding="utf-8", errors="surrogateescape", newline="")


def read_json(path: str):
    """A JSON file; a truncated or corrupt download raises a ``ValueError`` that names the file
    (undecodable bytes inside strings survive as lone surrogates, for :func:`text` to refuse)."""
    with _open(path) as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from None


def read_json_list(path: str) -> list:
    """A JSON file that must hold a list; anything else fails its benchmark, naming the file."""
    value = read_json(path)
    if not isinstance(value, list):
        raise ValueError(f"{path}: expected a JSON list, found {type(value).__name__}")
    return value


def read_json_dict(path: str) -> dict:
    """A JSON file that must hold an object (``{id: record}``)."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def read_jsonl(path: str) -> list[dict]:
    """A JSON-lines file; a bad line raises a ``ValueError`` that names the file and the line."""
    rows = []
    with _open(path) as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {number}: not valid JSON ({error})") from None
    return rows


def read_csv(path: str) -> list[tuple[int, dict]]:
    """``(line number, row)`` of a CSV file with a header; a file that is no CSV fails, naming it."""
    with _open(path) as handle:
        try:
            reader = csv.DictReader(handle)
            return [(reader.line_num, row) for row in reader]
        except csv.Error as error:
            raise ValueError(f"{path}: not a readable CSV ({error})") from None


def read_lines(path: str) -> list[str]:
    """Non-empty lines, stripped."""
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def mean(values: Iterable[float | None]) -> float | None:
    """Plain mean; None when there is nothing (or a None) to average."""
    values = list(values)
    if not values or any(value is None for value in values):
        return None
    return sum(values) / len(values)


def pooled_accuracy(scores: Mapping[str, Mapping[str, float]], subsets: Iterable[str]) -> float | None:
    """Accuracy over all items of ``subsets`` together (each subset weighted by its item count)."""
    chosen = [scores[subset] for subset in subsets if subset in scores]
    total = sum(values["count"] for values in chosen)
    return sum(values["accuracy"] * values["count"] for values in chosen) / total if total else None
