"""See the negatives of your own data: one table per negative type, coverage per type, and an HTML
page with the images beside their captions.

    python -m fsc_clip_hf.negatives show --input train.jsonl --caption_column caption --n 20 --style fsc-clip
    python -m fsc_clip_hf.negatives show "A man riding a horse on the beach." --style fsc-clip
"""

from __future__ import annotations

import base64
import html
import io
import random
from dataclasses import dataclass
from pathlib import Path

THUMBNAIL_SIDE = 192


@dataclass
class Shown:
    """Captions (normalised), their image paths (or None), and the negatives: one list per type."""

    captions: list[str]
    images: list[str | None]
    types: tuple[str, ...]
    negatives: list[list[str | None]]
    options: dict

    def coverage(self) -> dict[str, float]:
        """Share of captions that got a negative, per type."""
        n = max(len(self.captions), 1)
        return {t: sum(x is not None for x in column) / n for t, column in zip(self.types, self.negatives)}


def pick(records: list[tuple[str, str | None]], n: int, seed: int) -> list[tuple[str, str | None]]:
    """``n`` records drawn at random (seeded), in file order: the first rows of a sorted file are
    rarely typical."""
    if n >= len(records):
        return records
    return [records[i] for i in sorted(random.Random(seed).sample(range(len(records)), n))]


def generate(generator, records: list[tuple[str, str | None]], epoch: int = 0) -> Shown:
    from ..data.captions import normalize_caption

    captions = [normalize_caption(c) for c, _ in records]
    negatives = generator(captions, epoch=epoch)
    return Shown(captions, [image for _, image in records], generator.types, negatives, generator.options())


def _cell(text: str | None) -> str:
    return "—" if text is None else text.replace("|", "\\|")


def format_tables(shown: Shown, coverage: dict[str, float] | None = None, coverage_n: int | None = None) -> str:
    """Markdown: the options, then per type a table of caption and negative, with coverage."""
    coverage = coverage or shown.coverage()
    lines = ["options: " + ", ".join(f"{k}={v}" for k, v in shown.options.items()), ""]
    over = f" of {coverage_n} captions" if coverage_n else ""
    lines.append("coverage" + over + ": " + ", ".join(f"{t} {100 * c:.1f} %" for t, c in coverage.items()))
    for t, column in zip(shown.types, shown.negatives):
        found = sum(x is not None for x in column)
        lines += ["", f"### {t} ({found} of {len(column)} shown captions)", "", "| # | caption | negative |",
                  "|---|---|---|"]
        lines += [f"| {i} | {_cell(c)} | {_cell(x)} |" for i, (c, x) in enumerate(zip(shown.captions, column), 1)]
    return "\n".join(lines)


def _thumbnail(path: Path) -> str:
    """An inline JPEG thumbnail (the page is self-contained), or a note when the file cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85)
    except (OSError, ValueError) as err:
        return f"<span class='missing'>{html.escape(str(path))}: {html.escape(str(err))}</span>"
    return f"<img src='data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"


def write_html(shown: Shown, path: str | Path, image_root: str | Path | None = None,
               coverage: dict[str, float] | None = None) -> Path:
    """A page with one row per caption: image, caption, and each type's negative."""
    path = Path(path)
    root = Path(image_root) if image_root is not None else Path(".")
    coverage = coverage or shown.coverage()
    header = "".join(f"<th>{html.escape(t)} ({100 * coverage[t]:.0f} %)</th>" for t in shown.types)
    rows = []
    for i, (caption, image) in enumerate(zip(shown.captions, shown.images)):
        picture = _thumbnail(root / image) if image else ""
        cells = "".join(f"<td>{'<i>none</i>' if column[i] is None else html.escape(column[i])}</td>"
                        for column in shown.negatives)
        rows.append(f"<tr><td>{picture}</td><td>{html.escape(caption)}</td>{cells}</tr>")
    options = html.escape(", ".join(f"{k}={v}" for k, v in shown.options.items()))
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>hard negatives</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}"
        "table{border-collapse:collapse}.missing{color:#a00}</style>"
        f"<p>{options}</p><table><tr><th>image</th><th>caption</th>{header}</tr>{''.join(rows)}</table>\n",
        encoding="utf-8")
    return path
