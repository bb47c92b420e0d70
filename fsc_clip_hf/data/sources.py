"""Image-text training data from any supported source as one streaming ``datasets.IterableDataset``.

``load_image_text_dataset`` resolves ``train_data`` (a seed name, a path, a shard pattern or a Hub
id) to raw records, then applies the same pipeline to all of them:

    raw records -> shuffle (per epoch via set_epoch: shards reshuffled, then a buffer; a table's rows
                   permuted in full) -> split_dataset_by_node
                -> decode + validate (bad samples dropped and counted; records before a resume
                   position passed over) -> {"image", "caption", POSITION_KEY[, "negatives"]}

Shuffling happens on raw (still encoded) records so the buffer stays small; decoding happens last,
inside the DataLoader workers, so it runs in parallel and batches stay full.
"""

from __future__ import annotations

import logging
import os
import posixpath
import tarfile
import zlib
from dataclasses import dataclass

import datasets
from datasets.distributed import split_dataset_by_node

from ..paths import PathOutsideRoot, join_under
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
from .resume import POSITION_KEY, StreamSeek
from .samples import ImageLimits, prepare_sample
from .shards import (
    CaptionSideFiles,
    Oversized,
    expand_shard_pattern,
    iter_tar_samples,
    join_path,
    parent_path,
    parse_json_field,
    sample_image_field,
    shard_sample_counts,
)
from .skips import SkipStats
from .tables import Table, read_table, table_format

logger = logging.getLogger(__name__)

# Published WebDataset subsets on the Hub: seed name -> (repo id, local folder name, default caption key).
HUB_WEBDATASETS = {
    "laioncoco_100k": ("ytaek-oh/laioncoco-subset-100k", "laioncoco", "caption"),
    "cc3m_100k": ("ytaek-oh/cc3m-subset-100k", "cc3m", "coca_captions"),
}
NEGCLIP_NAME = "train_neg_clip"
NEGCLIP_URL = (
    "https://raw.githubusercontent.com/mertyg/vision-language-models-are-bows/main/temp_data/train_neg_clip.tsv"
)
COCO_TRAIN2014_URL = "http://images.cocodataset.org/zips/train2014.zip"
# Where train_neg_clip's files may sit under train_data_root: the TSV, and the COCO 2014 images as
# (folder, prefix of the TSV's image paths that the folder stands for). The TSV's paths read
# "coco/train2014/COCO_train2014_....jpg".
NEGCLIP_TSV_LOCATIONS = (f"{NEGCLIP_NAME}.tsv", f"coco/{NEGCLIP_NAME}.tsv")
NEGCLIP_IMAGE_LAYOUTS = (("", ""), ("coco/images", "coco/"), ("images", "coco/"), ("", "coco/"))
# The train2014 folder of each layout: coco/train2014, coco/images/train2014, images/train2014, train2014.
NEGCLIP_IMAGE_FOLDERS = tuple(posixpath.join(base, "coco/train2014"[len(strip):])
                              for base, strip in NEGCLIP_IMAGE_LAYOUTS)
# In-memory tables are cut into this many shards: enough for DataLoader workers and processes to get
# whole shards each (split_dataset_by_node splits by shard when the count divides evenly).
TABLE_SHARDS = 64
_DECODE_BATCH = 32
_RAW_WDS_COLUMNS = ["image", "caption", "__skip__", "__detail__"]


@dataclass
class ImageTextData:
    """What the trainer needs from a training source.

    ``dataset`` yields normalised samples ``{"image": PIL RGB image, "caption": str}`` plus
    ``"negatives": list[str]`` when ``has_negatives`` (precomputed negatives such as NegCLIP's).
    ``num_rows`` is the source's size before bad samples are dropped (all processes together),
    or None when unknown (then ``max_steps`` must drive training). ``seek`` lets a resumed epoch pass
    over the records already trained on without decoding them (``fsc_clip_hf.data.resume``).
    """

    dataset: datasets.IterableDataset
    name: str
    num_rows: int | None
    has_negatives: bool
    skip_stats: SkipStats
    seek: StreamSeek


@dataclass
class _Raw:
    dataset: datasets.IterableDataset
    columns: list[str]
    num_rows: int | None
    has_negatives: bool = False
    image_root: str | None = None  # base for relative string image paths (disk / Hub datasets)
    permute_sources: bool = False  # each data source is one row: shuffle by permuting them, no buffer


