"""Winoground (Thrush et al., CVPR 2022; Hugging Face dataset ``facebook/winoground``, gated).

Read from the first of these that exists:

1. the files of the dataset repository under ``data_root``::

       winoground/data/examples.jsonl     {id, image_0, image_1, caption_0, caption_1, tag, ...}
       winoground/data/images/<image_0 | image_1>.png    (data/images.zip unzipped)

   (``winoground/examples.jsonl`` with ``winoground/images/`` works too), e.g. ``hf download
   facebook/winoground --repo-type dataset --include "data/*" --local-dir <data_root>/winoground`` and
   ``unzip`` of ``data/images.zip`` into ``data/``;
2. a ``datasets`` save of it (``save_to_disk`` into ``<data_root>/winoground``; columns image_0, image_1,
   caption_0, caption_1);
3. the Hub, only when neither is there: ``datasets`` 4+ no longer runs the repository's loading script,
   so the Hub's parquet conversion of its test split is read instead (revision ``refs/convert/parquet``,
   ``<config>/test/*.parquet``; an accepted licence and a token are needed). Offline
   (``HF_HUB_OFFLINE=1``) only the local Hugging Face cache is looked at; online a probe of the
   repository with a 10-second timeout comes first, so no network, no licence or no token fails at
   once with the download to make, never after minutes of retries.

Each example is a 2×2 group; subsets are the text, image and group scores; Winoground = the group
score, the figure the seed reports.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os

from ..images import ImageBytes, ImageFile
from ..items import BenchmarkData, Pair
from .base import Benchmark, MissingData, collect, data_path, read_jsonl, text

logger = logging.getLogger(__name__)
HUB_ID = "facebook/winoground"
PARQUET_REVISION = "refs/convert/parquet"
PARQUET_FILES = "*/test/*.parquet"
PROBE_TIMEOUT = 10.0  # seconds


class Winoground(Benchmark):
    name, title, family, folder = "winoground", "Winoground", "comp", "winoground"
    download = (f"Accept the licence of huggingface.co/datasets/{HUB_ID} and log in (`hf auth login`); then either "
                "let the evaluation read the Hub's parquet conversion (online), or download the files: "
                f"`hf download {HUB_ID} --repo-type dataset --include \"data/*\" --local-dir <data_root>/winoground` "
                "and unzip data/images.zip so that <data_root>/winoground/data/images/<image>.png exist.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        for folder in (os.path.join(root, "data"), root):
            if os.path.exists(os.path.join(folder, "examples.jsonl")):
                return self._from_files(folder)
        if os.path.exists(os.path.join(root, "state.json")) or os.path.exists(os.path.join(root, "dataset_dict.json")):
            import datasets

            saved = datasets.load_from_disk(root)
            return self._from_dataset(saved["test"] if isinstance(saved, datasets.DatasetDict) else saved)
        return self._from_dataset(self._from_hub(data_root))

    def _from_files(self, folder: str) -> BenchmarkData:
        images = os.path.join(folder, "images")
        if not os.path.isdir(images):
            raise self.missing(os.path.dirname(folder), [images])
        path = os.path.join(folder, "examples.jsonl")
        data = BenchmarkData()

        def pair(row) -> Pair:
            # An image id that is absolute or climbs out of images/ makes its row malformed.
            return Pair(subset="winoground",
                        images=tuple(ImageFile(data_path(images, f"{text(row[key], key)}.png"))
                                     for key in ("image_0", "image_1")),
                        captions=(text(row["caption_0"], "caption_0"), text(row["caption_1"], "caption_1")))

        collect(data, path, ((f"line {line}", row) for line, row in enumerate(read_jsonl(path), 1)), pair,
                subset="winoground")
        return data

    def _from_hub(self, data_root: str):
        """The test split from the Hub's parquet conversion (module docstring), as a ``datasets.Dataset``."""
        import datasets
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            files = _hub_parquet_files()
        except Exception as error:  # noqa: BLE001 - offline, no network, gated or absent: all mean "get it yourself"
            logger.info("cannot read %s from the Hub: %s", HUB_ID, error)
            reason = "offline" if _offline() else f"{type(error).__name__}: {error}"
            raise MissingData(f"{self.missing(data_root, [self.root(data_root)])} (from the Hub: {reason})") from error
        logger.info("%s: the Hub's parquet conversion of %s (%d files)", self.name, HUB_ID, len(files))
        # Read with pyarrow: the Image columns come back from the schema's datasets metadata, and no
        # datasets cache is written.
        return datasets.Dataset(pa.concat_tables([pq.read_table(path) for path in files]))

    @staticmethod
    def _from_dataset(dataset) -> BenchmarkData:
        import datasets

        # The encoded bytes key the embedding cache; decoding happens in the embedder's workers.
        raw = dataset.cast_column("image_0", datasets.Image(decode=False)).cast_column(
            "image_1", datasets.Image(decode=False))
        return BenchmarkData(pairs=[
            Pair(subset="winoground",
                 images=(ImageBytes(row["image_0"]["bytes"]), ImageBytes(row["image_1"]["bytes"])),
                 captions=(row["caption_0"], row["caption_1"]))
            for row in raw
        ])

    def summarise(self, scores):
        values = scores["winoground"]
        return {kind: values[kind] for kind in ("text", "image", "group")}, values["group"]


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def _hub_parquet_files() -> list[str]:
    """Local paths of the parquet files of Winoground's test split: from the cache alone when offline,
    else after a quick probe of the repository (which fails at once without network, licence or token)."""
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    if _offline():
        folder = snapshot_download(HUB_ID, repo_type="dataset", revision=PARQUET_REVISION,
                                   allow_patterns=[PARQUET_FILES], local_files_only=True)
        files = sorted(glob.glob(os.path.join(folder, "*", "test", "*.parquet")))
    else:
        info = HfApi().dataset_info(HUB_ID, revision=PARQUET_REVISION, timeout=PROBE_TIMEOUT)
        names = sorted(s.rfilename for s in info.siblings or [] if fnmatch.fnmatch(s.rfilename, PARQUET_FILES))
        files = [hf_hub_download(HUB_ID, name, repo_type="dataset", revision=PARQUET_REVISION) for name in names]
    if not files:
        raise FileNotFoundError(f"no {PARQUET_FILES} in {HUB_ID}@{PARQUET_REVISION}")
    return files
