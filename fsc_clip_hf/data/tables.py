"""Annotation tables (CSV, TSV, JSONL, the NegCLIP COCO TSV) read into memory at start.

Tables are small (paths and captions; 100k rows is a few MB), so they are read fully at start:
a wrong column or an unreadable file fails immediately with the file named, and the row count is
known. Captions are kept as the file's raw bytes so that encoding repair happens, and is counted,
in the same place as for every other source. A row that cannot be used as read (a line that is not
JSON, an image path outside the root) stays in the table with its reason, so that it is counted
where every other bad sample is: when the stream passes it, in every epoch's summary.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import sys
from dataclasses import dataclass

import fsspec

from ..paths import PathOutsideRoot, join_under
from .shards import parent_path

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
# The csv module refuses fields over 131,072 characters by default, failing the whole file; a long
# caption is bounded later, like every other caption.
_CSV_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)


@dataclass
class Table:
    """Rows of one annotation file. ``images`` are resolved paths, ``captions`` raw bytes; ``skips`` holds
    ``(reason, detail)`` for each row that cannot be used (its image is then ``""``), else None."""

    path: str
    images: list[str]
    captions: list[bytes | None]
    negatives: list[list[str]] | None = None
    skips: list[tuple[str, str] | None] | None = None

    def __len__(self) -> int:
        return len(self.images)


class _BadRow:
    """A line of a JSON-lines file that is not a JSON object."""

    def __init__(self, detail: str):
        self.detail = detail


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
    """A list of captions, or its Python / JSON literal as published in the NegCLIP TSV; [] when the cell
    is no such list (a cell nested too deep, ``'[' * 1000``, raises RecursionError in both parsers)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                return []
    if not isinstance(value, (list, tuple)):
        return []
    return [v.encode("utf-8", "replace").decode("utf-8") for v in value if isinstance(v, str)]


def _read_rows(path: str, fmt: str) -> tuple[list[dict | _BadRow], list[str]]:
    """All rows as dicts plus the column names; lines that are not JSON objects as ``_BadRow``."""
    limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
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
    finally:
        csv.field_size_limit(limit)
    if fmt in ("csv", "tsv"):
        return rows, columns

    if text.lstrip().startswith("["):  # a JSON array of objects instead of JSON lines
        try:
            rows = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise ValueError(f"cannot read annotation file {path}: {err}") from err
        rows = [row for row in rows if isinstance(row, dict)]
        return rows, list(rows[0]) if rows else []
    rows, good = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
        except (ValueError, RecursionError) as err:
            if good is None:
                raise ValueError(f"cannot read annotation file {path}: line {number}: {err}") from err
            rows.append(_BadRow(f"{path}:{number}: {err}"))
            continue
        if good is None:
            good = row
        rows.append(row)
    return rows, list(good) if good else []


def _require_columns(path: str, columns: list[str], wanted: dict[str, str | None]) -> None:
    missing = [f"{role}={name!r}" for role, name in wanted.items() if name is not None and name not in columns]
    if missing:
        raise ValueError(
            f"annotation file {path}: column(s) {', '.join(missing)} not found; columns found: {columns}"
        )


def _image_path(row: dict, column: str, base: str, allow_outside: bool) -> str:
    # Undecodable bytes in a path cannot live in an Arrow string column; such a path is then
    # simply not found (counted as missing_file).
    path = str(row.get(column) or "").encode("utf-8", "replace").decode("utf-8")
    return join_under(base, path, allow_outside=allow_outside) if path else path


def read_table(
    path: str,
    image_column: str | None,
    caption_column: str,
    negatives_column: str | None = None,
    image_root: str | None = None,
    allow_paths_outside_root: bool = False,
) -> Table:
    """Read a CSV / TSV / JSONL annotation file; image paths are resolved against ``image_root``
    (default: the file's folder; no ``image_column``: captions alone, every image ``""``). Rows whose image path is absolute or leaves the root through ``..``
    are kept as ``path_outside_root`` skips unless ``allow_paths_outside_root``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be parsed, is empty, or lacks a requested column.
    """
    fmt = table_format(path)
    if fmt is None:
        raise ValueError(f"annotation file {path}: unknown format (expected one of {sorted(TABLE_FORMATS)})")
    rows, columns = _read_rows(path, fmt)
    if not rows:
        raise ValueError(f"annotation file {path} has no rows (columns found: {columns})")
    _require_columns(path, columns, {"image_column": image_column, "caption_column": caption_column,
                                     "negatives_column": negatives_column})
    base = image_root if image_root is not None else parent_path(path)
    table = Table(path=path, images=[], captions=[], negatives=[] if negatives_column else None, skips=[])
    for number, row in enumerate(rows, 1):
        skip, image = None, ""
        if isinstance(row, _BadRow):
            skip, row = ("bad_row", row.detail), {}
        else:
            try:
                image = _image_path(row, image_column, base, allow_paths_outside_root) if image_column else ""
            except PathOutsideRoot as err:
                skip = ("path_outside_root", f"{path}, row {number}: {err}")
        table.images.append(image)
        table.captions.append(_raw_text(row.get(caption_column)))
        table.skips.append(skip)
        if negatives_column:
            table.negatives.append(_parse_negatives(row.get(negatives_column)))
    refused = [skip for skip in table.skips if skip is not None and skip[0] == "path_outside_root"]
    if refused and all(skip is not None for skip in table.skips):
        raise ValueError(f"annotation file {path}: no usable row, and image paths are absolute or leave {base!r} "
                         f"(e.g. {refused[0][1]}); set allow_paths_outside_root to read them")
    return table
