"""Zero-shot classification: ImageNet-1k and the 20 tasks of ELEVATER's image-classification suite.

Each task is read from its ``clip-benchmark/wds_*`` dataset repository (layout in :mod:`.webdataset`),
downloaded under ``data_root/zeroshot/<repository name>/``, e.g.::

    huggingface-cli download clip-benchmark/wds_imagenet1k --repo-type dataset \\
        --include "test/*" "*.txt" --local-dir <data_root>/zeroshot/wds_imagenet1k

Each image is classified against the class embeddings (each class's prompts from the templates file,
embedded, averaged and renormalised); the task's score is top-1 accuracy (top-5 is reported too) and
ZS = the mean top-1 over the 21 tasks.

Uncertain: ELEVATER defines some tasks with other metrics (mean per-class accuracy, mAP for VOC 2007,
ROC-AUC for Hateful Memes); here every task is top-1 accuracy, as the seed's ZS column is described.
The repository names are those of the CLIP_benchmark collection; Hateful Memes' (``wds_hateful_memes``)
could not be confirmed, and CIFAR / DTD exist under two names (both accepted).
"""

from __future__ import annotations

import os

from ..items import BenchmarkData, ZeroShotTask
from .base import Benchmark, read_lines
from .webdataset import read_samples, shard_paths

# name, title, repository names under data_root/zeroshot/ (first found is used)
TASKS = (
    ("imagenet1k", "ImageNet-1k", ("wds_imagenet1k",)),
    ("caltech101", "Caltech-101", ("wds_vtab-caltech101",)),
    ("cifar10", "CIFAR-10", ("wds_vtab-cifar10", "wds_cifar10")),
    ("cifar100", "CIFAR-100", ("wds_vtab-cifar100", "wds_cifar100")),
    ("country211", "Country211", ("wds_country211",)),
    ("dtd", "DTD", ("wds_vtab-dtd", "wds_dtd")),
    ("eurosat", "EuroSAT", ("wds_vtab-eurosat",)),
    ("fer2013", "FER2013", ("wds_fer2013",)),
    ("fgvc_aircraft", "FGVC-Aircraft", ("wds_fgvc_aircraft",)),
    ("flowers102", "Oxford Flowers-102", ("wds_vtab-flowers",)),
    ("food101", "Food-101", ("wds_food101",)),
    ("gtsrb", "GTSRB", ("wds_gtsrb",)),
    ("hateful_memes", "Hateful Memes", ("wds_hateful_memes",)),
    ("kitti_distance", "KITTI distance", ("wds_vtab-kitti_closest_vehicle_distance",)),
    ("mnist", "MNIST", ("wds_mnist",)),
    ("pets", "Oxford-IIIT Pets", ("wds_vtab-pets",)),
    ("pcam", "PatchCamelyon", ("wds_vtab-pcam",)),
    ("rendered_sst2", "Rendered SST2", ("wds_renderedsst2",)),
    ("resisc45", "RESISC45", ("wds_vtab-resisc45",)),
    ("stanford_cars", "Stanford Cars", ("wds_cars",)),
    ("voc2007", "PASCAL VOC 2007", ("wds_voc2007",)),
)


class ZeroShotClassification(Benchmark):
    """One zero-shot classification task in the ``clip-benchmark/wds_*`` layout."""

    family = "zs"

    def __init__(self, name: str, title: str, repositories: tuple[str, ...]):
        self.name, self.title, self.repositories = name, title, repositories
        self.folder = os.path.join("zeroshot", repositories[0])
        self.download = (f"huggingface-cli download clip-benchmark/{repositories[0]} --repo-type dataset "
                         f'--include "test/*" "*.txt" --local-dir <data_root>/zeroshot/{repositories[0]}')

    def load(self, data_root: str) -> BenchmarkData:
        folders = [os.path.join(data_root, "zeroshot", repository) for repository in self.repositories]
        folder = next((f for f in folders if os.path.isdir(f)), folders[0])
        needed = [os.path.join(folder, "classnames.txt"), os.path.join(folder, "zeroshot_classification_templates.txt")]
        lacking = [path for path in needed if not os.path.exists(path)]
        if lacking or not shard_paths(folder):
            raise self.missing(data_root, lacking or [os.path.join(folder, "test", "*.tar")])
        samples = read_samples(folder, ("cls",))
        task = ZeroShotTask(classnames=read_lines(needed[0]), templates=read_lines(needed[1]),
                            images=[image for image, _ in samples],
                            labels=[int(fields["cls"].strip()) for _, fields in samples])
        return BenchmarkData(zeroshot={self.name: task})

    def summarise(self, scores):
        values = scores[self.name]
        return {"top1": values["top1"], "top5": values["top5"]}, values["top1"]


def zeroshot_benchmarks() -> list[ZeroShotClassification]:
    return [ZeroShotClassification(*task) for task in TASKS]
