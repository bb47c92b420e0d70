"""Zero-shot classification as ELEVATER scores it: ImageNet-1k and the 20 tasks of its suite.

The seed's ZS column is the plain mean of these 21 tasks, each scored with the metric of ELEVATER's
dataset config (``vision_benchmark/resources/datasets/<config>.yaml`` of
github.com/Computer-Vision-in-the-Wild/Elevater_Toolkit_IC): top-1 accuracy for 15 of them, mean
per-class accuracy for Caltech-101, FGVC-Aircraft, Oxford Flowers-102 and Oxford-IIIT Pets, 11-point
mAP for the multi-label PASCAL VOC 2007 and ROC-AUC for Hateful Memes (:mod:`..zeroshot_metrics`). The
companion study's 202 per-task figures (``ytaek-oh/vl_compo``'s ``individual_results.csv``, columns
named after these configs) bear it out: every accuracy task's figure is a whole number of ELEVATER's
test images, the four mean-per-class, the mAP and the ROC-AUC figures are not.

Each task is read from the first of these that is present under ``data_root``:

1. ELEVATER's own release (the seed's test sets, class names and prompts), laid out as ELEVATER's
   download leaves it: ``elevater/classification/<release>/`` (:mod:`.elevater`);
2. clip-benchmark's copy, ``zeroshot/wds_<task>/`` (:mod:`.webdataset`), with that repository's class
   names and templates; VOC 2007 is ``wds_voc2007_multilabel`` (``wds_voc2007`` is a different task:
   one cropped object per image). Where its test split is not ELEVATER's (the number of images
   differs, e.g. EuroSAT and RESISC45), the task's notes say so: the score is then not comparable with
   the published figure;
3. Hateful Memes only (it has no clip-benchmark copy): the original release of the Hateful Memes
   Challenge, ``zeroshot/hateful_memes/dev_seen.jsonl`` + ``img/`` (as the Hub mirror
   ``neuralcatcher/hateful_memes`` holds it), with ELEVATER's class names and prompt. Its 500 memes are
   as many as ELEVATER's test split, and the 202 published ROC-AUCs are all multiples of
   1 / (253 x 247), the class sizes of dev_seen; memes whose image is absent are skipped and counted.

Each class embedding is the mean of its normalised prompt embeddings, renormalised (ELEVATER's
``extract_text_features``). Images get the model's own preprocessing, as the seed's evaluation hands
every dataset the model's validation transform (``eval_compo.py``); ELEVATER's toolkit itself resizes
KITTI without the centre crop.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..images import ImageFile
from ..items import IMAGE_ABSENT, MALFORMED, BenchmarkData, ZeroShotTask
from ..metrics.zeroshot import METRICS
from .base import Benchmark, read_jsonl, read_lines
from .elevater import FOLDER as ELEVATER_FOLDER
from .elevater import elevater_prompts, find_release, read_release
from .webdataset import read_samples, shard_paths

logger = logging.getLogger(__name__)

TEMPLATES_FILE = "zeroshot_classification_templates.txt"


@dataclass(frozen=True)
class Task:
    """One zero-shot task: our name for it, ELEVATER's definition of it, and clip-benchmark's copies.

    Attributes:
        name: the key of ``--benchmarks`` and ``results.json``.
        title: the display name of tables.
        elevater: ELEVATER's dataset name (its ``vision_datasets.json``, class names and prompts).
        config: ELEVATER's config file name, which is also the seed's column name (``elevator::<config>``).
        metric: the config's ``TEST.METRIC``, as a key of :data:`..zeroshot_metrics.METRICS`.
        release: ELEVATER's release folder of the task.
        index: the test index in it.
        test_images: the images of that index (``num_images`` in ``vision_datasets.json``).
        wds: ``clip-benchmark/wds_*`` repositories of the same task (the first found is read).
    """

    name: str
    title: str
    elevater: str
    config: str
    metric: str
    release: str
    index: str
    test_images: int
    wds: tuple[str, ...] = ()

    @property
    def multilabel(self) -> bool:
        return self.metric == "map_11point"


TASKS = (
    Task("imagenet1k", "ImageNet-1k", "imagenet-1k", "imagenet-1k", "top1", "imagenet_1k_20220105", "val.json",
         50000, ("wds_imagenet1k",)),
    Task("caltech101", "Caltech-101", "caltech-101", "caltech101", "mean_per_class", "caltech_101_20211007",
         "test.txt", 6084, ("wds_vtab-caltech101",)),
    Task("cifar10", "CIFAR-10", "cifar-10", "cifar10", "top1", "cifar_10_20211007", "test.txt", 10000,
         ("wds_vtab-cifar10", "wds_cifar10")),
    Task("cifar100", "CIFAR-100", "cifar-100", "cifar100", "top1", "cifar100_20200721", "test_images.txt", 10000,
         ("wds_vtab-cifar100", "wds_cifar100")),
    Task("country211", "Country211", "country211", "country211", "top1", "country211_20210924", "test.txt", 21100,
         ("wds_country211",)),
    Task("dtd", "DTD", "dtd", "dtd", "top1", "dtd_20211007", "test.txt", 1880, ("wds_vtab-dtd", "wds_dtd")),
    Task("eurosat", "EuroSAT", "eurosat_clip", "eurosat-clip", "top1", "eurosat_clip_20210930", "test.txt", 5000,
         ("wds_vtab-eurosat",)),
    Task("fer2013", "FER2013", "fer-2013", "fer2013", "top1", "fer_2013_20211008", "test.txt", 3589,
         ("wds_fer2013",)),
    Task("fgvc_aircraft", "FGVC-Aircraft", "fgvc-aircraft-2013b-variants102", "fgvc-aircraft-2013b",
         "mean_per_class", "fgvc_aircraft_2013b_variants102_20211007", "test.txt", 3333, ("wds_fgvc_aircraft",)),
    Task("flowers102", "Oxford Flowers-102", "oxford-flower-102", "flower102", "mean_per_class",
         "oxford_flower_102_20211007", "test.txt", 6149, ("wds_vtab-flowers",)),
    Task("food101", "Food-101", "food-101", "food101", "top1", "food_101_20211007", "test.txt", 25250,
         ("wds_food101",)),
    Task("gtsrb", "GTSRB", "gtsrb", "gtsrb", "top1", "gtsrb_20210923", "test.txt", 12630, ("wds_gtsrb",)),
    Task("hateful_memes", "Hateful Memes", "hateful-memes", "hateful-memes", "roc_auc", "hateful_memes_20211014",
         "test_meta.json", 500),
    Task("kitti_distance", "KITTI distance", "kitti-distance", "kitti-distance", "top1", "kitti_distance_20210923",
         "test_meta.json", 711, ("wds_vtab-kitti_closest_vehicle_distance",)),
    Task("mnist", "MNIST", "mnist", "mnist", "top1", "mnist_20211008", "test.txt", 10000, ("wds_mnist",)),
    Task("pets", "Oxford-IIIT Pets", "oxford-iiit-pets", "oxford-iiit-pets", "mean_per_class",
         "oxford_iiit_pets_20211007", "test.txt", 3669, ("wds_vtab-pets",)),
    Task("pcam", "PatchCamelyon", "patch-camelyon", "patchcamelyon", "top1", "patch_camelyon_20211007", "test.txt",
         32768, ("wds_vtab-pcam",)),
    Task("rendered_sst2", "Rendered SST2", "rendered-sst2", "rendered-sst2", "top1", "rendered_sst2_20210924",
         "test.txt", 1821, ("wds_renderedsst2",)),
    Task("resisc45", "RESISC45", "resisc45_clip", "resisc45-clip", "top1", "resisc45_clip_20210924", "test.json",
         25200, ("wds_vtab-resisc45",)),
    Task("stanford_cars", "Stanford Cars", "stanford-cars", "stanfordcar", "top1", "stanford_cars_20211007",
         "test.txt", 8041, ("wds_cars",)),
    Task("voc2007", "PASCAL VOC 2007", "voc-2007-classification", "voc2007classification", "map_11point",
         "voc2007_20211007", "test_ic.txt", 4952, ("wds_voc2007_multilabel",)),
)

# The tasks by name: what each of ``results.json``'s "zeroshot" figures is (``metric``) and its column in the
# published figures (``config``).
TASK_BY_NAME = {task.name: task for task in TASKS}


class ZeroShotClassification(Benchmark):
    """One zero-shot task, read from ELEVATER's release or a clip-benchmark copy (module docstring)."""

    family = "zs"

    def __init__(self, task: Task):
        assert task.metric in METRICS, task
        self.task, self.name, self.title = task, task.name, task.title
        self.folder = os.path.join(ELEVATER_FOLDER, "classification", task.release)
        self.download = self._download()

    def _download(self) -> str:
        task = self.task
        if task.name == "imagenet1k":  # not in DataDownload's list; ELEVATER's toolkit fetches it itself
            elevater = (f"ELEVATER's release (its toolkit's DatasetHub downloads '{task.elevater}') into "
                        f"<data_root>/elevater/classification/{task.release}/")
        else:
            elevater = ("ELEVATER's release (the seed's test sets): in a clone of "
                        "github.com/Computer-Vision-in-the-Wild/DataDownload, `pip install vision-datasets==0.2.17; "
                        f"cd classification; python download_datasets.py --ds {task.elevater} "
                        "--output_dir <data_root>/elevater`")
        if not task.wds:
            return elevater
        return (f"{elevater}; or clip-benchmark's copy (its own class names and prompts): `hf download "
                f"clip-benchmark/{task.wds[0]} --repo-type dataset --include \"test/*\" --include \"*.txt\" "
                f"--local-dir <data_root>/zeroshot/{task.wds[0]}`")

    def load(self, data_root: str) -> BenchmarkData:
        release = find_release(data_root, self.task.release)
        if release is not None:
            return self._from_release(data_root, release)
        for repository in self.task.wds:
            folder = os.path.join(data_root, "zeroshot", repository)
            if os.path.isdir(folder):
                return self._from_webdataset(data_root, folder)
        raise self.missing(data_root, [self.root(data_root)])

    def summarise(self, scores):
        values = scores[self.name]
        return {key: value for key, value in values.items() if key != "count"}, values[self.task.metric]

    # ------------------------------------------------------------------ sources

    def _from_release(self, data_root: str, folder: str) -> BenchmarkData:
        self.require(data_root, [os.path.join(folder, self.task.index)])
        try:
            release = read_release(folder, self.task.index)
        except FileNotFoundError as error:
            raise self.missing(data_root, [error.filename]) from None
        classnames, templates = elevater_prompts(self.task.elevater)
        logger.info("%s: ELEVATER's release in %s", self.name, folder)
        return self._data(classnames, templates, release.images, release.labels, os.path.join(folder, self.task.index),
                          release.absent, release.refused)

    def _from_webdataset(self, data_root: str, folder: str) -> BenchmarkData:
        needed = [os.path.join(folder, "classnames.txt"), os.path.join(folder, TEMPLATES_FILE)]
        self.require(data_root, needed)
        if not shard_paths(folder):
            raise self.missing(data_root, [os.path.join(folder, "test", "0.tar")])
        if self.task.multilabel:
            labels = [(image, _indicator_classes(fields["npy"], image.key))
                      for image, fields in read_samples(folder, (), binary_fields=("npy",))]
        else:
            labels = [(image, [_class_index(fields["cls"], image.key)]) for image, fields in read_samples(folder, ("cls",))]
        logger.info("%s: clip-benchmark's copy in %s (its class names and templates)", self.name, folder)
        return self._data(read_lines(needed[0]), read_lines(needed[1]), [image for image, _ in labels],
                          [classes for _, classes in labels], folder)

    def _data(self, classnames, templates, images, labels, source: str, absent: Sequence[str] = (),
              refused: Sequence[str] = ()) -> BenchmarkData:
        """The task from per-image class lists (checked against the class names) read from ``source``;
        ``absent`` names the entries of ``source`` whose image is not there, ``refused`` (``"entry: why"``)
        those whose path leaves the release folder (both skipped and counted).

        A single-label image takes its first label, as ELEVATER's ``multiclass_to_int`` does, and one without
        a label is skipped as malformed; a multi-label image without one stays (a negative for every class)."""
        data = BenchmarkData()
        for entry in absent:
            data.skips.add(self.name, IMAGE_ABSENT, f"{source} [{entry}]")
        for entry in refused:
            data.skips.add(self.name, MALFORMED, f"{source} [{entry}]")
        for classes in labels:
            if any(not 0 <= index < len(classnames) for index in classes):
                raise ValueError(f"{source}: label {classes} outside the {len(classnames)} classes of {self.title}")
        if not self.task.multilabel:
            for image, classes in zip(images, labels):
                if not classes:
                    data.skips.add(self.name, MALFORMED, f"{source} [{image.key}]: no label")
            kept = [(image, classes) for image, classes in zip(images, labels) if classes]
            images, labels = [image for image, _ in kept], [classes[0] for _, classes in kept]
        if len(images) != self.task.test_images:
            data.notes.append(f"{len(images)} test images where ELEVATER's release (the published figures) has "
                              f"{self.task.test_images}: not comparable with the published score")
        data.zeroshot[self.name] = ZeroShotTask(classnames=classnames, templates=templates, images=images,
                                                labels=labels, metric=self.task.metric)
        return data


