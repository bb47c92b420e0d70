"""Caption files: the training captions that the negatives' commands read (precompute, vocabulary, show).

A ``.txt`` file holds one caption per line; ``.csv`` / ``.tsv`` / ``.jsonl`` / ``.json`` are read as the
training data reads tables (:func:`fsc_clip_hf.data.tables.read_table`). Every caption is decoded and
cleaned as the training data path does it (:func:`fsc_clip_hf.data.captions.clean_caption`): bytes that
are not UTF-8 are re-decoded, mojibake repaired, text normalised as open_clip's tokenizer sees it. A
caption with no usable text is left out; what was left out or repaired is counted and logged, per reason,
so one bad byte never stops a command.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from ..data.captions import clean_caption
from ..data.skips import BadSample, format_counts
from ..data.tables import read_table, table_format

logger = logging.getLogger(__name__)


def read_records(path: str | Path, caption_column: str = "caption",
                 image_column: str | None = None) -> list[tuple[str, str | None]]:
    """(caption, image path or None) of each usable caption, captions cleaned as training cleans them,
    image paths as written in the file.

    Raises:
        FileNotFoundError, ValueError: the file is missing, of another format, or lacks a column.
    """
    path = Path(path)
    if path.suffix.lower() == ".txt":
        raws, images = path.read_bytes().splitlines(), None
    elif table_format(str(path)):
        table = read_table(str(path), image_column, caption_column, image_root="", allow_paths_outside_root=True)
        raws, images = table.captions, table.images if image_column else None
    else:
        raise ValueError(f"unsupported caption file {path}: use .txt, .jsonl, .csv or .tsv")
    counts, records = Counter(), []
    for number, raw in enumerate(raws):
        if not raw or not raw.strip():
            continue  # blank lines and cells: not captions
        counts["seen"] += 1
        try:
            caption, repair = clean_caption(raw)
        except BadSample as bad:
            counts[bad.reason] += 1
            continue
        if repair:
            counts[repair] += 1
        records.append((caption, images[number] or None if images else None))
    if len(records) < counts["seen"] or any(counts[key] for key in counts if key != "seen"):
        logger.warning("%s: %s", path, format_counts(counts))
    return records


def read_captions(path: str | Path, caption_column: str = "caption") -> list[str]:
    """The usable captions of a caption file (see :func:`read_records`)."""
    return [caption for caption, _ in read_records(path, caption_column)]
