"""ColorSwap (Burapacheep et al., ACL Findings 2024; github.com/Top34051/colorswap).

Read from the first of these layouts under ``data_root`` that is there (the results name it, ``item_set``):

1. the release the GitHub README links (a public Google Drive zip of ``data/``)::

       colorswap/test.json        a JSON list of {id, caption_1, caption_2, image_1, image_2, image_source,
                                  caption_source}; image_k is a path relative to colorswap/
       colorswap/images/img_<id>_<k>.png      (its data/images.zip unzipped)

2. the Hub dataset ``stanfordnlp/colorswap`` (gated), its test split's parquet files anywhere under
   ``colorswap/`` (``hf download stanfordnlp/colorswap --repo-type dataset --local-dir <data_root>/colorswap``):
   the same columns, ``image_1`` / ``image_2`` holding the PNG bytes.

Item set: the test split, 300 examples (the companion study's per-model figures are all multiples of 1/300,
and the official VLM logs hold 300 test ids). Each example is a 2×2 group, ``image_k`` showing ``caption_k``
(the colour words swapped between the objects), scored as Winoground with strict inequalities, as the
paper's image-text-matching protocol does: text, image and group scores. ColorSwap = the group score, the
paper's main ITM metric and the companion study's figure (its ``colorswap`` column is ``colorswap::group``).
"""

from __future__ import annotations

import glob
import os

from ..images import ImageBytes, ImageFile
from ..items import IMAGE_ABSENT, BenchmarkData, Pair
from .base import Benchmark, Skip, collect, data_path, read_json_list, text

HUB_ID = "stanfordnlp/colorswap"
DRIVE_ID = "1xdG94DQdz_eQVH1lrEeaHVz_BNkrVgb5"  # the README's release of data/
KINDS = ("text", "image", "group")
TEST_SPLIT = 300  # examples of the published test split


def item_set(count: int, source: str) -> str:
    return f"test split, {count} examples ({source}; the published split has {TEST_SPLIT})"


class ColorSwap(Benchmark):
    name, title, family, folder = "colorswap", "ColorSwap", "comp_extra", "colorswap"
    subsets = ("group",)
    download = (f"Either the release the README of github.com/Top34051/colorswap links (Google Drive {DRIVE_ID}: "
                f"pip install gdown && gdown {DRIVE_ID}): put its data/test.json into <data_root>/colorswap/ and "
                "unzip its data/images.zip there (colorswap/images/img_<id>_<k>.png); or accept the licence of "
                f"huggingface.co/datasets/{HUB_ID}, log in (`hf auth login`) and `hf download {HUB_ID} "
                "--repo-type dataset --local-dir <data_root>/colorswap`.")

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        annotation = os.path.join(root, "test.json")
        if os.path.exists(annotation):
            return self._from_release(data_root, annotation)
        parquet = hub_test_files(root)
        if parquet:
            return self._from_hub_files(parquet)
        raise self.missing(data_root, [annotation])

    def _from_release(self, data_root: str, annotation: str) -> BenchmarkData:
        root = self.root(data_root)
        self.require(data_root, [os.path.join(root, "images")])
        records = read_json_list(annotation)
        data = BenchmarkData(item_set=item_set(len(records), "test.json of the GitHub release"))

        def image(record, key) -> ImageFile:
            path = data_path(root, text(record[key], key))  # "images/img_<id>_<k>.png", relative to colorswap/
            if not os.path.exists(path):
                raise Skip(IMAGE_ABSENT)
            return ImageFile(path)

        collect(data, annotation, enumerate(records),
                lambda record: Pair(subset="colorswap", images=(image(record, "image_1"), image(record, "image_2")),
                                    captions=(text(record["caption_1"], "caption_1"),
                                              text(record["caption_2"], "caption_2"))),
                subset="colorswap")
        return data

    @staticmethod
    def _from_hub_files(paths: list[str]) -> BenchmarkData:
        import pyarrow.parquet as pq

        data = BenchmarkData()

        def png(record, key) -> ImageBytes:
            encoded = record[key]["bytes"]
            if not isinstance(encoded, bytes) or not encoded:
                raise TypeError(f"{key} holds no image bytes")
            return ImageBytes(encoded)

        count = 0
        for path in paths:
            try:
                rows = pq.read_table(path, columns=["caption_1", "caption_2", "image_1", "image_2"]).to_pylist()
            except (OSError, ValueError, KeyError) as error:  # pyarrow's errors derive from these
                raise ValueError(f"{path}: not ColorSwap's parquet ({error})") from None
            count += len(rows)
            collect(data, path, enumerate(rows),
                    lambda row: Pair(subset="colorswap", images=(png(row, "image_1"), png(row, "image_2")),
                                     captions=(text(row["caption_1"], "caption_1"),
                                               text(row["caption_2"], "caption_2"))),
                    subset="colorswap")
        data.item_set = item_set(count, f"the Hub's parquet, {len(paths)} file(s)")
        return data

    def summarise(self, scores):
        subsets = {kind: scores["colorswap"][kind] for kind in KINDS}
        return subsets, self.headline(subsets)


def hub_test_files(root: str) -> list[str]:
    """The test split's parquet files of a Hub download under ``root`` (``data/test-00000-of-00001.parquet``
    as ``push_to_hub`` writes them, or ``<config>/test/0000.parquet`` as the Hub's conversion does)."""
    found = glob.glob(os.path.join(glob.escape(root), "**", "*.parquet"), recursive=True)
    return sorted(path for path in found if any(part == "test" or part.startswith("test-")
                                                for part in os.path.relpath(path, root).split(os.sep)))