@dataclass
class _Request:
    """The options of ``load_image_text_dataset`` that decide how a source is read."""

    root: str | None
    split: str
    streaming: bool
    caption_key: str | None
    image_column: str | None
    caption_column: str | None
    negatives_column: str | None
    allow_paths_outside_root: bool
    max_bytes: int


# ---------------------------------------------------------------------------------------------
# WebDataset shards


_PROBE_SAMPLES = 8  # samples of the first shard looked at to check the caption field at start


def _marker(reason: str, detail: str) -> dict:
    return {"image": None, "caption": None, "__skip__": reason, "__detail__": detail}


def _webdataset_records(shards, counts, caption_key, side_files, max_bytes):
    """Raw records of the shards. A damaged shard yields one ``corrupt_shard`` marker and stops; when its
    sample count is known (``counts``), each sample it did not deliver is one ``lost_in_shard`` record."""
    for url, count in zip(shards, counts):
        delivered = 0
        try:
            for key, fields in iter_tar_samples(url, max_bytes):
                delivered += 1
                yield _webdataset_record(url, key, fields, caption_key, side_files)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            yield _marker("corrupt_shard", f"{url}: {err}")
            for _ in range(max(0, (count or 0) - delivered)):
                yield _marker("lost_in_shard", f"{url}: {count - delivered} of its {count} samples after the damage")


def _caption(fields: dict, caption_key: str, side_files: CaptionSideFiles | None, key: str):
    """The sample's caption, looked up per sample: a member named ``caption_key`` (``txt`` for the default
    ``caption``), else the json field, else a side file (``<key>.txt``). Raises ValueError for bad json."""
    member = "txt" if caption_key == "caption" and caption_key not in fields else caption_key
    if member in fields:
        return fields[member]
    meta = parse_json_field(fields) or {}
    if caption_key in meta:
        return meta[caption_key]
    return side_files.get(str(meta.get("key") or key)) if side_files is not None else None


def _webdataset_record(url, key, fields, caption_key, side_files) -> dict:
    record = {"image": None, "caption": None, "__skip__": None, "__detail__": f"{url}:{key}"}
    oversized = [ext for ext, value in fields.items() if isinstance(value, Oversized)]
    if oversized:
        record["__skip__"] = "file_too_large"
        record["__detail__"] = ", ".join(f"{url}:{key}.{ext}: {fields[ext]}" for ext in oversized)
        return record
    image_ext = sample_image_field(fields)
    if image_ext is not None:
        record["image"] = {"bytes": fields[image_ext], "path": f"{url}:{key}.{image_ext}"}
    try:
        record["caption"] = _caption(fields, caption_key, side_files, key)
    except ValueError as err:
        record["__skip__"], record["__detail__"] = "bad_metadata", f"{url}:{key}: {err}"
    return record


def _webdataset_source(pattern, caption_key: str, max_bytes: int) -> _Raw:
    """Shards from a pattern; the caption field must be found in one of the first samples, else it fails now."""
    shards = expand_shard_pattern(pattern)
    base = parent_path(shards[0])
    side_files = CaptionSideFiles(base, caption_key)
    side_files = side_files if side_files.found else None
    probed = []
    try:
        for key, fields in iter_tar_samples(shards[0], max_bytes):
            probed.append((key, fields))
            if len(probed) == _PROBE_SAMPLES:
                break
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        if not probed:
            raise ValueError(f"cannot read a sample from WebDataset shard {shards[0]}: {err!r}") from err
    if not probed:
        raise ValueError(f"WebDataset shard {shards[0]} holds no sample")
    if all(sample_image_field(fields) is None for _, fields in probed):
        key, fields = probed[0]
        raise ValueError(f"{shards[0]}: sample {key!r} has no image member; members found: {sorted(fields)}")

    def found(key, fields) -> bool:
        try:
            return _caption(fields, caption_key, side_files, key) is not None
        except ValueError:
            return False

    if not any(found(key, fields) for key, fields in probed):
        key, fields = probed[0]
        try:
            meta = parse_json_field(fields) or {}
        except ValueError:
            meta = {}
        raise ValueError(
            f"{shards[0]}: caption {caption_key!r} not found for sample {key!r}: members found "
            f"{sorted(fields)}, json fields found {sorted(meta)}, and no side files "
            f"{join_path(base, caption_key, '<key>.txt')} or {join_path(base, caption_key + '.tar.gz')}"
        )
    counts = shard_sample_counts(shards)
    dataset = datasets.IterableDataset.from_generator(
        _webdataset_records,
        gen_kwargs={"shards": shards, "counts": counts or [None] * len(shards), "caption_key": caption_key,
                    "side_files": side_files, "max_bytes": max_bytes},
    )
    return _Raw(dataset, _RAW_WDS_COLUMNS, sum(counts) if counts else None)


