"""Caption files: the training captions that the negatives' commands read (precompute, vocabulary, show).

A ``.txt`` file holds one caption per line; ``.jsonl`` / ``.json`` one object per line; ``.csv`` / ``.tsv`` a
header row naming the columns.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path


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