class HatefulMemes(ZeroShotClassification):
    """Hateful Memes: ELEVATER's release, else the challenge's original release (``dev_seen.jsonl``)."""

    ORIGINAL = os.path.join("zeroshot", "hateful_memes")

    def _download(self) -> str:
        return (f"{super()._download()}; or the challenge's original release (dev_seen.jsonl and img/, e.g. the Hub "
                "mirror: `hf download neuralcatcher/hateful_memes --repo-type dataset --include dev_seen.jsonl "
                f"--include \"img/*\" --local-dir <data_root>/{self.ORIGINAL}`)")

    def load(self, data_root: str) -> BenchmarkData:
        original = os.path.join(data_root, self.ORIGINAL)
        if find_release(data_root, self.task.release) is None and os.path.isdir(original):
            return self._from_original(data_root, original)
        return super().load(data_root)

    def _from_original(self, data_root: str, folder: str) -> BenchmarkData:
        annotation = os.path.join(folder, "dev_seen.jsonl")
        self.require(data_root, [annotation])
        images, labels, absent = [], [], []
        for number, row in enumerate(read_jsonl(annotation), 1):
            if not {"img", "label"} <= row.keys():
                raise ValueError(f"{annotation}, row {number}: no 'img' or no 'label'")
            path = os.path.join(folder, row["img"])
            if not os.path.isfile(path):
                absent.append(f"line {number}: {row['img']}")
                continue
            images.append(ImageFile(path))
            labels.append([int(row["label"])])
        classnames, templates = elevater_prompts(self.task.elevater)
        return self._data(classnames, templates, images, labels, annotation, absent)


def _class_index(text: str, where: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{where}: label {text!r} is not a class index") from None


def _indicator_classes(data: bytes, where: str) -> list[int]:
    """The classes of a clip-benchmark multi-label sample: the nonzero entries of its ``.npy`` vector."""
    try:
        vector = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"{where}: not a .npy label vector ({error})") from None
    return np.flatnonzero(vector.reshape(-1)).tolist()


def zeroshot_benchmarks() -> list[ZeroShotClassification]:
    return [HatefulMemes(task) if task.name == "hateful_memes" else ZeroShotClassification(task) for task in TASKS]
