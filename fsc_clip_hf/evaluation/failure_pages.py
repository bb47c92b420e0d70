"""``recipes/eval.py --html``: per benchmark, a page of the items the model got wrong.

``failures/<benchmark>.html`` beside the report, one self-contained file (thumbnails inlined, no network):
per wrong item the image (and, for a caption that picked the wrong image, that image too), the subset,
the comparison it lost, the true caption, the option it preferred, both scores and their margin
(true minus preferred: at most 0, the lower the worse). Rows come lowest margin first; a click on a
column heading sorts by it, again reverses; ``#sort=<column>-<asc|desc>`` in the address sorts on opening.
A benchmark with more wrong items than :data:`~fsc_clip_hf.evaluation.failures.MAX_KEPT` shows that many,
those with the lowest margin, and says so. Benchmarks without such items (zero-shot tasks, retrieval) get
no page.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os

from .failures import Failure, Failures

logger = logging.getLogger(__name__)

FOLDER = "failures"
THUMBNAIL = (128, 128)
COLUMNS = ("image", "subset", "comparison", "true caption", "preferred", "true score", "preferred score", "margin")
SORTABLE = {"subset": "text", "comparison": "text", "true score": "number", "preferred score": "number",
            "margin": "number"}


class FailurePages:
    """The ``on_failures`` hook of :func:`fsc_clip_hf.evaluation.suite.evaluate_model` that writes the pages;
    ``written`` maps each benchmark with a page to its path relative to ``output_dir``."""

    def __init__(self, output_dir: str, model_name: str):
        self.output_dir, self.model_name = output_dir, model_name
        self.written: dict[str, str] = {}

    def __call__(self, name: str, record: dict, failures: Failures) -> None:
        if record["family"] in ("zs", "retrieval"):
            return
        relative = f"{FOLDER}/{name}.html"
        path = os.path.join(self.output_dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render_page(record, failures, self.model_name))
        self.written[name] = relative
        logger.info("%s: %d wrong items, page %s", name, failures.total(), path)


def render_page(record: dict, failures: Failures, model_name: str) -> str:
    """The HTML of one benchmark's page."""
    kept = failures.kept()
    per_subset = ", ".join(f"{subset} {count}" for subset, count in sorted(failures.counts.items())) or "none"
    shown = (f"all {len(kept)}" if len(kept) == failures.total()
             else f"the {len(kept)} with the lowest margin")
    title = f"{record['title']}: the items {model_name} got wrong"
    head = "".join(f'<th data-column="{column}" data-type="{SORTABLE[column]}">{column}</th>' if column in SORTABLE
                   else f"<th>{column}</th>" for column in COLUMNS)
    rows = "\n".join(_row(failure) for failure in kept)
    return _PAGE.format(title=html.escape(title), count=failures.total(), items=record["items"],
                        per_subset=html.escape(per_subset), shown=shown,
                        item_set=html.escape(record.get("item_set") or ""), head=head, rows=rows, script=_SCRIPT)


def _row(failure: Failure) -> str:
    images = _thumbnail(failure.image)
    if failure.preferred_image is not None:
        images += f'<span class="arrow">preferred:</span>{_thumbnail(failure.preferred_image)}'
    cells = [images, html.escape(failure.subset), html.escape(failure.kind), html.escape(failure.true),
             html.escape(failure.preferred), f"{failure.true_score:.4f}", f"{failure.preferred_score:.4f}",
             f"{failure.margin:.4f}"]
    values = {"subset": failure.subset, "comparison": failure.kind, "true score": failure.true_score,
              "preferred score": failure.preferred_score, "margin": failure.margin}
    data = "".join(f' data-{column.replace(" ", "-")}="{html.escape(str(value))}"' for column, value in values.items())
    return f"<tr{data}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _thumbnail(source) -> str:
    """The image as an inline JPEG thumbnail (a page that travels alone), or a note when it cannot be read."""
    try:
        image = source.open()
        image.thumbnail(THUMBNAIL)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=80)
    except Exception as error:  # noqa: BLE001 - one unreadable image costs its thumbnail, not the page
        return f'<span class="unreadable">image unreadable: {html.escape(type(error).__name__)}</span>'
    encoded, key = base64.b64encode(buffer.getvalue()).decode("ascii"), html.escape(source.key)
    return f'<img src="data:image/jpeg;base64,{encoded}" alt="{key}" title="{key}">'


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; }}
th[data-column] {{ cursor: pointer; background: #eef; }}
td img {{ max-width: 128px; max-height: 128px; display: block; }}
.arrow, .unreadable {{ font-size: 0.8em; color: #666; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{count} wrong of {items} items scored (per subset: {per_subset}); shown: {shown}. Item set: {item_set}</p>
<p>Margin = true score &minus; preferred score (cosine similarities); click a heading to sort.
<span id="status">sorted by margin, ascending</span></p>
<table id="failures">
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
<script>
{script}
</script>
</body>
</html>
"""

_SCRIPT = """
const table = document.getElementById("failures");
const body = table.tBodies[0];
const state = {column: "margin", ascending: true};
function sortBy(column, ascending) {
  const header = table.querySelector('th[data-column="' + column + '"]');
  if (!header) return;
  const key = "data-" + column.replace(/ /g, "-");
  const numeric = header.dataset.type === "number";
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = a.getAttribute(key), y = b.getAttribute(key);
    const order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
    return ascending ? order : -order;
  });
  rows.forEach(row => body.appendChild(row));
  state.column = column;
  state.ascending = ascending;
  document.getElementById("status").textContent =
    "sorted by " + column + ", " + (ascending ? "ascending" : "descending") + " (" + rows.length + " rows)";
}
table.querySelectorAll("th[data-column]").forEach(header => header.addEventListener("click", () => {
  const column = header.dataset.column;
  sortBy(column, state.column === column ? !state.ascending : true);
}));
const wanted = /^#sort=(.+)-(asc|desc)$/.exec(decodeURIComponent(location.hash));
sortBy(wanted ? wanted[1] : "margin", wanted ? wanted[2] === "asc" : true);
"""
