"""Download the benchmarks' data into the layouts the adapters read.

    python -m fsc_clip_hf.evaluation.download --benchmarks comp --data_root data
    python -m fsc_clip_hf.evaluation.download --benchmarks sugarcrepe,aro --data_root data --skip_images

Fetches what can be fetched (Hub datasets through ``huggingface_hub``; public URLs with resumable,
checked downloads; archives unpacked into the layout each adapter's docstring gives), skips what is
gated or must be requested, with the exact steps to take, and leaves alone whatever is already there:
running it again fetches only what is still missing (a cut download resumes). Sources in
:mod:`.sources`, transfers in :mod:`.fetch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..adapters import BENCHMARKS, resolve_benchmarks
from .fetch import DownloadError
from .sources import SHARED, ByHand, Context, Gated, Source, benchmark_sources

PRESENT, FETCHED, FAILED, BY_HAND, GATED, SKIPPED, PLANNED = (
    "present", "fetched", "FAILED", "by hand", "gated", "skipped", "to fetch")


@dataclass
class Row:
    """What happened to one source."""

    benchmarks: list[str]
    source: Source
    status: str
    note: str = ""
    steps: str = ""  # how to get it by hand (for BY_HAND, GATED, FAILED)


def plan(names: str | list[str]) -> list[tuple[Source, list[str]]]:
    """The sources of ``names`` (groups expanded), each once with the benchmarks that need it, in order."""
    registry = benchmark_sources()
    planned: dict[str, tuple[Source, list[str]]] = {}
    for name in resolve_benchmarks(names):
        benchmark = BENCHMARKS[name]
        if benchmark.suite != "published":
            continue  # the synthetic world is written by the demo, not downloaded
        entries = registry.get(name) or [ByHand(benchmark.folder, benchmark.title, steps=benchmark.download)]
        for entry in entries:
            source = SHARED[entry] if isinstance(entry, str) else entry
            planned.setdefault(source.target, (source, []))[1].append(name)
    return list(planned.values())


def download_benchmarks(names: str | list[str], data_root: str | Path, *, skip_images: bool = False,
                        keep_archives: bool = False, dry_run: bool = False, progress: bool = True, workers: int = 8,
                        rewrite=str, hub=None) -> list[Row]:
    """Fetch the data of ``names`` into ``data_root``; one :class:`Row` per source.

    ``rewrite`` maps each URL before it is requested and ``hub`` stands in for ``huggingface_hub``
    (both for tests at the network boundary).
    """
    context = Context(Path(data_root), rewrite=rewrite, hub=hub, keep_archives=keep_archives, progress=progress,
                      workers=workers)
    rows, made_root = [], not context.root.exists()
    for source, needed_by in plan(names):
        root = str(data_root)
        if source.present(context):
            rows.append(Row(needed_by, source, PRESENT, str(source.path(context))))
        elif skip_images and source.images:
            rows.append(Row(needed_by, source, SKIPPED, "an image collection (--skip_images)", source.by_hand(root)))
        elif isinstance(source, ByHand):
            rows.append(Row(needed_by, source, BY_HAND, source.what, source.by_hand(root)))
        elif dry_run:
            rows.append(Row(needed_by, source, PLANNED, source.what, source.by_hand(root)))
        else:
            context.root.mkdir(parents=True, exist_ok=True)
            try:
                rows.append(Row(needed_by, source, FETCHED, source.fetch(context)))
            except Gated as gated:
                rows.append(Row(needed_by, source, GATED, str(gated), source.by_hand(root)))
                _remove_empty_folders(source.path(context), context.root)
            except (DownloadError, OSError) as error:
                rows.append(Row(needed_by, source, FAILED, str(error), source.by_hand(root)))
                _remove_empty_folders(source.path(context), context.root)
    if made_root and context.root.is_dir() and not any(context.root.iterdir()):
        context.root.rmdir()  # nothing came: no empty data root left behind either
    return rows


def _remove_empty_folders(path: Path, root: Path) -> None:
    """Take back the empty folders a failed fetch left between ``root`` and ``path``: a user who opens
    ``data/aro/`` should find something in it. A folder holding a partial download stays, for the next try
    to resume."""
    for folder in (path, *path.parents):
        if folder == root or root not in folder.parents:
            return
        try:
            folder.rmdir()  # only an empty folder goes
        except OSError:
            if folder.exists():
                return


def format_rows(rows: list[Row]) -> str:
    """The report: one line per source, then the steps for what is left to do."""
    width = max([len(row.source.target) for row in rows] + [6])
    lines = []
    for row in rows:
        lines.append(f"  {row.status:<8}  {row.source.target:<{width}}  {row.source.what}"
                     + (f": {row.note}" if row.note and row.note != row.source.what else "")
                     + f"  [{', '.join(row.benchmarks)}]")
    todo = [row for row in rows if row.steps and row.status != PLANNED]
    if todo:
        lines.append("")
        lines.append("left to do:")
        lines.extend(f"  {row.source.target}: {row.steps}" for row in todo)
    return "\n".join(lines)


__all__ = ["Row", "download_benchmarks", "format_rows", "plan"]