def _find_local_shards(root: str, folder: str) -> list[str] | None:
    for candidate in (join_path(root, folder, "train_subset_100K"), join_path(root, folder), root):
        try:
            return expand_shard_pattern(join_path(candidate, "*.tar"))
        except FileNotFoundError:
            continue
    return None


def _hub_webdataset_seed(name: str, request: _Request) -> _Raw:
    repo, folder, default_key = HUB_WEBDATASETS[name]
    caption_key, root, max_bytes = request.caption_key or default_key, request.root, request.max_bytes
    if root is not None:
        shards = _find_local_shards(root, folder)
        if shards is None:
            raise FileNotFoundError(
                f"{name}: no *.tar shards under {root} (looked in {folder}/train_subset_100K, {folder}, and the "
                f"root itself); download them from the Hub dataset {repo} or leave train_data_root unset to stream"
            )
        return _webdataset_source(shards, caption_key, max_bytes)
    if request.streaming:
        return _webdataset_source(_hub_tar_files(repo), caption_key, max_bytes)
    from huggingface_hub import snapshot_download

    local = snapshot_download(repo_id=repo, repo_type="dataset")
    return _webdataset_source(_find_local_shards(local, folder) or join_path(local, "*.tar"), caption_key, max_bytes)


# ---------------------------------------------------------------------------------------------
# Tables (CSV / TSV / JSONL / NegCLIP TSV)


def _table_records(rows: list[int], table: Table):
    """The raw records of ``rows`` (one row per data source, so that ``datasets`` permutes them all)."""
    for i in rows:
        skip = table.skips[i] if table.skips else None
        record = {"image": table.images[i], "caption": table.captions[i],
                  "__skip__": skip[0] if skip else None, "__detail__": skip[1] if skip else ""}
        if table.negatives is not None:
            record["negatives"] = table.negatives[i]
        yield record


def _table_source(table: Table) -> _Raw:
    """A table of known length as a stream whose data sources are its rows: the per-epoch reshuffle of
    the sources is then a full permutation of the table (``load_image_text_dataset``), as the authors'
    map-style loader draws it, and processes and workers split it row by row."""
    dataset = datasets.IterableDataset.from_generator(_table_records,
                                                       gen_kwargs={"rows": list(range(len(table))), "table": table})
    columns = _RAW_WDS_COLUMNS + (["negatives"] if table.negatives is not None else [])
    return _Raw(dataset, columns, len(table), has_negatives=table.negatives is not None, permute_sources=True)


def _negclip_image_base(table: Table, root: str) -> tuple[str, str]:
    """Find where the COCO 2014 images live: (base folder, prefix to strip from the TSV paths).

    The TSV paths read ``coco/train2014/COCO_train2014_....jpg``; images may sit in any of
    :data:`NEGCLIP_IMAGE_FOLDERS` under ``root``.
    """
    layouts = [(join_path(root, folder) if folder else root, strip) for folder, strip in NEGCLIP_IMAGE_LAYOUTS]
    probe = [p for p in table.images[:64] if p]
    for base, strip in layouts:
        if any(os.path.exists(join_path(base, p[len(strip):] if p.startswith(strip) else p)) for p in probe):
            return base, strip
    tried = ", ".join(join_path(base, (probe[0] if probe else "")[len(strip):]) for base, strip in layouts)
    raise FileNotFoundError(
        f"{NEGCLIP_NAME}: none of the first {len(probe)} COCO 2014 images of {table.path} was found (tried e.g. "
        f"{tried}); put the COCO train2014/val2014 folders under {root}"
    )


def _negclip_seed(request: _Request) -> _Raw:
    root = request.root
    if root is None:
        raise ValueError(f"{NEGCLIP_NAME} needs train_data_root: the folder holding {NEGCLIP_NAME}.tsv and COCO 2014")
    candidates = [join_path(root, location) for location in NEGCLIP_TSV_LOCATIONS]
    path = next((p for p in candidates if os.path.exists(p)), None)
    if path is None:
        raise FileNotFoundError(f"{NEGCLIP_NAME}: annotation file not found at {' or '.join(candidates)}; "
                                f"download it from {NEGCLIP_URL}")
    table = read_table(path, request.image_column or "filepath", request.caption_column or "title", "neg_caption",
                       image_root="", allow_paths_outside_root=request.allow_paths_outside_root)
    base, strip = _negclip_image_base(table, root)
    table.images = [join_path(base, p[len(strip):] if p.startswith(strip) else p) if p else p for p in table.images]
    return _table_source(table)


