"""WebDataset tar shards: pattern expansion, a fault-tolerant streaming reader, caption side files.

We read the tars ourselves instead of through the ``webdataset`` builder of ``datasets``: that
builder decodes every member eagerly inside its generator (images, but also ``.txt`` as strict
UTF-8 and ``.json``), so a single bad member raises and ends the whole iteration. Here members
stay raw bytes and a damaged shard only loses its own remaining samples (counted as
``corrupt_shard``). Works on local paths and on any fsspec URL (``hf://datasets/...``).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import posixpath
import re
import tarfile
import zlib
from collections.abc import Iterator, Sequence

import fsspec

logger = logging.getLogger(__name__)

# Member extensions read as the sample's image, by preference.
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
_BRACE = re.compile(r"\{([^{}]*)\}")
_RANGE = re.compile(r"^(\d+)\.\.(\d+)$")


def expand_braces(pattern: str) -> list[str]:
    """Expand ``{000..003}`` numeric ranges (zero padding kept) and ``{a,b}`` alternatives."""
    match = _BRACE.search(pattern)
    if match is None:
        return [pattern]
    body = match.group(1)
    numeric = _RANGE.match(body)
    if numeric:
        lo, hi = numeric.groups()
        width = len(lo) if lo.startswith("0") else 0
        options = [str(i).zfill(width) for i in range(int(lo), int(hi) + 1)]
    else:
        options = body.split(",")
    head, tail = pattern[: match.start()], pattern[match.end():]
    return [expanded for option in options for expanded in expand_braces(head + option + tail)]


def _is_remote(path: str) -> bool:
    return "://" in path


def join_path(base: str, *parts: str) -> str:
    """Join a local path or a URL (URLs always use ``/``)."""
    return posixpath.join(base, *parts) if _is_remote(base) else os.path.join(base, *parts)


def parent_path(path: str) -> str:
    return posixpath.dirname(path) if _is_remote(path) else os.path.dirname(path)


def expand_shard_pattern(pattern: str | Sequence[str]) -> list[str]:
    """Shard URLs from a brace pattern, a glob, a directory, or a list of those (sorted within each).

    Raises:
        FileNotFoundError: when the pattern matches no file.
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    shards: list[str] = []
    for item in patterns:
        for path in expand_braces(item):
            if _is_remote(path):
                fs, _ = fsspec.core.url_to_fs(path)
                if glob.has_magic(path):
                    shards.extend(sorted(fs.unstrip_protocol(p) for p in fs.glob(path)))
                else:
                    shards.append(path)
            elif os.path.isdir(path):
                shards.extend(sorted(glob.glob(os.path.join(path, "*.tar"))))
            elif glob.has_magic(path):
                shards.extend(sorted(glob.glob(path)))
            elif os.path.exists(path):
                shards.append(path)
            else:
                raise FileNotFoundError(f"WebDataset shard {path!r} (from {item!r}) does not exist")
    if not shards:
        raise FileNotFoundError(f"no WebDataset shard matches {pattern!r}")
    return shards


def split_member_name(name: str) -> tuple[str, str] | None:
    """``dir/000123.coca.txt`` -> (``dir/000123``, ``coca.txt``); None for names without extension."""
    directory, base = posixpath.split(name)
    if base.startswith(".") or "." not in base:
        return None
    stem, ext = base.split(".", 1)
    return posixpath.join(directory, stem), ext.lower()


class Oversized:
    """Stands for a tar member over the size cap, which is passed over instead of read into memory."""

    def __init__(self, size: int, cap: int):
        self.size, self.cap = size, cap

    def __str__(self) -> str:
        return f"{self.size} bytes, cap {self.cap}"


