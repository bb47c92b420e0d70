"""On-disk candidate cache: pre-computed once for a corpus, read cheaply by every training run.

Layout of a cache directory (written by :func:`.precompute.precompute`, read by :class:`CandidateStore`)::

    manifest.json    written last: format version, style, candidate parts and options, spaCy
                     pipeline, counts, and the size of every other file of the cache
    captions/        Arrow table (datasets.save_to_disk), sorted by key:
                     key (int64, blake2b-64 of the caption), caption, candidates (JSON, see candidates.py)
    lexicon/         Arrow table: key ("n:dog"), words (list of str), cumulative (list of int64)
    vocabulary.json  word counts of the corpus (``replace_vocabulary: corpus``)

Captions are stored normalised (``normalize_caption``), as the collator passes them.

A cache is complete or absent: precompute works in ``.<name>.partial/`` beside the output, in
chunks that each end with a marker, builds the cache there and renames it into place. An
interrupted run resumes from its finished chunks when rerun with the same input and options (else
it starts clean); an existing cache stays readable until the new one replaces it. Opening checks the
manifest, so a cache that lost or truncated a file is refused with its name, never half-read.

Look-ups are vectorised: hash the batch's captions, ``searchsorted`` in the memory-mapped key
column, ``take`` the rows. Nothing is loaded into memory beyond the key column, so every
DataLoader worker can open the same cache without copying it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 2
MANIFEST = "manifest.json"
VOCABULARY = "vocabulary.json"
CAPTIONS_TABLE = "captions"
LEXICON_TABLE = "lexicon"


def caption_key(caption: str) -> int:
    """Signed 64-bit key of a caption (stable across processes and Python versions)."""
    return int.from_bytes(hashlib.blake2b(caption.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def file_sizes(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file under ``folder`` but the manifest."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def read_manifest(cache_dir: str | Path) -> dict:
    """The manifest of a complete cache; a clear error for anything else (no cache, an older
    format, a file missing or of another size than written)."""
    cache_dir = Path(cache_dir)
    path = cache_dir / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{cache_dir} is not a complete hard-negative cache (no {MANIFEST}); create one with "
                                "python -m fsc_clip_hf.negatives precompute --input ... --output DIR")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is unreadable ({err}): re-run precompute") from err
    if manifest.get("format_version") != CACHE_FORMAT_VERSION:
        raise ValueError(f"cache {cache_dir} has format {manifest.get('format_version')}, "
                         f"this version reads {CACHE_FORMAT_VERSION}: re-run precompute")
    for name, size in manifest["files"].items():
        file = cache_dir / name
        if not file.is_file() or file.stat().st_size != size:
            found = file.stat().st_size if file.is_file() else "missing"
            raise ValueError(f"cache {cache_dir} is damaged: {name} is {found}, the manifest says {size} bytes; "
                             "re-run precompute")
    return manifest


class CandidateStore:
    """Read-only view of a cache directory written by ``python -m fsc_clip_hf.negatives precompute``.

    ``required_parts``: candidate parts the reader needs; ``options``: the candidate options it
    generates with (``HardNegativeGenerator.candidate_options``), which the cache must have been
    computed with.
    """

    def __init__(self, cache_dir: str | Path, required_parts=(), options: dict | None = None):
        import datasets

        self.cache_dir = Path(cache_dir)
        self.meta = read_manifest(self.cache_dir)
        missing = [p for p in required_parts if p not in self.meta["parts"]]
        if missing:
            raise ValueError(f"cache {self.cache_dir} was computed for style {self.meta['style']!r} and lacks "
                             f"{missing}; re-run precompute with the style you train with")
        differ = {k: (self.meta["options"].get(k), v) for k, v in (options or {}).items()
                  if self.meta["options"].get(k) != v}
        if differ:
            raise ValueError(f"cache {self.cache_dir} was computed with other candidate options: " + ", ".join(
                f"{k}={cached!r} (asked for {wanted!r})" for k, (cached, wanted) in differ.items())
                + "; re-run precompute with the same options, or train with the cache's")
        self._captions = datasets.load_from_disk(str(self.cache_dir / CAPTIONS_TABLE)).data.table
        self._keys = self._captions.column("key").to_numpy()
        self._lexicon_table, self._lexicon_rows = None, {}
        if self.meta["num_lexicon_entries"]:  # styles without replace have none (and no Arrow file)
            self._lexicon_table = datasets.load_from_disk(str(self.cache_dir / LEXICON_TABLE)).data.table
            self._lexicon_rows = {key: i for i, key in enumerate(self._lexicon_table.column("key").to_pylist())}

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, captions: list[str]) -> list[dict | None]:
        """Candidates of each caption, None for those not in the cache."""
        if not captions or not len(self._keys):
            return [None] * len(captions)
        wanted = np.fromiter((caption_key(c) for c in captions), dtype=np.int64, count=len(captions))
        rows = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        hit = np.flatnonzero(self._keys[rows] == wanted)
        out: list[dict | None] = [None] * len(captions)
        if len(hit):
            found = self._captions.take(rows[hit]).select(["caption", "candidates"]).to_pydict()
            for i, caption, candidates in zip(hit.tolist(), found["caption"], found["candidates"]):
                if caption == captions[i]:  # a 64-bit key collision is not a hit
                    out[i] = json.loads(candidates)
        return out

    def lexicon_entry(self, key: str) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
        """Replacement words and cumulative weights stored for ``key`` ("n:dog"), or None."""
        row = self._lexicon_rows.get(key)
        if row is None:
            return None
        entry = self._lexicon_table.slice(row, 1).to_pydict()
        return tuple(entry["words"][0]), tuple(entry["cumulative"][0])