# ---------------------------------------------------------------------------------------------
# datasets objects: save_to_disk folders and Hub (or Hub-layout local) datasets


def _select_columns(dataset, columns: list[str], where: str, image_column, caption_column, negatives_column):
    wanted = {"image_column": image_column, "caption_column": caption_column, "negatives_column": negatives_column}
    missing = [f"{role}={name!r}" for role, name in wanted.items() if name is not None and name not in columns]
    if missing:
        raise ValueError(f"dataset {where}: column(s) {', '.join(missing)} not found; columns found: {columns}")
    renames = {image_column: "image", caption_column: "caption"}
    if negatives_column:
        renames[negatives_column] = "negatives"
    dataset = dataset.select_columns(list(renames))
    renames = {old: new for old, new in renames.items() if old != new}
    return dataset.rename_columns(renames) if renames else dataset


def _disk_source(path, split, image_column, caption_column, negatives_column) -> _Raw:
    loaded = datasets.load_from_disk(path)
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise ValueError(f"dataset {path}: split {split!r} not found; splits found: {list(loaded)}")
        loaded = loaded[split]
    loaded = _select_columns(loaded, loaded.column_names, path, image_column, caption_column, negatives_column)
    dataset = loaded.to_iterable_dataset(num_shards=min(TABLE_SHARDS, max(len(loaded), 1))).decode(False)
    return _Raw(dataset, loaded.column_names, len(loaded), negatives_column is not None, image_root=path)


def _hub_tar_files(repo: str) -> list[str]:
    from huggingface_hub import HfApi

    files = HfApi().list_repo_files(repo, repo_type="dataset")
    return [f"hf://datasets/{repo}/{f}" for f in sorted(files) if f.endswith(".tar")]


def _hub_source(name, request: _Request, image_column, caption_column) -> _Raw:
    """A Hub dataset id or a local folder in Hub layout (data files, optional README card)."""
    split, streaming, negatives_column = request.split, request.streaming, request.negatives_column
    if not os.path.isdir(name):
        tars = _hub_tar_files(name)
        if tars:  # a WebDataset repository: use the fault-tolerant reader
            return _webdataset_source(tars, request.caption_key or "caption", request.max_bytes)
    try:
        loaded = datasets.load_dataset(name, split=split, streaming=streaming)
    except (FileNotFoundError, ValueError) as err:
        raise ValueError(f"cannot load dataset {name!r} (split {split!r}): {err}") from err
    if streaming:
        splits = loaded.info.splits or {}
        num_rows = splits[split].num_examples if split in splits and splits[split].num_examples else None
        columns = loaded.column_names or list(next(iter(loaded)))
    else:
        num_rows, columns = len(loaded), loaded.column_names
        loaded = loaded.to_iterable_dataset(num_shards=min(TABLE_SHARDS, max(num_rows, 1)))
    # decode(False) before any column operation: those run on decoded (formatted) examples otherwise.
    loaded = _select_columns(loaded.decode(False), columns, name, image_column, caption_column, negatives_column)
    image_root = name if os.path.isdir(name) else None
    return _Raw(loaded, ["image", "caption"] + (["negatives"] if negatives_column else []),
                num_rows, negatives_column is not None, image_root=image_root)


# ---------------------------------------------------------------------------------------------
# Decoding and the public entry point


