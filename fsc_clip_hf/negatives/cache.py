"""On-disk candidate cache: pre-computed once for a corpus, read cheaply by every training run.

Layout of a cache directory (written by :func:`precompute`, read by :class:`CandidateStore`)::

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

import csv
import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 2
MANIFEST = "manifest.json"
VOCABULARY = "vocabulary.json"
_CAPTIONS = "captions"
_LEXICON = "lexicon"
_JOB = "job.json"
DEFAULT_CHUNK_SIZE = 100_000


def caption_key(caption: str) -> int:
    """Signed 64-bit key of a caption (stable across processes and Python versions)."""
    return int.from_bytes(hashlib.blake2b(caption.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _file_sizes(folder: Path) -> dict[str, int]:
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
        self._captions = datasets.load_from_disk(str(self.cache_dir / _CAPTIONS)).data.table
        self._keys = self._captions.column("key").to_numpy()
        self._lexicon_table, self._lexicon_rows = None, {}
        if self.meta["num_lexicon_entries"]:  # styles without replace have none (and no Arrow file)
            self._lexicon_table = datasets.load_from_disk(str(self.cache_dir / _LEXICON)).data.table
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


# --------------------------------------------------------------------------- precompute


def read_records(path: str | Path, caption_column: str = "caption",
                 image_column: str | None = None) -> list[tuple[str, str | None]]:
    """(caption, image path or None) of each non-empty caption of a .txt (one per line), .jsonl/.json
    (one object per line) or .csv/.tsv file; image paths as written in the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    with open(path, encoding="utf-8", newline="") as handle:
        if suffix == ".txt":
            rows = [(line.rstrip("\n"), None) for line in handle]
        elif suffix in (".jsonl", ".json"):
            rows = []
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    record = json.loads(line)
                    if caption_column not in record:
                        raise KeyError(f"{path}, line {number}: no field {caption_column!r} (fields: {sorted(record)})")
                    rows.append((record[caption_column], record.get(image_column) if image_column else None))
        elif suffix in (".csv", ".tsv"):
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            if caption_column not in (reader.fieldnames or ()):
                raise KeyError(f"{path} has no column {caption_column!r} (columns: {reader.fieldnames})")
            rows = [(row[caption_column], row.get(image_column) if image_column else None) for row in reader]
        else:
            raise ValueError(f"unsupported caption file {path}: use .txt, .jsonl or .csv")
    return [(c, image) for c, image in rows if isinstance(c, str) and c.strip()]


def read_captions(path: str | Path, caption_column: str = "caption") -> list[str]:
    """Captions of a .txt (one per line), .jsonl/.json (one object per line) or .csv/.tsv file."""
    return [caption for caption, _ in read_records(path, caption_column)]


# Per worker process: one generator, built on first use (datasets.map pickles the function, not
# the generator), and the lexicon keys this process has already sent during the current run.
_WORKER = {"config": None, "generator": None, "run": None, "sent": set()}


def _candidate_rows(batch, generator_kwargs: dict, run: str) -> dict:
    """datasets.map function: parse a batch of captions and serialise their candidates. The new
    lexicon entries that this worker has not sent yet in this ``run`` ride along in the batch's
    first row."""
    from .generator import HardNegativeGenerator
    from .replace import FIXED_POS

    config = json.dumps(generator_kwargs, sort_keys=True)
    if _WORKER["config"] != config:
        _WORKER.update(config=config, generator=HardNegativeGenerator(**generator_kwargs))
    if _WORKER["run"] != run:
        # A new run (forked workers inherit the parent's state): every entry must be sent again.
        _WORKER.update(run=run, sent=set())
    gen, sent = _WORKER["generator"], _WORKER["sent"]
    captions = batch["caption"]
    built = gen.build_candidates(captions)
    entries = []
    for candidates in built:
        replace = candidates.get("replace", [])
        for pos, lemma in zip(replace[2::5], replace[3::5]):
            key = f"{pos}:{lemma}"
            if pos not in FIXED_POS and key not in sent:
                sent.add(key)
                words, cumulative = gen.wordnet_candidates(pos, lemma)
                entries.append([key, list(words), list(cumulative)])
    lexicon = [""] * len(captions)
    if entries and captions:
        lexicon[0] = json.dumps(entries)
    return {"key": [caption_key(c) for c in captions],
            "candidates": [json.dumps(c, separators=(",", ":")) for c in built],
            "lexicon": lexicon}


def _job_description(input_path: Path, caption_column: str, generator_kwargs: dict, chunk_size: int) -> dict:
    """What a partial run was doing: a rerun resumes only the very same job."""
    stat = input_path.stat()
    return {"format_version": CACHE_FORMAT_VERSION, "input": str(input_path.resolve()), "input_size": stat.st_size,
            "input_mtime_ns": stat.st_mtime_ns, "caption_column": caption_column, "generator": generator_kwargs,
            "chunk_size": chunk_size}


