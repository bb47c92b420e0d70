"""Tiny zero-shot tasks in ELEVATER's release layout, clip-benchmark's WebDataset layout and the Hateful
Memes challenge's own layout, with the scores ColourCLIP must get on them (worked out in the comments).

ColourCLIP embeds an image as its mean colour and a prompt as its counts of "red", "green", "blue"
(``eval_fixtures``). The patterns below reuse a few class lists and images:

* ``ACCURACY``, classes red / green / blue: a red image labelled red (right), a green one labelled
  green (right), a blue one labelled red (wrong): top-1 2/3; three classes, so no top-5;
* ``MEAN_PER_CLASS``, classes red / green / blue, blue absent from the labels: a purple-blue
  (200, 0, 255) image labelled red is nearest to blue, but blue has no test image, so among red and
  green it is red: right; a green image labelled red: wrong; a green one labelled green: right. Per class
  red 1/2, green 1/1: 75. Its top-1 counts the first one wrong (blue wins there): 1/3;
* ``ROC_AUC``, classes red / blue: four reddish-to-bluish images (255,0,235), (255,0,245), (245,0,255),
  (235,0,255) labelled 0, 1, 0, 1; the blue probability grows along them, so of the four
  (positive, negative) pairs three are ordered right: 75. Top-1 (red, red, blue, blue vs 0, 1, 0, 1): 50;
* ``MAP``, classes red / blue, multi-label: (250,0,210) {red}, (230,0,250) {blue}, (210,0,250)
  {red, blue}. Red ranks them 1, 2, 3 (positives at 1 and 3): precision/recall points (1, 1/2),
  (1/2, 1/2), (2/3, 1), plus sklearn's closing (1, 0); interpolated precision 2/3 at recall 1, 0.9, 0.8,
  0.7, 0.6 and 1 at 0.5 ... 0: (5 x 2/3 + 6) / 11. Blue ranks them 3, 2, 1: both positives first, 1 at
  every recall. mAP (28/33 + 1) / 2 = 61/66.
"""

import io
import os
import tarfile
import zipfile

import numpy as np
from PIL import Image

from .eval_fixtures import BLUE, GREEN, RED, write_json, write_jsonl, write_text

RGB = ["red", "green", "blue"]
RB = ["red", "blue"]
ACCURACY = (RGB, [(RED, [0]), (GREEN, [1]), (BLUE, [0])], 200 / 3)
MEAN_PER_CLASS = (RGB, [((200, 0, 255), [0]), (GREEN, [0]), (GREEN, [1])], 75.0)
ROC_AUC = (RB, [((255, 0, 235), [0]), ((255, 0, 245), [1]), ((245, 0, 255), [0]), ((235, 0, 255), [1])], 75.0)
MAP = (RB, [((250, 0, 210), [0]), ((230, 0, 250), [1]), ((210, 0, 250), [0, 1])], 100 * 61 / 66)


