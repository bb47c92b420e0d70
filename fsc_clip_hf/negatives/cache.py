"""On-disk candidate cache: pre-computed once for a corpus, read cheaply by every training run.

Layout of a cache directory (written by :func:`precompute`, read by :class:`CandidateStore`)::

    meta.json      format version, style, candidate parts, spaCy pipeline, counts
    captions/      Arrow table (datasets.save_to_disk), sorted by key:
                   key (int64, blake2b-64 of the caption), caption, candidates (JSON, see candidates.py)
    lexicon/       Arrow table: key ("n:dog"), words (list of str), cumulative (list of int64)

Look-ups are vectorised: hash the batch's captions, ``searchsorted`` in the memory-mapped key
column, ``take`` the rows. Nothing is loaded into memory beyond the key column, so every
DataLoader worker can open the same cache without copying it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from pathlib import Path

import numpy as np

CACHE_FORMAT_VERSION = 1
_META = "meta.json"
_CAPTIONS = "captions"
_LEXICON = "lexicon"


def caption_key(caption: str) -> int:
    """Signed 64-bit key of a caption (stable across processes and Python versions)."""
    return int.from_bytes(hashlib.blake2b(caption.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


class CandidateStore:
    """Read-only view of a cache directory written by ``python -m fsc_clip_hf.negatives precompute``."""

    def __init__(self, cache_dir: str | Path, required_parts=()):
        import datasets

        self.cache_dir = Path(cache_dir)
        meta_path = self.cache_dir / _META
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.cache_dir} is not a hard-negative cache (no {_META}); create one with "
                                    "python -m fsc_clip_hf.negatives precompute --input ... --output DIR")
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format_version") != CACHE_FORMAT_VERSION:
            raise ValueError(f"cache {self.cache_dir} has format {self.meta.get('format_version')}, "
                             f"this version reads {CACHE_FORMAT_VERSION}: re-run precompute")
        missing = [p for p in required_parts if p not in self.meta["parts"]]
        if missing:
            raise ValueError(f"cache {self.cache_dir} was computed for style {self.meta['style']!r} and lacks "
                             f"{missing}; re-run precompute with the style you train with")
        self._captions = datasets.load_from_disk(str(self.cache_dir / _CAPTIONS)).data.table
        self._keys = self._captions.column("key").to_numpy()
        lexicon = datasets.load_from_disk(str(self.cache_dir / _LEXICON)).data.table
        self._lexicon_table = lexicon
        self._lexicon_rows = {key: i for i, key in enumerate(lexicon.column("key").to_pylist())}

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


def read_captions(path: str | Path, caption_column: str = "caption") -> list[str]:
    """Captions of a .txt (one per line), .jsonl/.json (one object per line) or .csv/.tsv file."""
    path = Path(path)
    suffix = path.suffix.lower()
    with open(path, encoding="utf-8", newline="") as handle:
        if suffix == ".txt":
            captions = [line.rstrip("\n") for line in handle]
        elif suffix in (".jsonl", ".json"):
            captions = [json.loads(line)[caption_column] for line in handle if line.strip()]
        elif suffix in (".csv", ".tsv"):
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            if caption_column not in (reader.fieldnames or ()):
                raise KeyError(f"{path} has no column {caption_column!r} (columns: {reader.fieldnames})")
            captions = [row[caption_column] for row in reader]
        else:
            raise ValueError(f"unsupported caption file {path}: use .txt, .jsonl or .csv")
    return [c for c in captions if c and c.strip()]


# Per worker process: one generator, built on first use (datasets.map pickles the function, not
# the generator), and the lexicon keys this process has already sent during the current run.
_WORKER = {"config": None, "generator": None, "run": None, "sent": set()}


def _candidate_rows(batch, style: str, spacy_model: str, run: str) -> dict:
    """datasets.map function: parse a batch of captions and serialise their candidates. The new
    lexicon entries that this worker has not sent yet in this ``run`` ride along in the batch's
    first row."""
    from .generator import HardNegativeGenerator

    if _WORKER["config"] != (style, spacy_model):
        _WORKER.update(config=(style, spacy_model), generator=HardNegativeGenerator(style=style, spacy_model=spacy_model))
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
            if pos != "p" and key not in sent:
                sent.add(key)
                words, cumulative = gen.replacement_candidates(pos, lemma)
                entries.append([key, list(words), list(cumulative)])
    lexicon = [""] * len(captions)
    if entries and captions:
        lexicon[0] = json.dumps(entries)
    return {"key": [caption_key(c) for c in captions],
            "candidates": [json.dumps(c, separators=(",", ":")) for c in built],
            "lexicon": lexicon}


def precompute(input_path: str | Path, output_dir: str | Path, caption_column: str = "caption",
               style: str = "fsc-clip", num_proc: int = 1, spacy_model: str = "en_core_web_sm",
               batch_size: int = 256) -> Path:
    """Parse every distinct caption of ``input_path`` (in ``num_proc`` processes) and write a
    cache directory that ``HardNegativeGenerator(..., cache_dir=output_dir)`` reads."""
    import datasets

    from .generator import HardNegativeGenerator
    from .resources import spacy_package_name

    probe = HardNegativeGenerator(style=style, spacy_model=spacy_model)  # fails early on missing resources
    captions = list(dict.fromkeys(read_captions(input_path, caption_column)))
    table = datasets.Dataset.from_dict({"caption": captions})
    table = table.map(_candidate_rows, batched=True, batch_size=batch_size,
                      num_proc=num_proc if num_proc > 1 else None,
                      fn_kwargs={"style": style, "spacy_model": spacy_model, "run": uuid.uuid4().hex},
                      desc="hard-negative candidates")
    lexicon: dict[str, tuple[list, list]] = {}
    for serialised in table["lexicon"]:
        if serialised:
            for key, words, cumulative in json.loads(serialised):
                lexicon[key] = (words, cumulative)
    # Sorted by key for searchsorted look-ups.
    table = table.remove_columns("lexicon")
    table = table.select(np.argsort(np.asarray(table["key"]), kind="stable")).flatten_indices()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    table.save_to_disk(str(output_dir / _CAPTIONS))
    keys = sorted(lexicon)
    datasets.Dataset.from_dict({
        "key": keys,
        "words": [lexicon[k][0] for k in keys],
        "cumulative": [lexicon[k][1] for k in keys],
    }, features=datasets.Features({
        "key": datasets.Value("string"),
        "words": datasets.Sequence(datasets.Value("string")),
        "cumulative": datasets.Sequence(datasets.Value("int64")),
    })).save_to_disk(str(output_dir / _LEXICON))
    meta = {
        "format_version": CACHE_FORMAT_VERSION,
        "style": style,
        "parts": list(probe.parts),
        "spacy_model": spacy_model,
        "spacy_package": spacy_package_name(spacy_model) or spacy_model,
        "num_captions": len(captions),
        "num_lexicon_entries": len(keys),
        "source": str(input_path),
    }
    (output_dir / _META).write_text(json.dumps(meta, indent=2) + "\n")
    return output_dir
