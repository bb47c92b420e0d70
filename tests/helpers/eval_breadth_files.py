"""Tiny copies of ColorSwap, MMVP-VLM and SugarCrepe++ in their published formats, for ColourCLIP.

Each writer puts the files under ``root`` (a data_root) where the adapter looks, in the format its release
has (field names, file names, JSON list vs CSV, image paths), with solid-colour images. ``bad=True`` adds
the rows an adapter must skip and count; the scores expected are computed in the tests by re-implementing
each benchmark's official script.
"""

import csv
import io

from .eval_fixtures import BLUE, GREEN, RED, colours, image, write_json, write_text

PURPLE = (150, 0, 155)
REDDISH = (255, 0, 77)  # mostly red, a little blue


def write_colorswap(root, bad=False):
    """The GitHub release's layout: colorswap/test.json and colorswap/images/img_<id>_<k>.png."""
    folder = root / "colorswap"
    records = []

    def example(index, first, second, caption_1, caption_2, **changes):
        for k, colour in ((1, first), (2, second)):
            image(folder / "images" / f"img_{index}_{k}.png", colour)
        records.append({"id": index, "caption_1": caption_1, "caption_2": caption_2,
                        "image_1": f"images/img_{index}_1.png", "image_2": f"images/img_{index}_2.png",
                        "image_source": "midjourney", "caption_source": "human", **changes})

    example(9, RED, BLUE, "a red umbrella", "a blue umbrella")  # all right
    # The colour words swapped between two objects: the same words, which ColourCLIP cannot tell apart.
    example(11, RED, BLUE, "someone holding a red umbrella wearing a blue dress",
            "someone holding a blue umbrella wearing a red dress")
    example(19, RED, PURPLE, colours(red=6, blue=5), colours(red=5, blue=6))  # text right, image wrong
    example(23, GREEN, BLUE, "a green cup and a blue plate", "a blue cup and a green plate")
    if bad:
        example(24, RED, BLUE, "a red car", "a blue car")
        del records[-1]["caption_2"]                                              # malformed: no caption_2
        example(25, RED, BLUE, "a red car", "a blue car", image_2="images/img_25_9.png")  # image absent
        example(28, RED, BLUE, "a red car", "a blue car", image_1="../../outside.png")    # outside the folder
    write_json(folder / "test.json", records)
    return folder


MMVP_TYPES = ("Orientation", "Presence", "State", "Quantity", "Spatial", "Color", "Structural Character", "Text",
              "Camera Perspective")


def _mmvp_pair(n):
    """Pair n's rows ``[(question id, colour of its image, statement)]`` in file order, by pattern n % 6."""
    first, second = 2 * n + 1, 2 * n + 2
    pattern = n % 6
    if pattern == 0:    # right
        return [(first, RED, "a red thing"), (second, BLUE, "a blue thing")]
    if pattern == 1:    # the first statement picks the second image: wrong
        return [(first, RED, "a blue thing"), (second, BLUE, "a blue thing")]
    if pattern == 2:    # both statements pick their image (official: right); the second image prefers the
        return [(first, RED, "a red thing"), (second, REDDISH, "a blue thing")]  # first statement: group wrong
    if pattern == 3:    # listed even id first: its statement belongs to the pair's second image (the odd id's)
        return [(second, BLUE, "a red thing"), (first, RED, "a blue thing")]
    if pattern == 4:    # two images alike: every score ties, wrong
        return [(first, GREEN, "a green thing"), (second, GREEN, "a red thing")]
    return [(first, GREEN, "a green thing"), (second, BLUE, "a blue green thing")]


def write_mmvp_vlm(root, pairs=135, extra_rows=()):
    """Questions.csv (Question ID, Type, Statement) and 'MLLM_VLM Images/<Type>/<Question ID>.jpg'.

    ``extra_rows``: rows appended as written (bad ones); ``[(question id, type, statement, colour or None)]``."""
    folder = root / "mmvp_vlm"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Question ID", "Type", "Statement"])
    for n in range(pairs):
        kind = MMVP_TYPES[min(n // 15, len(MMVP_TYPES) - 1)]
        for qid, colour, statement in _mmvp_pair(n):
            writer.writerow([qid, kind, statement])
            image(folder / "MLLM_VLM Images" / kind / f"{qid}.jpg", colour)
    for qid, kind, statement, colour in extra_rows:
        writer.writerow([qid, kind, statement])
        if colour is not None:
            image(folder / "MLLM_VLM Images" / kind / f"{qid}.jpg", colour)
    write_text(folder / "Questions.csv", buffer.getvalue())
    return folder


SCPP_IMAGES = {"000000000001.jpg": RED, "000000000002.jpg": BLUE, "000000000003.jpg": GREEN}


def write_sugarcrepe_pp(root, bad=False):
    """sugarcrepe_pp/<subset>.json (JSON lists of {id, filename, caption, caption2, negative_caption}) and
    coco/val2017 images."""
    for name, colour in SCPP_IMAGES.items():
        image(root / "coco" / "val2017" / name, colour)
    red, blue, green = SCPP_IMAGES
    files = {
        "replace_att": [(red, "a red hat", "a hat that is red", "a blue hat"),
                        (red, "a red hat", "a red hat", "a green hat")],           # caption == caption2
        "replace_obj": [(blue, "a blue car", "a car", "a red car"),
                        (green, "a green tree", "a tree that is green", "a green tree by a red house")],
        "replace_rel": [(green, "green on top", "on top green", "green on top")],  # negative == caption: ties
        "swap_att": [(red, "a red and blue thing", "a blue and red thing", "a red blue thing"),  # all tie
                     (red, "a blue cup", "a cup in blue", "a red cup"),             # ITT wrong, TOT right
                     (red, "a red cup", "a blue red blue cup", "a blue cup")],      # ITT right, TOT wrong
        "swap_obj": [(blue, "a blue sky", "the sky is blue", "a red sky"),
                     (red, "a red sky", "a red red sky", "a blue sky over red sea")],
    }
    for subset, cases in files.items():
        records = [{"id": n, "filename": name, "caption": p1, "caption2": p2, "negative_caption": negative}
                   for n, (name, p1, p2, negative) in enumerate(cases)]
        if bad and subset == "swap_obj":
            records.append({"id": len(records), "filename": "000000000404.jpg", "caption": "a red sky",
                            "caption2": "the sky is red", "negative_caption": "a blue sky"})        # image absent
            records.append({"id": len(records), "filename": red, "caption": "a red sky",
                            "caption2": "the sky is red", "negative_caption": None})                # malformed
        write_json(root / "sugarcrepe_pp" / f"{subset}.json", records)
    return root / "sugarcrepe_pp"