def png(colour, size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    """``members`` = {name in the zip: bytes}."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def write_iris_release(root, release, index, samples, zip_name="test.zip", compression=zipfile.ZIP_STORED,
                       unpacked=False, extra_lines=(), under="classification"):
    """An iris-format release in ``root/elevater/<under>/<release>``: ``index`` lines ``<zip>@<path> <labels>``
    and the images in ``zip_name`` (or, ``unpacked``, in a folder named as the zip)."""
    folder = root / "elevater" / under / release
    members = {f"images/{number:05d}.png": png(colour) for number, (colour, _) in enumerate(samples)}
    if unpacked:
        for name, data in members.items():
            os.makedirs(folder / zip_name.removesuffix(".zip") / "images", exist_ok=True)
            (folder / zip_name.removesuffix(".zip") / name).write_bytes(data)
    else:
        write_zip(folder / zip_name, members, compression)
    lines = [f"{zip_name}@{name} {','.join(map(str, labels))}" for name, (_, labels) in zip(members, samples)]
    write_text(folder / index, "\n".join([*lines, *extra_lines]) + "\n")
    write_text(folder / "labels.txt", "\n".join(f"class{k}" for k in range(3)) + "\n")
    return folder


def write_coco_release(root, release, index, samples, zip_name="test_images.zip", first_category_id=1):
    """A coco-format release: images ``{id, file_name, zip_file}``, one annotation per label."""
    folder = root / "elevater" / "classification" / release
    members = {f"img/{number:05d}.png": png(colour) for number, (colour, _) in enumerate(samples)}
    write_zip(folder / zip_name, members)
    # Listed out of id order, to check that images are read in id order.
    images = [{"id": number + 1, "file_name": name, "zip_file": zip_name, "width": 8, "height": 8}
              for number, name in enumerate(members)][::-1]
    annotations = []
    for number, (_, labels) in enumerate(samples):
        annotations.extend({"id": len(annotations) + 1, "image_id": number + 1, "category_id": first_category_id + label}
                           for label in labels)
    categories = [{"id": first_category_id + k, "name": f"class{k}"} for k in range(3)][::-1]
    write_json(folder / index, {"images": images, "annotations": annotations, "categories": categories})
    return folder


def write_wds_task(root, repository, samples, classnames, multilabel=False):
    """clip-benchmark's layout, one shard: ``.cls`` labels, or ``.npy`` 0/1 vectors for a multi-label set."""
    folder = root / "zeroshot" / repository
    os.makedirs(folder / "test", exist_ok=True)
    with tarfile.open(folder / "test" / "0.tar", "w") as archive:
        for number, (colour, labels) in enumerate(samples):
            if multilabel:
                vector, buffer = np.zeros(len(classnames), dtype=np.float32), io.BytesIO()
                vector[labels] = 1
                np.save(buffer, vector)
                label = ("npy", buffer.getvalue())
            else:
                label = ("cls", str(labels[0]).encode())
            for extension, data in (("png", png(colour)), label):
                info = tarfile.TarInfo(f"s{number:07d}.{extension}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    write_text(folder / "test" / "nshards.txt", "1")
    write_text(folder / "classnames.txt", "\n".join(classnames) + "\n")
    # No punctuation after the class name: ColourCLIP counts space-separated words.
    write_text(folder / "zeroshot_classification_templates.txt", "a photo of a {c} thing\n")
    if multilabel:
        write_text(folder / "dataset_type.txt", "multilabel\n")


def write_hateful_memes_original(root, samples, missing=()):
    """The challenge's own layout: ``dev_seen.jsonl`` rows ``{id, img, label, text}`` and ``img/<id>.png``."""
    folder = root / "zeroshot" / "hateful_memes"
    rows = []
    for number, (colour, labels) in enumerate(samples):
        name = f"img/{number:05d}.png"
        if number not in missing:
            os.makedirs(folder / "img", exist_ok=True)
            (folder / name).write_bytes(png(colour))
        rows.append({"id": number, "img": name, "label": labels[0], "text": "some text"})
    write_jsonl(folder / "dev_seen.jsonl", rows)
    return folder


def colour_prompts(classnames_by_dataset):
    """A stand-in for ``elevater_prompts``: colour class names (ColourCLIP can tell them apart)."""
    def prompts(dataset):
        return list(classnames_by_dataset.get(dataset, RGB)), ["a photo of a {c}", "a {c} thing"]
    return prompts


def write_all_tasks(root):
    """All 21 tasks, through every layout; returns ``({task: expected headline}, ELEVATER prompts by dataset)``."""
    expected, prompts = {}, {}

    def iris(task, release, index, pattern, **options):
        classnames, samples, score = pattern
        write_iris_release(root, release, index, samples, **options)
        expected[task], prompts[task] = score, classnames

    def coco(task, release, index, pattern):
        classnames, samples, score = pattern
        write_coco_release(root, release, index, samples)
        expected[task], prompts[task] = score, classnames

    def wds(task, repository, pattern, **options):
        classnames, samples, score = pattern
        write_wds_task(root, repository, samples, classnames, **options)
        expected[task] = score

    iris("caltech-101", "caltech_101_20211007", "test.txt", MEAN_PER_CLASS, compression=zipfile.ZIP_DEFLATED)
    iris("cifar-10", "cifar_10_20211007", "test.txt", ACCURACY, zip_name="val.zip")
    iris("country211", "country211_20210924", "test.txt", ACCURACY)
    iris("dtd", "dtd_20211007", "test.txt", ACCURACY)
    iris("fer-2013", "fer_2013_20211008", "test.txt", ACCURACY)
    iris("fgvc-aircraft-2013b-variants102", "fgvc_aircraft_2013b_variants102_20211007", "test.txt", MEAN_PER_CLASS,
         unpacked=True)
    iris("gtsrb", "gtsrb_20210923", "test.txt", ACCURACY, zip_name="final_test.zip")
    iris("mnist", "mnist_20211008", "test.txt", ACCURACY, zip_name="val.zip")
    iris("patch-camelyon", "patch_camelyon_20211007", "test.txt", ACCURACY)
    iris("voc-2007-classification", "voc2007_20211007", "test_ic.txt", MAP)
    coco("imagenet-1k", "imagenet_1k_20220105", "val.json", ACCURACY)
    coco("kitti-distance", "kitti_distance_20210923", "test_meta.json", ACCURACY)
    coco("resisc45_clip", "resisc45_clip_20210924", "test.json", ACCURACY)
    coco("hateful-memes", "hateful_memes_20211014", "test_meta.json", ROC_AUC)
    # Six classes, so a top-5 exists: red image "red" (top-1 and top-5 right); red image "red green" (second
    # best: top-5 only); green image "red blue" (last of the six: neither). Top-1 1/3, top-5 2/3.
    six = ["red", "green", "blue", "red green", "green blue", "red blue"]
    wds("cifar100", "wds_vtab-cifar100", (six, [(RED, [0]), (RED, [3]), (GREEN, [5])], 100 / 3))
    wds("eurosat", "wds_vtab-eurosat", ACCURACY)
    wds("flowers102", "wds_vtab-flowers", MEAN_PER_CLASS)
    wds("food101", "wds_food101", ACCURACY)
    wds("pets", "wds_vtab-pets", MEAN_PER_CLASS)
    wds("rendered_sst2", "wds_renderedsst2", ACCURACY)
    wds("stanford_cars", "wds_cars", ACCURACY)
    names = {"caltech-101": "caltech101", "cifar-10": "cifar10", "country211": "country211", "dtd": "dtd",
             "fer-2013": "fer2013", "fgvc-aircraft-2013b-variants102": "fgvc_aircraft", "gtsrb": "gtsrb",
             "mnist": "mnist", "patch-camelyon": "pcam", "voc-2007-classification": "voc2007",
             "imagenet-1k": "imagenet1k", "kitti-distance": "kitti_distance", "resisc45_clip": "resisc45",
             "hateful-memes": "hateful_memes"}
    return {names.get(task, task): score for task, score in expected.items()}, prompts