class DecodeSamples:
    """Batched ``datasets`` map: raw records -> decoded, validated samples; bad ones dropped and counted.

    In: {"image": bytes | path | {"bytes", "path"}, "caption": str | bytes | None[, "negatives"]
         [, "__skip__", "__detail__"]} (lists of length n), and the records' indices in this worker's stream.
    Out: {"image": [PIL RGB], "caption": [str], POSITION_KEY: [int][, "negatives": [list[str]]]} (lists of
         length <= n). Records before the resume plan's position (``seek``) are passed over undecoded.
    """

    def __init__(self, stats: SkipStats, has_negatives: bool, image_root: str | None, limits: ImageLimits,
                 seek: StreamSeek, allow_paths_outside_root: bool = False):
        self.stats, self.has_negatives, self.image_root, self.limits = stats, has_negatives, image_root, limits
        self.seek, self.allow_paths_outside_root = seek, allow_paths_outside_root

    def _image_input(self, value):
        """A string path of a dataset is relative to the dataset's folder (raises PathOutsideRoot)."""
        if isinstance(value, str) and self.image_root and value:
            return join_under(self.image_root, value, allow_outside=self.allow_paths_outside_root)
        if isinstance(value, dict) and value.get("bytes") is None and isinstance(value.get("path"), str):
            return self._image_input(value["path"])
        return value

    def __call__(self, batch: dict, indices: list[int]) -> dict:
        out = {"image": [], "caption": [], POSITION_KEY: []}
        if self.has_negatives:
            out["negatives"] = []
        n = len(batch["caption"])
        skips, details = batch.get("__skip__") or [None] * n, batch.get("__detail__") or [""] * n
        start = self.seek.raw_records_to_skip()
        for i in range(n):
            if indices[i] < start:  # trained on before the resume
                continue
            if skips[i] == "corrupt_shard":  # a marker, not a sample
                self.stats.count(skips[i], details[i])
                continue
            skip, detail = skips[i], details[i]
            try:
                image = self._image_input(batch["image"][i])
            except PathOutsideRoot as err:
                image, skip, detail = None, skip or "path_outside_root", detail or str(err)
            kept = prepare_sample(image, batch["caption"][i], self.stats, self.limits, skip=skip, detail=detail)
            if kept is None:
                continue
            out["image"].append(kept[0])
            out["caption"].append(kept[1])
            out[POSITION_KEY].append(indices[i] + 1)
            if self.has_negatives:
                out["negatives"].append(list(batch["negatives"][i] or []))
        return out


def _resolve_source(train_data, request: _Request) -> _Raw:
    caption_key, max_bytes = request.caption_key or "caption", request.max_bytes
    if not isinstance(train_data, str):  # a list of shard paths or patterns
        return _webdataset_source(train_data, caption_key, max_bytes)
    if train_data == NEGCLIP_NAME:
        return _negclip_seed(request)
    if train_data in HUB_WEBDATASETS:
        return _hub_webdataset_seed(train_data, request)
    image_column, caption_column = request.image_column or "image", request.caption_column or "caption"
    if os.path.isdir(train_data):
        if any(os.path.exists(os.path.join(train_data, f)) for f in ("dataset_info.json", "dataset_dict.json")):
            return _disk_source(train_data, request.split, image_column, caption_column, request.negatives_column)
        if any(f.endswith(".tar") for f in os.listdir(train_data)):
            return _webdataset_source(train_data, caption_key, max_bytes)
        return _hub_source(train_data, request, image_column, caption_column)
    if table_format(train_data) is not None:
        return _table_source(read_table(train_data, image_column, caption_column, request.negatives_column,
                                        image_root=request.root,
                                        allow_paths_outside_root=request.allow_paths_outside_root))
    if train_data.endswith(".tar") or "{" in train_data or any(c in train_data for c in "*?["):
        return _webdataset_source(train_data, caption_key, max_bytes)
    if os.path.exists(train_data):
        raise ValueError(f"train_data {train_data!r}: unsupported file type (use .tar shards, .csv, .tsv, .jsonl, "
                         "a save_to_disk folder or a dataset folder)")
    return _hub_source(train_data, request, image_column, caption_column)


def _split_between_processes(dataset: datasets.IterableDataset, rank: int, world: int) -> datasets.IterableDataset:
    """This process's disjoint part of the raw stream, taken before any sample is decoded.

    Whole shards where their number divides among the processes (``split_dataset_by_node``). Otherwise
    every ``world``-th raw record: ``split_dataset_by_node`` would keep every ``world``-th *output*, after
    the decoding map, so every process would decode the whole stream to keep its share of it.
    """
    if dataset.num_shards % world == 0:
        return split_dataset_by_node(dataset, rank=rank, world_size=world)
    return dataset.filter(_every_nth, with_indices=True, fn_kwargs={"rank": rank, "world": world})


def _every_nth(_record, index: int, rank: int, world: int) -> bool:
    return index % world == rank