def iter_tar_samples(url: str, max_bytes: int | None = None) -> Iterator[tuple[str, dict[str, bytes | Oversized]]]:
    """Yield ``(key, {extension: raw bytes})`` per sample, members grouped by consecutive key; a member
    over ``max_bytes`` is ``Oversized`` instead of its bytes.

    Raises:
        tarfile.TarError, EOFError, OSError: the shard is damaged (after yielding what came before). A
            shard cut at a member header, which ``tarfile`` takes for the end of the archive, is damaged
            too: it lacks the end-of-archive block, and its last, possibly partial, sample is not yielded.
    """
    with fsspec.open(url, "rb") as stream, tarfile.open(fileobj=stream, mode="r|*") as archive:
        key, fields = None, {}
        for member in archive:
            if not member.isfile():
                continue
            parts = split_member_name(member.name)
            if parts is None:
                continue
            member_key, ext = parts
            if member_key != key and fields:
                yield key, fields
                fields = {}
            key = member_key
            if max_bytes is not None and member.size > max_bytes:
                fields[ext] = Oversized(member.size, max_bytes)  # tarfile skips its data unread
            else:
                fields[ext] = archive.extractfile(member).read()
        # archive.offset is where the end-of-archive block was looked for; fileobj.pos how far the
        # (decompressed) stream went: short of a whole block, the stream simply stopped there.
        if archive.fileobj.pos < archive.offset + tarfile.BLOCKSIZE:
            raise tarfile.ReadError(f"the shard ends at byte {archive.fileobj.pos} without an end-of-archive "
                                    "block (cut at a member header)")
        if fields:
            yield key, fields


def sample_image_field(fields: dict) -> str | None:
    """The extension holding the sample's image, or None."""
    return next((ext for ext in IMAGE_EXTENSIONS if ext in fields), None)


class CaptionSideFiles:
    """Captions stored beside the shards as one ``<key>.txt`` per sample, of which the first line is the
    caption (as the authors read the CC-3M CoCa captions).

    Either a folder ``<base>/<name>/<key>.txt`` or an archive ``<base>/<name>.tar.gz`` (as published
    for the CC-3M CoCa captions); the archive is read once per process on first use.
    """

    def __init__(self, base: str, name: str):
        fs, root = fsspec.core.url_to_fs(join_path(base, name))
        self._folder = fs.unstrip_protocol(root) if fs.isdir(root) else None
        self._archive = None
        if self._folder is None:
            for suffix in (".tar.gz", ".tgz", ".tar"):
                candidate = root + suffix
                if fs.exists(candidate):
                    self._archive = fs.unstrip_protocol(candidate)
                    break
        self._table: dict[str, bytes] | None = None

    @property
    def found(self) -> bool:
        return self._folder is not None or self._archive is not None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_table"] = None  # each process loads its own copy instead of receiving a pickled one
        return state

    def get(self, key: str) -> bytes | None:
        stem = posixpath.basename(key)
        if self._folder is not None:
            try:
                with fsspec.open(posixpath.join(self._folder, stem + ".txt"), "rb") as f:
                    return _first_line(f.read())
            except FileNotFoundError:
                return None
        if self._table is None:
            self._table = {}
            try:
                for member_key, fields in iter_tar_samples(self._archive):
                    if isinstance(fields.get("txt"), bytes):
                        self._table[posixpath.basename(member_key)] = _first_line(fields["txt"])
            except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
                # The captions read so far serve; the samples whose caption was lost count as missing_caption.
                logger.warning("caption archive %s is damaged after %d captions: %s", self._archive,
                               len(self._table), err)
        return self._table.get(stem)


def _first_line(data: bytes) -> bytes:
    lines = data.splitlines()
    return lines[0] if lines else b""


def parse_json_field(fields: dict) -> dict | None:
    """The sample's ``json`` member as a dict; None when absent. Raises ValueError when malformed."""
    raw = fields.get("json")
    if raw is None:
        return None
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("json member is not an object")
    return value


def shard_sample_counts(shards: Sequence[str]) -> list[int] | None:
    """Samples per shard from img2dataset ``<shard>_stats.json`` files or an open_clip ``sizes.json``."""
    counts = []
    for shard in shards:
        stats = re.sub(r"\.tar$", "_stats.json", shard)
        try:
            with fsspec.open(stats, "r") as f:
                counts.append(int(json.load(f)["successes"]))
        except (FileNotFoundError, KeyError, ValueError, OSError):
            break
    else:
        return counts
    try:
        with fsspec.open(join_path(parent_path(shards[0]), "sizes.json"), "r") as f:
            sizes = json.load(f)
        return [int(sizes[posixpath.basename(s)]) for s in shards]
    except (FileNotFoundError, KeyError, ValueError, OSError):
        return None
