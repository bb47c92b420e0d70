"""Image-text training data from any supported source as one streaming ``datasets.IterableDataset``.

``load_image_text_dataset`` resolves ``train_data`` (a seed name, a path, a shard pattern or a Hub
id) to raw records, then applies the same pipeline to all of them:

    raw records -> shuffle buffer (reshuffled per epoch via set_epoch) -> split_dataset_by_node
                -> decode + validate (bad samples dropped and counted) -> {"image", "caption"[, "negatives"]}

Shuffling happens on raw (still encoded) records so the buffer stays small; decoding happens last,
inside the DataLoader workers, so it runs in parallel and batches stay full.
"""

from __future__ import annotations

import logging
import os
import tarfile
import zlib
from dataclasses import dataclass

import datasets
from datasets.distributed import split_dataset_by_node

from .images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
from .resume import POSITION_KEY, StreamSeek
from .samples import ImageLimits, prepare_sample
from .shards import (
    CaptionSideFiles,
    count_from_metadata,
    expand_shard_pattern,
    iter_tar_samples,
    join_path,
    parent_path,
    parse_json_field,
    sample_image_field,
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


# ---------------------------------------------------------------------------------------------
# WebDataset shards


def _webdataset_records(shards, caption_from, caption_key, side_files):
    """Raw records of the shards; a damaged shard yields one ``corrupt_shard`` marker and stops."""
    for url in shards:
        try:
            for key, fields in iter_tar_samples(url):
                yield _webdataset_record(url, key, fields, caption_from, caption_key, side_files)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            yield {"image": None, "caption": None, "__skip__": "corrupt_shard", "__detail__": f"{url}: {err}"}


def _webdataset_record(url, key, fields, caption_from, caption_key, side_files) -> dict:
    record = {"image": None, "caption": None, "__skip__": None, "__detail__": f"{url}:{key}"}
    image_ext = sample_image_field(fields)
    if image_ext is not None:
        record["image"] = {"bytes": fields[image_ext], "path": f"{url}:{key}.{image_ext}"}
    if caption_from == "member":
        record["caption"] = fields.get(caption_key)
        return record
    try:
        meta = parse_json_field(fields) or {}
    except ValueError as err:
        record["__skip__"], record["__detail__"] = "bad_metadata", f"{url}:{key}: {err}"
        return record
    if caption_from == "json":
        record["caption"] = meta.get(caption_key)
    else:
        record["caption"] = side_files.get(str(meta.get("key") or key))
    return record


def _webdataset_source(pattern, caption_key: str) -> _Raw:
    """Shards from a pattern; the caption field is resolved on the first sample, failing early."""
    shards = expand_shard_pattern(pattern)
    try:
        key, fields = next(iter_tar_samples(shards[0]))
    except (StopIteration, tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(f"cannot read a sample from WebDataset shard {shards[0]}: {err!r}") from err
    if sample_image_field(fields) is None:
        raise ValueError(f"{shards[0]}: sample {key!r} has no image member; members found: {sorted(fields)}")
    try:
        meta = parse_json_field(fields) or {}
    except ValueError:
        meta = {}
    side_files = None
    if caption_key in fields:
        caption_from, field = "member", caption_key
    elif caption_key == "caption" and "txt" in fields:
        caption_from, field = "member", "txt"
    elif caption_key in meta:
        caption_from, field = "json", caption_key
    else:
        base = parent_path(shards[0])
        side_files = CaptionSideFiles(base, caption_key)
        if not side_files.found:
            raise ValueError(
                f"{shards[0]}: caption {caption_key!r} not found for sample {key!r}: members found "
                f"{sorted(fields)}, json fields found {sorted(meta)}, and no side files "
                f"{join_path(base, caption_key, '<key>.txt')} or {join_path(base, caption_key + '.tar.gz')}"
            )
        caption_from, field = "side", caption_key
    dataset = datasets.IterableDataset.from_generator(
        _webdataset_records,
        gen_kwargs={"shards": shards, "caption_from": caption_from, "caption_key": field, "side_files": side_files},
    )
    return _Raw(dataset, _RAW_WDS_COLUMNS, count_from_metadata(shards))


def _find_local_shards(root: str, folder: str) -> list[str] | None:
    for candidate in (join_path(root, folder, "train_subset_100K"), join_path(root, folder), root):
        try:
            return expand_shard_pattern(join_path(candidate, "*.tar"))
        except FileNotFoundError:
            continue
    return None


def _hub_webdataset_seed(name: str, root: str | None, caption_key: str | None, streaming: bool) -> _Raw:
    repo, folder, default_key = HUB_WEBDATASETS[name]
    caption_key = caption_key or default_key
    if root is not None:
        shards = _find_local_shards(root, folder)
        if shards is None:
            raise FileNotFoundError(
                f"{name}: no *.tar shards under {root} (looked in {folder}/train_subset_100K, {folder}, and the "
                f"root itself); download them from the Hub dataset {repo} or leave train_data_root unset to stream"
            )
        return _webdataset_source(shards, caption_key)
    if streaming:
        return _webdataset_source(_hub_tar_files(repo), caption_key)
    from huggingface_hub import snapshot_download

    local = snapshot_download(repo_id=repo, repo_type="dataset")
    return _webdataset_source(_find_local_shards(local, folder) or join_path(local, "*.tar"), caption_key)


# ---------------------------------------------------------------------------------------------
# Tables (CSV / TSV / JSONL / NegCLIP TSV)


def _table_source(table: Table) -> _Raw:
    columns = {"image": table.images, "caption": table.captions}
    if table.negatives is not None:
        columns["negatives"] = table.negatives
    dataset = datasets.Dataset.from_dict(columns).to_iterable_dataset(num_shards=min(TABLE_SHARDS, len(table)))
    return _Raw(dataset, list(columns), len(table), has_negatives=table.negatives is not None)


def _negclip_image_base(table: Table, root: str) -> tuple[str, str]:
    """Find where the COCO 2014 images live: (base folder, prefix to strip from the TSV paths).

    The TSV paths read ``coco/train2014/COCO_train2014_....jpg``; images may sit at
    ``<root>/coco/train2014``, ``<root>/coco/images/train2014``, ``<root>/images/train2014`` or
    ``<root>/train2014``.
    """
    layouts = [(root, ""), (join_path(root, "coco", "images"), "coco/"), (join_path(root, "images"), "coco/"),
               (root, "coco/")]
    probe = [p for p in table.images[:64] if p]
    for base, strip in layouts:
        if any(os.path.exists(join_path(base, p[len(strip):] if p.startswith(strip) else p)) for p in probe):
            return base, strip
    tried = ", ".join(join_path(base, (probe[0] if probe else "")[len(strip):]) for base, strip in layouts)
    raise FileNotFoundError(
        f"{NEGCLIP_NAME}: none of the first {len(probe)} COCO 2014 images of {table.path} was found (tried e.g. "
        f"{tried}); put the COCO train2014/val2014 folders under {root}"
    )


def _negclip_seed(root: str | None, image_column: str | None, caption_column: str | None) -> _Raw:
    if root is None:
        raise ValueError(f"{NEGCLIP_NAME} needs train_data_root: the folder holding {NEGCLIP_NAME}.tsv and COCO 2014")
    candidates = [join_path(root, f"{NEGCLIP_NAME}.tsv"), join_path(root, "coco", f"{NEGCLIP_NAME}.tsv")]
    path = next((p for p in candidates if os.path.exists(p)), None)
    if path is None:
        raise FileNotFoundError(f"{NEGCLIP_NAME}: annotation file not found at {' or '.join(candidates)}; "
                                f"download it from {NEGCLIP_URL}")
    table = read_table(path, image_column or "filepath", caption_column or "title", "neg_caption", image_root="")
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


def _hub_source(name, split, streaming, image_column, caption_column, negatives_column, caption_key) -> _Raw:
    """A Hub dataset id or a local folder in Hub layout (data files, optional README card)."""
    if not os.path.isdir(name):
        tars = _hub_tar_files(name)
        if tars:  # a WebDataset repository: use the fault-tolerant reader
            return _webdataset_source(tars, caption_key or "caption")
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
                 seek: StreamSeek):
        self.stats, self.has_negatives, self.image_root, self.limits = stats, has_negatives, image_root, limits
        self.seek = seek

    def _image_input(self, value):
        if isinstance(value, str) and self.image_root and value and "://" not in value and not os.path.isabs(value):
            return join_path(self.image_root, value)
        if isinstance(value, dict) and not value.get("bytes") and isinstance(value.get("path"), str):
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
            kept = prepare_sample(self._image_input(batch["image"][i]), batch["caption"][i], self.stats, self.limits,
                                  skip=skips[i], detail=details[i])
            if kept is None:
                continue
            out["image"].append(kept[0])
            out["caption"].append(kept[1])
            out[POSITION_KEY].append(indices[i] + 1)
            if self.has_negatives:
                out["negatives"].append(list(batch["negatives"][i] or []))
        return out


def _resolve_source(train_data, root, split, streaming, caption_key, image_column, caption_column,
                    negatives_column, stats) -> _Raw:
    if not isinstance(train_data, str):  # a list of shard paths or patterns
        return _webdataset_source(train_data, caption_key or "caption")
    if train_data == NEGCLIP_NAME:
        return _negclip_seed(root, image_column, caption_column)
    if train_data in HUB_WEBDATASETS:
        return _hub_webdataset_seed(train_data, root, caption_key, streaming)
    image_column, caption_column = image_column or "image", caption_column or "caption"
    if os.path.isdir(train_data):
        if any(os.path.exists(os.path.join(train_data, f)) for f in ("dataset_info.json", "dataset_dict.json")):
            return _disk_source(train_data, split, image_column, caption_column, negatives_column)
        if any(f.endswith(".tar") for f in os.listdir(train_data)):
            return _webdataset_source(train_data, caption_key or "caption")
        return _hub_source(train_data, split, streaming, image_column, caption_column, negatives_column, caption_key)
    if table_format(train_data) is not None:
        return _table_source(read_table(train_data, image_column, caption_column, negatives_column,
                                        image_root=root, stats=stats))
    if train_data.endswith(".tar") or "{" in train_data or any(c in train_data for c in "*?["):
        return _webdataset_source(train_data, caption_key or "caption")
    if os.path.exists(train_data):
        raise ValueError(f"train_data {train_data!r}: unsupported file type (use .tar shards, .csv, .tsv, .jsonl, "
                         "a save_to_disk folder or a dataset folder)")
    return _hub_source(train_data, split, streaming, image_column, caption_column, negatives_column, caption_key)


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
            ``dataset.set_epoch(e)`` (the HF Trainer does) to reshuffle each epoch.
        process_index, num_processes: this process's rank and the world size; each process then
            reads a disjoint part (``datasets.distributed.split_dataset_by_node``).
        min_image_side, max_image_pixels, image_draft_size: see ``images.decode_image``.
        skip_stats: counters to share (e.g. with the collator); a new one by default.

    Raises:
        FileNotFoundError, ValueError: a missing or unreadable source, or wrong column names,
            with the file and the columns found in the message.
    """
    stats = skip_stats or SkipStats()
    raw = _resolve_source(train_data, train_data_root, split, streaming, caption_key, image_column, caption_column,
                          negatives_column, stats)
    dataset = raw.dataset
    if shuffle_buffer > 0:
        dataset = dataset.shuffle(seed=seed, buffer_size=shuffle_buffer)
    if num_processes > 1:
        dataset = split_dataset_by_node(dataset, rank=process_index, world_size=num_processes)
    limits = ImageLimits(min_image_side, max_image_pixels, image_draft_size)
    seek = StreamSeek()
    decode = DecodeSamples(stats, raw.has_negatives, raw.image_root, limits, seek)
    dataset = dataset.map(decode, batched=True, batch_size=_DECODE_BATCH, with_indices=True,
                          remove_columns=raw.columns)
    name = train_data if isinstance(train_data, str) else f"{len(train_data)} shards"
    if raw.num_rows is None:
        logger.info("training data %s: length unknown, max_steps must drive training", name)
    else:
        logger.info("training data %s: %d rows", name, raw.num_rows)
    return ImageTextData(dataset, name, raw.num_rows, raw.has_negatives, stats, seek)
