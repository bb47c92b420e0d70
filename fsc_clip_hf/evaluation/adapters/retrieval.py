"""Image-text retrieval on COCO 5k (Karpathy test split) and Flickr30k 1k (test split).

Read from the ``clip-benchmark/wds_mscoco_captions`` and ``clip-benchmark/wds_flickr30k`` dataset
repositories (layout in :mod:`.webdataset`; each sample an image and its captions, one per line),
downloaded under ``data_root/retrieval/<repository name>/``, e.g.::

    hf download clip-benchmark/wds_mscoco_captions --repo-type dataset \\
        --include "test/*" "*.txt" --local-dir <data_root>/retrieval/wds_mscoco_captions

Recall@1/5/10 image → text (an image is right when any of its captions is retrieved) and text → image;
I2T / T2I Ret = the mean R@1 over the two sets. Uncertain: that the ``test`` splits of these
repositories are exactly the Karpathy 5k / 1k test splits (CLIP_benchmark documents them as such).
"""

from __future__ import annotations

import os

from ..items import BenchmarkData, RetrievalSet
from .base import Benchmark
from .webdataset import read_samples, shard_paths

RECALLS = ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10")


class Retrieval(Benchmark):
    """One retrieval set in the ``clip-benchmark/wds_*`` layout."""

    family = "retrieval"

    def __init__(self, name: str, title: str, repository: str):
        self.name, self.title, self.repository = name, title, repository
        self.folder = os.path.join("retrieval", repository)
        self.download = (f"hf download clip-benchmark/{repository} --repo-type dataset "
                         f'--include "test/*" "*.txt" --local-dir <data_root>/retrieval/{repository}')

    def load(self, data_root: str) -> BenchmarkData:
        folder = self.root(data_root)
        if not shard_paths(folder):
            raise self.missing(data_root, [os.path.join(folder, "test", "*.tar")])
        samples = read_samples(folder, ("txt",))
        gallery = RetrievalSet(images=[image for image, _ in samples],
                               captions=[[line.strip() for line in fields["txt"].splitlines() if line.strip()]
                                         for _, fields in samples])
        return BenchmarkData(retrieval={self.name: gallery})

    def summarise(self, scores):
        # Retrieval has no single headline: its recalls feed the I2T / T2I Ret columns.
        return {recall: scores[self.name][recall] for recall in RECALLS}, None


def retrieval_benchmarks() -> list[Retrieval]:
    return [Retrieval("coco", "COCO 5k", "wds_mscoco_captions"), Retrieval("flickr30k", "Flickr30k 1k", "wds_flickr30k")]
