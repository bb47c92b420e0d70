"""Corpus vocabularies for ``replace_vocabulary: corpus``: replacements only from words the training
captions use.

On real corpora about half of WordNet's replacements are words the corpus never uses ("tiepin",
"stemma"), which a model can spot without looking at the image. A :class:`Vocabulary` counts the
words of a caption corpus; a replacement is kept when each of its words was seen ``min_count`` times.

    python -m fsc_clip_hf.negatives vocabulary --input train.jsonl --caption_column caption --output vocab.json
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .corpus import read_captions

VOCABULARY_FORMAT = "fsc-clip-hf caption vocabulary"
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


def caption_words(text: str) -> list[str]:
    """Lower-cased words of a caption (letters and digits, inner hyphens and apostrophes kept)."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word counts of a caption corpus; ``phrase in vocabulary`` when each of its words has at least
    ``min_count`` occurrences."""

    def __init__(self, counts: dict[str, int], min_count: int = 1, source: str = ""):
        if min_count < 1:
            raise ValueError(f"replace_vocabulary_min_count must be at least 1, got {min_count}")
        self.counts = dict(counts)
        self.min_count = int(min_count)
        self.source = source

    @classmethod
    def from_captions(cls, captions: Iterable[str], min_count: int = 1, source: str = "") -> "Vocabulary":
        counts = Counter()
        for caption in captions:
            counts.update(caption_words(caption))
        return cls(counts, min_count, source)

    @classmethod
    def load(cls, path: str | Path, min_count: int = 1, caption_column: str = "caption") -> "Vocabulary":
        """A vocabulary file (written by :meth:`save`), a negatives cache folder (which holds the
        vocabulary of its corpus), or a caption file (.txt, .jsonl, .csv, .tsv) counted now."""
        path = Path(path)
        if path.is_dir():
            path = path / "vocabulary.json"
            if not path.is_file():
                raise FileNotFoundError(f"{path.parent} has no vocabulary.json: re-run precompute, or pass a "
                                        "caption file as replace_vocabulary_file")
        if path.suffix.lower() == ".json" and path.is_file():
            try:
                data = json.loads(path.read_bytes())
            except ValueError:  # JSON lines, or not UTF-8: a caption file, read below
                data = None
            if isinstance(data, dict) and data.get("format") == VOCABULARY_FORMAT:
                return cls(data["counts"], min_count, str(path))
        return cls.from_captions(read_captions(path, caption_column), min_count, str(path))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        counts = dict(sorted(self.counts.items(), key=lambda item: (-item[1], item[0])))
        path.write_text(json.dumps({"format": VOCABULARY_FORMAT, "num_words": len(counts), "counts": counts}) + "\n",
                        encoding="utf-8")
        return path

    def __contains__(self, phrase: str) -> bool:
        words = caption_words(phrase)
        return bool(words) and all(self.counts.get(w, 0) >= self.min_count for w in words)

    def __len__(self) -> int:
        return sum(1 for n in self.counts.values() if n >= self.min_count)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words with >= {self.min_count} occurrences, from {self.source or 'captions'})"
