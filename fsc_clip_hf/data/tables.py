"""Annotation tables (CSV, TSV, JSONL, the NegCLIP COCO TSV) read into memory at start.

Tables are small (paths and captions; 100k rows is a few MB), so they are read fully at start:
a wrong column or an unreadable file fails immediately with the file named, and the row count is
known. Captions are kept as the file's raw bytes so that encoding repair happens, and is counted,
in the same place as for every other source.
"""

from __future__ import annotations

import ast
import csv
import json
import os
from dataclasses import dataclass

import fsspec

from .shards import join_path, parent_path
from .skips import SkipStats

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


@dataclass
class Table:
    """Rows of one annotation file. ``images`` are resolved paths, ``captions`` raw bytes."""

    path: str
    images: list[str]
    captions: list[bytes | None]
    negatives: list[list[str]] | None = None

    def __len__(self) -> int:
        return len(self.images)


def table_format(path: str) -> str | None:
    return TABLE_FORMATS.get(os.path.splitext(path)[1].lower())


def _raw_text(value) -> bytes | None:
    """Caption cell to bytes; strings read with surrogateescape give back the file's exact bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a numeric caption ("1984") that a JSON writer stored as a number
    if not isinstance(value, str):
        return None  # counted as missing_caption when the sample is decoded
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate written as a JSON escape
        return value.encode("utf-8", "replace")


def _parse_negatives(value) -> list[str]:
    """A list of captions, or its Python / JSON literal as published in the NegCLIP TSV."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            try:
                value = json.loads(value)
            except ValueError:
                return []
    if not isinstance(value, (list, tuple)):
        return []
    return [v.encode("utf-8", "replace").decode("utf-8") for v in value if isinstance(v, str)]


def _read_rows(path: str, fmt: str, stats: SkipStats) -> tuple[list[dict], list[str]]:
    """All rows as dicts plus the column names; bad JSON lines are counted and dropped."""
    try:
        with fsspec.open(path, "r", encoding="utf-8", errors="surrogateescape", newline="") as f:
            if fmt in ("csv", "tsv"):
                reader = csv.DictReader(f, delimiter="\t" if fmt == "tsv" else ",")
                columns = list(reader.fieldnames or [])
                rows = list(reader)
            else:
                text = f.read()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"annotation file {path} not found") from err
    except (OSError, csv.Error, UnicodeError) as err:
        raise ValueError(f"cannot read annotation file {path}: {err}") from err
    if fmt in ("csv", "tsv"):
        return rows, columns

    if text.lstrip().startswith("["):  # a JSON array of objects instead of JSON lines
        try:
            rows = json.loads(text)
        except ValueError as err:
            raise ValueError(f"cannot read annotation file {path}: {err}") from err
        rows = [row for row in rows if isinstance(row, dict)]
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as err:
                if not rows:
                    raise ValueError(f"cannot read annotation file {path}: line {number}: {err}") from err
                stats.count("bad_row", f"{path}:{number}: {err}")
                continue
            rows.append(row)
    columns = list(rows[0]) if rows else []
    return rows, columns


def _require_columns(path: str, columns: list[str], wanted: dict[str, str | None]) -> None:
    missing = [f"{role}={name!r}" for role, name in wanted.items() if name is not None and name not in columns]
    if missing:
        raise ValueError(
            f"annotation file {path}: column(s) {', '.join(missing)} not found; columns found: {columns}"
        )


def _resolve(path: str, base: str) -> str:
    # Undecodable bytes in a path cannot live in an Arrow string column; such a path is then
    # simply not found (counted as missing_file).
    path = path.encode("utf-8", "replace").decode("utf-8")
    if not path or not base or "://" in path or os.path.isabs(path):
        return path
    return join_path(base, path)


def read_table(
    path: str,
    image_column: str,
    caption_column: str,
    negatives_column: str | None = None,
    image_root: str | None = None,
    stats: SkipStats | None = None,
) -> Table:
    """Read a CSV / TSV / JSONL annotation file; image paths are resolved against ``image_root``
    (default: the file's folder).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be parsed, is empty, or lacks a requested column.
    """
    fmt = table_format(path)
    if fmt is None:
        raise ValueError(f"annotation file {path}: unknown format (expected one of {sorted(TABLE_FORMATS)})")
    rows, columns = _read_rows(path, fmt, stats or SkipStats())
    if not rows:
        raise ValueError(f"annotation file {path} has no rows (columns found: {columns})")
    _require_columns(path, columns, {"image_column": image_column, "caption_column": caption_column,
                                     "negatives_column": negatives_column})
    base = image_root if image_root is not None else parent_path(path)
    images = [_resolve(str(row.get(image_column) or ""), base) for row in rows]
    captions = [_raw_text(row.get(caption_column)) for row in rows]
    negatives = [_parse_negatives(row.get(negatives_column)) for row in rows] if negatives_column else None
    return Table(path=path, images=images, captions=captions, negatives=negatives)
