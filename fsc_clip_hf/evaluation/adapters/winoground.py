"""Winoground (Thrush et al., CVPR 2022; Hugging Face dataset ``facebook/winoground``, gated).

Read from the first of these that exists:

1. the files of the dataset repository under ``data_root``::

       winoground/data/examples.jsonl     {id, image_0, image_1, caption_0, caption_1, tag, ...}
       winoground/data/images/<image_0 | image_1>.png    (data/images.zip unzipped)

   (``winoground/examples.jsonl`` with ``winoground/images/`` works too);
2. a ``datasets`` save of it, ``datasets.load_dataset("facebook/winoground")["test"].save_to_disk(
   "<data_root>/winoground")`` (columns image_0, image_1, caption_0, caption_1);
3. the Hub itself (``facebook/winoground``, needs an accepted licence and a token), unless offline.

Each example is a 2×2 group; subsets are the text, image and group scores; Winoground = the group
score, the figure the seed reports.
"""

from __future__ import annotations

import logging
import os

from ..images import ImageBytes, ImageFile
from ..items import BenchmarkData, Pair
from .base import Benchmark, read_jsonl

logger = logging.getLogger(__name__)
HUB_ID = "facebook/winoground"


class Winoground(Benchmark):
    name, title, family, folder = "winoground", "Winoground", "comp", "winoground"
    download = (f"Accept the licence of huggingface.co/datasets/{HUB_ID}, then either download its data/ folder "
                "(examples.jsonl, images.zip unzipped into data/images/) into winoground/, or save the dataset "
                f"there: datasets.load_dataset('{HUB_ID}')['test'].save_to_disk('<data_root>/winoground').")

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
        return BenchmarkData(pairs=[
            Pair(subset="winoground",
                 images=(ImageFile(os.path.join(images, f"{row['image_0']}.png")),
                         ImageFile(os.path.join(images, f"{row['image_1']}.png"))),
                 captions=(row["caption_0"], row["caption_1"]))
            for row in read_jsonl(os.path.join(folder, "examples.jsonl"))
        ])

    def _from_hub(self, data_root: str):
        if os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}:
            raise self.missing(data_root, [self.root(data_root)])
        import datasets

        try:
            return datasets.load_dataset(HUB_ID, split="test")
        except Exception as error:  # noqa: BLE001 - gated, offline or absent: all mean "get it yourself"
            logger.info("cannot load %s from the Hub: %s", HUB_ID, error)
            raise self.missing(data_root, [self.root(data_root)]) from error

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