def _prepare_work_dir(work: Path, job: dict) -> None:
    """Keep a partial folder of the same job (resume), otherwise start it afresh."""
    if work.exists():
        try:
            same = json.loads((work / _JOB).read_text()) == job
        except (OSError, ValueError):
            same = False
        if same:
            done = sorted(p.name for p in (work / "chunks").glob("*.done"))
            logger.info("resuming the interrupted precompute in %s (%d chunks done)", work, len(done))
            return
        logger.info("removing %s, left by an interrupted precompute of another input or options", work)
        shutil.rmtree(work)
    (work / "chunks").mkdir(parents=True)
    (work / _JOB).write_text(json.dumps(job, indent=2) + "\n")


def _write_lexicon(lexicon: dict, folder: Path) -> None:
    import datasets

    keys = sorted(lexicon)
    datasets.Dataset.from_dict({
        "key": keys,
        "words": [lexicon[k][0] for k in keys],
        "cumulative": [lexicon[k][1] for k in keys],
    }, features=datasets.Features({
        "key": datasets.Value("string"),
        "words": datasets.Sequence(datasets.Value("string")),
        "cumulative": datasets.Sequence(datasets.Value("int64")),
    })).save_to_disk(str(folder))


def _install(built: Path, output_dir: Path, work: Path) -> None:
    """Move the finished cache ``built`` to ``output_dir``, replacing a previous cache there."""
    if output_dir.exists():
        if not (output_dir / MANIFEST).is_file() and any(output_dir.iterdir()):
            raise FileExistsError(f"{output_dir} exists and is not a hard-negative cache: choose another --output")
        output_dir.rename(work / f"previous-{uuid.uuid4().hex}")
    built.rename(output_dir)


def precompute(input_path: str | Path, output_dir: str | Path, caption_column: str = "caption",
               style: str = "fsc-clip", num_proc: int = 1, spacy_model: str = "en_core_web_sm",
               batch_size: int = 256, chunk_size: int = DEFAULT_CHUNK_SIZE, **options) -> Path:
    """Parse every distinct caption of ``input_path`` (in ``num_proc`` processes) and write a
    cache directory that ``HardNegativeGenerator(..., cache_dir=output_dir)`` reads.

    ``options``: the generator's candidate options (``options.CANDIDATE_OPTIONS``).
    Interrupted, a rerun of the same command resumes from the last finished chunk.
    """
    import datasets

    from ..data.captions import normalize_caption
    from .generator import HardNegativeGenerator
    from .resources import spacy_package_name
    from .vocabulary import Vocabulary

    generator_kwargs = {"style": style, "spacy_model": spacy_model, **options}
    probe = HardNegativeGenerator(**generator_kwargs)  # fails early on missing resources or bad options
    input_path, output_dir = Path(input_path), Path(output_dir)
    captions = list(dict.fromkeys(normalize_caption(c) for c in read_captions(input_path, caption_column)))
    if not captions:
        raise ValueError(f"{input_path} has no captions (column {caption_column!r}): nothing to precompute")
    work = output_dir.parent / f".{output_dir.name}.partial"
    _prepare_work_dir(work, _job_description(input_path, caption_column, generator_kwargs, chunk_size))
    chunks = []
    for number, start in enumerate(range(0, len(captions), chunk_size)):
        folder, marker = work / "chunks" / f"{number:05d}", work / "chunks" / f"{number:05d}.done"
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            table = datasets.Dataset.from_dict({"caption": captions[start:start + chunk_size]})
            table = table.map(_candidate_rows, batched=True, batch_size=batch_size,
                              num_proc=num_proc if num_proc > 1 and len(table) > 1 else None,
                              fn_kwargs={"generator_kwargs": generator_kwargs, "run": uuid.uuid4().hex},
                              desc=f"hard-negative candidates, chunk {number + 1}")
            table.save_to_disk(str(folder))
            marker.touch()
        chunks.append(datasets.load_from_disk(str(folder)))
    table = datasets.concatenate_datasets(chunks)
    lexicon: dict[str, tuple[list, list]] = {}
    for serialised in table["lexicon"]:
        if serialised:
            for key, words, cumulative in json.loads(serialised):
                lexicon[key] = (words, cumulative)
    # Sorted by key for searchsorted look-ups.
    table = table.remove_columns("lexicon")
    table = table.select(np.argsort(np.asarray(table["key"], dtype=np.int64), kind="stable")).flatten_indices()
    built = work / "cache"
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir()
    table.save_to_disk(str(built / _CAPTIONS))
    _write_lexicon(lexicon, built / _LEXICON)
    Vocabulary.from_captions(captions).save(built / VOCABULARY)
    manifest = {
        "format_version": CACHE_FORMAT_VERSION,
        "style": style,
        "parts": list(probe.parts),
        "options": probe.candidate_options,
        "spacy_model": spacy_model,
        "spacy_package": spacy_package_name(spacy_model) or spacy_model,
        "num_captions": len(captions),
        "num_lexicon_entries": len(lexicon),
        "source": str(input_path),
        "files": _file_sizes(built),
    }
    (built / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync_tree(built)
    _install(built, output_dir, work)
    shutil.rmtree(work)
    return output_dir


def _fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` to disk before it is renamed into place."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