def load_image_text_dataset(
    train_data,
    train_data_root: str | None = None,
    *,
    caption_key: str | None = None,
    image_column: str | None = None,
    caption_column: str | None = None,
    negatives_column: str | None = None,
    split: str = "train",
    streaming: bool = True,
    seed: int = 0,
    shuffle_buffer: int = 1000,
    process_index: int = 0,
    num_processes: int = 1,
    min_image_side: int = DEFAULT_MIN_SIDE,
    max_image_pixels: int = DEFAULT_MAX_PIXELS,
    image_draft_size: int | None = None,
    max_image_bytes: int = DEFAULT_MAX_BYTES,
    allow_paths_outside_root: bool = False,
    skip_stats: SkipStats | None = None,
) -> ImageTextData:
    """Open a training source as a stream of decoded, validated image-caption samples.

    Args:
        train_data: ``train_neg_clip`` (COCO NegCLIP TSV under ``train_data_root``), ``laioncoco_100k`` /
            ``cc3m_100k`` (Hub WebDataset subsets; local copies under ``train_data_root`` if given),
            a WebDataset shard pattern (``dir/{00000..00009}.tar``, ``dir/*.tar``, a folder of tars, or a
            list), a ``.csv`` / ``.tsv`` / ``.jsonl`` table, a ``save_to_disk`` folder, a local folder in
            Hub layout, or a Hub dataset id.
        train_data_root: data root for the seed names; for tables, the base of relative image paths
            (default: the table's folder).
        caption_key: WebDataset caption field: a member extension (``txt``), a json field
            (``caption``, ``coca_captions``), or side files ``<shards>/<key>/<sample>.txt`` /
            ``<shards>/<key>.tar.gz``. Default: the seed's (``coca_captions`` for cc3m_100k), else ``caption``.
        image_column, caption_column, negatives_column: column names for tables and datasets
            (default ``image`` / ``caption``, and ``filepath`` / ``title`` / ``neg_caption`` for train_neg_clip).
        split: split of a Hub / save_to_disk dataset.
        streaming: read Hub data on the fly; False downloads it first (local sources ignore this).
        seed, shuffle_buffer: shuffle seed and buffer size (0 disables shuffling). Call
            ``dataset.set_epoch(e)`` (the HF Trainer does) to reshuffle each epoch. Shards are
            reshuffled per epoch, then streamed one at a time through the buffer (the authors'
            WebDataset loader: shard shuffle, then a sample buffer). A table (CSV / TSV / JSONL,
            the NegCLIP TSV) is instead permuted in full each epoch, seeded by seed and epoch.
        process_index, num_processes: this process's rank and the world size; each process then
            reads a disjoint part (``datasets.distributed.split_dataset_by_node``).
        min_image_side, max_image_pixels, image_draft_size, max_image_bytes: see ``images.decode_image``
            (``max_image_bytes`` also caps what is read of a tar member).
        allow_paths_outside_root: read table rows whose image path is absolute or climbs out of the
            image root with ``..`` (refused and counted as ``path_outside_root`` by default).
        skip_stats: counters to share (e.g. with the collator); a new one by default.

    Raises:
        FileNotFoundError, ValueError: a missing or unreadable source, or wrong column names,
            with the file and the columns found in the message.
    """
    stats = skip_stats or SkipStats()
    request = _Request(train_data_root, split, streaming, caption_key, image_column, caption_column, negatives_column,
                       allow_paths_outside_root, max_image_bytes)
    raw = _resolve_source(train_data, request)
    dataset = raw.dataset
    if shuffle_buffer > 0:
        # One shard at a time into the buffer, as the authors' loader; for a table, a buffer of one passes
        # the rows straight through: the per-epoch permutation of its rows is the whole shuffle.
        dataset = dataset.shuffle(seed=seed, buffer_size=1 if raw.permute_sources else shuffle_buffer,
                                  max_buffer_input_shards=1)
    if num_processes > 1:
        dataset = _split_between_processes(dataset, process_index, num_processes)
    limits = ImageLimits(min_image_side, max_image_pixels, image_draft_size, max_image_bytes)
    seek = StreamSeek()
    decode = DecodeSamples(stats, raw.has_negatives, raw.image_root, limits, seek, allow_paths_outside_root)
    dataset = dataset.map(decode, batched=True, batch_size=_DECODE_BATCH, with_indices=True,
                          remove_columns=raw.columns)
    name = train_data if isinstance(train_data, str) else f"{len(train_data)} shards"
    if raw.num_rows is None:
        logger.info("training data %s: length unknown, max_steps must drive training", name)
    else:
        logger.info("training data %s: %d rows", name, raw.num_rows)
    return ImageTextData(dataset, name, raw.num_rows, raw.has_negatives, stats, seek)
