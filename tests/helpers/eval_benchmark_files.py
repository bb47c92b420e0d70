"""Tiny copies of each benchmark's published layout, with the scores ColourCLIP must get on them.

Every writer puts its files under ``root`` (a data_root) exactly where the adapter looks, with solid or
two-coloured images, and returns ``(headline, subsets)`` computed by hand in the comments.
"""

import csv
import io
import os
import tarfile

import numpy as np
from PIL import Image

from .eval_fixtures import BLUE, GREEN, RED, colours, halves, image, write_json, write_jsonl, write_text

PURPLE = (128, 0, 128)


def write_sugarcrepe(root):
    coco = root / "coco" / "val2017"
    names = {}
    for index, colour in enumerate((RED, BLUE, GREEN, RED, BLUE, GREEN, RED, BLUE)):
        names[index] = f"{index:012d}.jpg"
        image(coco / names[index], colour)

    def case(index, caption, negative):
        return {"filename": names[index], "caption": caption, "negative_caption": negative}

    files = {
        "replace_obj": [case(0, "a red cat", "a blue cat"), case(1, "a blue cat", "a green cat")],  # 2 right
        "replace_att": [case(2, "a red hat", "a green hat")],    # green image: wrong
        "replace_rel": [case(3, "red on top", "blue on top")],   # right
        "swap_obj": [case(4, "blue sky", "red sky")],            # right
        "swap_att": [case(5, "green grass", "grass green")],     # tie: wrong
        "add_obj": [case(6, "a red car", "a green car")],        # right
        "add_att": [case(7, "a red ball", "a blue ball")],       # blue image: wrong
    }
    for subset, cases in files.items():
        write_json(root / "sugarcrepe" / f"{subset}.json", {str(i): c for i, c in enumerate(cases)})
    # replace 3/4 = 75, swap 1/2 = 50, add 1/2 = 50: SugarCrepe 58.33 (the mean of the 7 subsets is 57.14)
    return 175 / 3


def write_aro(root):
    aro = root / "aro"
    halves(aro / "images" / "scene.jpg", RED, BLUE)   # 16x8: red left, blue right
    left, right = dict(bbox_x=0, bbox_y=0, bbox_w=8, bbox_h=8), dict(bbox_x=8, bbox_y=0, bbox_w=8, bbox_h=8)

    def relation(name, box, true, false):
        return {"image_path": "scene.jpg", **box, "relation_name": name, "true_caption": true, "false_caption": false}

    write_json(aro / "visual_genome_relation.json", [
        relation("on", left, "the red cup is on the table", "the table is on the blue cup"),    # right
        relation("on", right, "the red cup is on the table", "the blue table is on the cup"),   # wrong
        relation("behind", right, "the blue car is behind", "the red car is behind"),           # right
        # The same words: a tie. ARO lists [false, true] and takes the argmax: the false one wins.
        relation("under", left, "a red box under a blue box", "a blue box under a red box"),
        relation("next to", left, "blue next to", "red next to"),                               # excluded
    ])  # VG_Relation: mean(on 50, behind 100, under 0) = 50

    def attribute(pair, box, true, false):
        return {"image_path": "scene.jpg", **box, "attributes": pair, "true_caption": true, "false_caption": false}

    write_json(aro / "visual_genome_attribution.json",
               [attribute(["blue", "red"], right, "the blue shirt and the red hat", "the red shirt and the blue hat")] * 20
               # ColourCLIP cannot tell these two apart (same words): ties, wrong (the false caption is first)
               + [attribute(["blue", "red"], right, "a blue one", "a red one")] * 5
               + [attribute(["small", "big"], left, "a red small", "a blue small")] * 3)  # under 25 cases: excluded
    # VG_Attribution: the blue_red pair, 5 right of 25 = 20

    for folder, annotation, sub in (("coco", "coco_karpathy_test.json", "val2014"),
                                    ("flickr30k", "flickr30k_test.json", "flickr30k-images")):
        image(root / folder / sub / "photo.jpg", RED)
        write_json(root / folder / annotation, [{"image": f"{sub}/photo.jpg",
                                                 "caption": ["A red bus parked next to a blue car.",
                                                             "Two red birds sit on a small fence."]}])
    # Order sets: a perturbation keeps the words, so ColourCLIP ties every option with the caption, which
    # ARO lists first: argmax picks it, all right (100 and 100).
    return (50 + 20 + 100 + 100) / 4, {"VG_Relation": 50, "VG_Attribution": 20, "COCO_Order": 100,
                                       "Flickr30k_Order": 100}


def _crepe_csv(path, cases):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["image_id", "x", "y", "width", "height", "caption", "hard_negs"])
    for image_id, x, y, caption, negatives in cases:  # negatives: a list, or a cell as written (a set literal)
        writer.writerow([image_id, x, y, 8, 8, caption, negatives if isinstance(negatives, str) else repr(negatives)])
    write_text(path, buffer.getvalue())


def write_crepe(root):
    halves(root / "visual_genome" / "VG_100K" / "11.jpg", RED, BLUE)
    image(root / "visual_genome" / "VG_100K_2" / "12.jpg", GREEN)
    folder = root / "crepe" / "prod_hard_negatives"
    # atom: the _all file (every complexity) is read; its complexity files are not.
    _crepe_csv(folder / "atom" / "prod_vg_hard_negs_atom_all.csv", [
        (11, 0, 0, "a red box", ["a blue box", "a green box"]),       # left crop, red: right
        (11, 8, 0, "a red box", ["a blue box", "a green box"]),       # right crop, blue: wrong
        (99, 0, 0, "a red box", ["a blue box"]),                      # image 99 absent: skipped
        (12, 0, 0, "green grass", ["grass green", "red grass"]),     # ties with the caption, listed first: right
        # A set literal, as 240 atom and 3,528 negate rows of CREPE's complexity files hold: read, right.
        (11, 0, 0, "a red box", "{'a blue box', 'a green box', 'a blue box'}"),
    ])
    _crepe_csv(folder / "atom" / "prod_vg_hard_negs_atom_complexity_4.csv", [(12, 0, 0, "red", ["green"])])
    # swap and negate: the complexity files 4..12 (13 is outside CREPE's loop).
    _crepe_csv(folder / "swap" / "prod_vg_hard_negs_swap_complexity_4.csv", [(12, 0, 0, "green grass", ["red grass"])])
    _crepe_csv(folder / "swap" / "prod_vg_hard_negs_swap_complexity_13.csv", [(12, 0, 0, "red", ["green"])])
    _crepe_csv(folder / "negate" / "prod_vg_hard_negs_negate_complexity_5.csv",
               [(12, 0, 0, "not red grass", ["green grass"])])                                       # wrong
    return (75 + 100 + 0) / 3, {"atom": 75, "swap": 100, "negate": 0}


def write_eqben(root):
    folder = root / "eqben" / "image_subset"
    for source in ("eqbenag", "eqbenkubric_loc", "eqbenkubric_cnt", "eqbensd"):
        image(folder / source / "a.png", RED)
        image(folder / source / "b.png", BLUE)
    os.makedirs(folder / "eqbenyoucook2", exist_ok=True)
    np.save(folder / "eqbenyoucook2" / "a.npy", np.full((8, 8, 3), (0, 0, 255), dtype=np.uint8))  # BGR red
    image(folder / "eqbenyoucook2" / "b.png", BLUE)

    def pair(source, first, second, caption0, caption1):
        return {"image0": f"{source}/{first}", "image1": f"{source}/{second}", "caption0": caption0,
                "caption1": caption1}

    write_json(root / "eqben" / "eqben_subset_10percent_final.json", [
        pair("eqbenag", "a.png", "b.png", "red", "blue"),               # group right
        pair("eqbenyoucook2", "a.npy", "b.png", "red", "blue"),         # group right (the .npy is BGR)
        pair("eqbenkubric_loc", "a.png", "b.png", "red", "blue"),       # group right
        pair("eqbenkubric_cnt", "a.png", "b.png", "blue", "red"),       # captions swapped: wrong
        pair("eqbensd", "a.png", "b.png", "red thing", "a red"),        # captions alike: wrong
    ])
    # AG 100, YouCook2 100, Kubric mean(100, 0) = 50 (no attr part here), SD 0: EqBen 62.5
    return 62.5


def write_eqben_full(root):
    """The full set beside the subset: the full one is read. Its light release has .jpg files for .png paths."""
    write_eqben(root)
    folder = root / "eqben" / "images"
    image(folder / "eqbenag" / "a.png", RED)
    image(folder / "eqbenag" / "b.jpg", BLUE)   # the annotation says b.png
    image(folder / "eqbensd" / "a.png", RED)
    image(folder / "eqbensd" / "b.png", BLUE)

    def pair(source, caption0, caption1, second="b.png"):
        return {"image0": f"{source}/a.png", "image1": f"{source}/{second}", "caption0": caption0, "caption1": caption1}

    write_json(root / "eqben" / "all_select.json", [
        pair("eqbenag", "red", "blue"),                       # group right (b.png read as b.jpg)
        pair("eqbenag", "blue", "red"),                       # wrong
        pair("eqbensd", "red", "blue"),                       # right
        pair("eqbensd", "red", "blue", second="gone.png"),    # image absent: skipped
    ])
    # AG 50, SD 100 (no other source): EqBen 75; AG text 50, image 50
    return 75.0


def write_imagecode(root):
    """Sets of ten images; video frames are numbered by frame (img0, img2, ..., img18), so img18 is the
    tenth image although "img18" < "img2" as text. Also a set that is missing, one with nine images and a
    description whose index is outside its set: each costs only its descriptions."""
    sets = root / "imagecode" / "image-sets"
    static, video = "open-images-1_abc", "MSR-VTT-video1-shot1_0"
    grey = (128, 128, 128)
    for index in range(10):
        image(sets / static / f"img{index}.jpg", {0: RED, 1: GREEN, 2: BLUE}.get(index, grey))
        image(sets / video / f"img{2 * index}.jpg", {1: RED, 9: GREEN}.get(index, grey))
    for index in range(9):
        image(sets / "open-images-3_short" / f"img{index}.jpg", RED)
    write_json(root / "imagecode" / "valid_data.json", {
        static: {"0": "a red thing ", "2": "a blue thing", "12": "a red thing"},  # right; right; skipped
        video: {"9": "a green thing", "1": "a blue thing"},  # img18: right; img2 is red: wrong
        "open-images-2_missing": {"0": "a red thing", "1": "a green thing"},  # skipped: no folder
        "open-images-3_short": {"0": "a red thing"},                          # skipped: nine images
    })
    counts = {"static": {"items": 2, "skipped": {"image_absent": 3, "malformed": 1}},
              "video": {"items": 2, "skipped": {}}}
    return 75.0, {"static": 100, "video": 50}, counts


def write_svo_probes(root):
    folder = root / "svo_probes" / "images"
    for name, colour in (("1", RED), ("2", BLUE), ("3", RED), ("4", GREEN)):
        image(folder / f"{name}.jpg", colour)
    header = ["sentence", "pos_triplet", "neg_triplet", "subj_neg", "verb_neg", "obj_neg", "pos_url", "neg_url",
              "pos_image_id", "neg_image_id"]
    rows = [
        ["a red dog runs", "dog,run,", "cat,run,", True, False, False, "u", "u", 1, 2],   # subj: right
        ["a red dog runs", "dog,run,", "dog,sit,", False, True, False, "u", "u", 1, 3],   # verb: both red, wrong
        ["a green ball", "girl,kick,ball", "girl,kick,cup", False, False, True, "u", "u", 4, 2],  # obj: right
        ["a blue sky", "sky,be,blue", "sea,be,blue", True, False, False, "u", "u", 2, 77],  # 77.jpg absent: skipped
        # Two flags: in no subset (the official notebook's selection), although it would count as a wrong
        # subject case if the first flag were taken.
        ["a red cat", "cat,sit,", "dog,run,", True, True, False, "u", "u", 2, 1],
        ["a red cat", "cat,sit,", "cat,sit,", False, False, False, "u", "u", 1, 2],       # no flag: skipped
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    write_text(root / "svo_probes" / "svo_probes.csv", buffer.getvalue())
    return 200 / 3, {"subj_neg": 100, "verb_neg": 0, "obj_neg": 100}


VALSE_FOLDERS = {
    "existence": "visual7w", "plurals": "coco/val2017", "counting-hard": "visual7w",
    "counting-small-quant": "visual7w", "counting-adversarial": "visual7w", "relations": "coco/val2017",
    "action-replacement": "swig", "actant-swap": "swig", "coreference-standard": "coco/train2014",
    "coreference-hard": "visdial/VisualDialog_val2018", "foil-it": "coco/val2014",
}
VALSE_RIGHT = {"existence": True, "plurals": False, "counting-hard": True, "counting-small-quant": False,
               "counting-adversarial": True, "relations": True, "action-replacement": False, "actant-swap": True,
               "coreference-standard": True, "coreference-hard": True, "foil-it": False}


def write_valse(root, pieces=tuple(VALSE_FOLDERS)):
    for piece in pieces:
        name = f"{piece}.jpg"
        image(root / VALSE_FOLDERS[piece] / name, RED)
        foil = "a blue one" if VALSE_RIGHT[piece] else "a red red one"
        write_json(root / "valse" / f"{piece}.json", {
            f"{piece}_0": {"dataset": "x", "image_file": name, "caption": "a red one", "foil": foil,
                           "mturk": {"caption": 3, "foil": 0, "other": 0}},
            # not validated (1 of 3 annotators): left out, although the model would get it wrong
            f"{piece}_1": {"dataset": "x", "image_file": name, "caption": "a blue one", "foil": "a red one",
                           "mturk": {"caption": 1, "foil": 2, "other": 0}},
        })
    # instruments: existence 100, plurality 0, counting 66.7, relations 100, actions 50, coreference 100,
    # foil-it 0: VALSE = 416.67 / 7
    return (100 + 0 + 200 / 3 + 100 + 50 + 100 + 0) / 7


def write_vl_checklist(root):
    """Every corpus file, one right item each, except where noted; hand-computed as VL-CheckList's
    evaluate.py + radar.py aggregate (per file, mean per source, mean per metric)."""
    from fsc_clip_hf.evaluation.adapters.vl_checklist import CORPUS, IMAGE_FOLDERS

    image(root / "visual_genome" / "VG_100K" / "1.jpg", RED)
    image(root / "swig" / "jumping_1.jpg", RED)
    image(root / "hake" / "hake_images_20190730" / "1.jpg", RED)
    names = {"visual_genome": "VG_100K/1.jpg", "swig": "jumping_1.jpg", "hake": "hake_images_20190730/1.jpg"}
    right, wrong = {"POS": ["a red one", "x"], "NEG": ["a blue one", "y"]}, {"POS": ["blue"], "NEG": ["red"]}
    data = root / "vl_checklist" / "data"
    for sources in CORPUS.values():
        for source, files in sources.items():
            for relative in files:
                write_json(data / relative, [[names[IMAGE_FOLDERS[source]], right]])
    # Object_Location_center: vg = mean(vg_obj 100 [its second item's image is absent], vg_subj 0) = 50;
    # swig 100 (4 files), hake 100: (50 + 100 + 100) / 3 = 83.33 (pooling every item would give 6 / 7).
    write_json(data / "Object/Location/vg_location/vg_obj_center.json",
               [["VG_100K/1.jpg", right], ["VG_100K/404.jpg", right]])
    write_json(data / "Object/Location/vg_location/vg_subj_center.json", [["VG_100K/1.jpg", wrong]])
    # Attribute_color: vg 100, vaw 0: 50.
    write_json(data / "Attribute/vaw/color.json", [["VG_100K/1.jpg", wrong]])
    # Relation_spatial: 3 absent images, then 1,000 right, then 2 wrong: the first 1,000 with an image: 100.
    write_json(data / "Relation/vg/spatial.json", [["VG_100K/405.jpg", wrong]] * 3 + [["VG_100K/1.jpg", right]] * 1000
               + [["VG_100K/1.jpg", wrong]] * 2)
    # A SWiG place file is in no corpus metric: not read.
    write_json(data / "Object/Size/swig_size/swig_place/swig_place_large.json", [["jumping_1.jpg", wrong]])
    metrics = {metric: 100.0 for metric in CORPUS}
    metrics.update({"Object_Location_center": 250 / 3, "Attribute_color": 50.0})
    # Object (5 x 100 + 83.33) / 6, Attribute (4 x 100 + 50) / 5 = 90, Relation 100
    return ((500 + 250 / 3) / 6 + 90 + 100) / 3, metrics


def write_whatsup(root):
    folder = root / "whatsup"
    image(folder / "controlled_images" / "mug_left_of_plate.jpeg", RED)
    image(folder / "controlled_clevr" / "cube_behind_sphere.jpeg", BLUE)
    write_json(folder / "controlled_images_dataset.json", [
        {"image_path": "data/controlled_images/mug_left_of_plate.jpeg",
         "caption_options": ["a red mug left", "a blue mug", "a green mug", "a mug"]}])          # right
    write_json(folder / "controlled_clevr_dataset.json", [
        {"image_path": "data/controlled_clevr/cube_behind_sphere.jpeg",
         "caption_options": ["a red cube", "a blue cube", "a green cube", "a cube"]}])          # wrong
    image(root / "coco" / "val2017" / "000000000002.jpg", GREEN)  # also one of SugarCrepe's images
    image(folder / "vg_images" / "7.jpg", RED)
    # A row with more than three values is read as What'sUp's loader reads it: row[0], row[1], row[2].
    write_json(folder / "coco_qa_one_obj.json", [[2, "a green plant on the left", "a red plant on the right", "left"]])
    write_json(folder / "coco_qa_two_obj.json", [[2, "a red plant", "a green plant"]])         # wrong
    write_json(folder / "vg_qa_one_obj.json", [[7, "a red dog", "a blue dog"]])
    write_json(folder / "vg_qa_two_obj.json", [[7, "red", "a red"]])   # a tie; the true caption is first: right
    return 400 / 6, {"WhatsUp_A": 100, "WhatsUp_B": 0, "COCO_QA_ONE": 100, "COCO_QA_TWO": 0, "VG_QA_ONE": 100,
                     "VG_QA_TWO": 100}


def winoground_examples(root):
    """Three examples: all right; text right but image wrong; two identical captions (all wrong)."""
    folder = root / "images"
    image(folder / "r.png", RED)
    image(folder / "b.png", BLUE)
    image(folder / "p.png", (150, 0, 155))
    return [
        {"id": 0, "image_0": "r", "image_1": "b", "caption_0": "red", "caption_1": "blue"},
        {"id": 1, "image_0": "r", "image_1": "p", "caption_0": colours(red=6, blue=5),
         "caption_1": colours(red=5, blue=6)},
        {"id": 2, "image_0": "r", "image_1": "b", "caption_0": "red", "caption_1": "red"},
    ]


def write_winoground(root):
    write_jsonl(root / "winoground" / "data" / "examples.jsonl", winoground_examples(root / "winoground" / "data"))
    return 100 / 3, {"text": 200 / 3, "image": 100 / 3, "group": 100 / 3}


def write_spec(root):
    for subset in ("absolute_size", "relative_size", "absolute_spatial", "relative_spatial", "existence", "count"):
        folder = root / "spec" / subset
        image(folder / "images" / "red.png", RED)
        image(folder / "images" / "blue.png", BLUE)
        label = 0 if subset == "count" else 1  # count's image-to-text label is wrong for the red image
        write_json(folder / "image2text.json", [{"query": "images/red.png", "keys": ["blue", "red", "green"],
                                                  "label": label}])
        write_json(folder / "text2image.json", [{"query": "a blue one", "keys": ["images/red.png", "images/blue.png"],
                                                  "label": 1}])
    return 1100 / 12


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def write_wds(folder, samples, shard_size=2, **texts):
    """``samples`` = [(colour, {extension: text})] as WebDataset shards in ``folder/test``; ``texts`` are
    the side files (classnames.txt, ...)."""
    os.makedirs(folder / "test", exist_ok=True)
    shards = [samples[start:start + shard_size] for start in range(0, len(samples), shard_size)]
    for index, shard in enumerate(shards):
        with tarfile.open(folder / "test" / f"{index}.tar", "w") as archive:
            for number, (colour, fields) in enumerate(shard):
                key = f"s{index:04d}{number:04d}"
                for extension, data in (("png", _png(colour)), *((e, t.encode()) for e, t in fields.items())):
                    info = tarfile.TarInfo(f"{key}.{extension}")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    write_text(folder / "test" / "nshards.txt", str(len(shards)))
    for name, text in texts.items():
        write_text(folder / f"{name}.txt", text)


def write_cifar10(root):
    write_wds(root / "zeroshot" / "wds_vtab-cifar10",
              [(RED, {"cls": "0"}), (GREEN, {"cls": "1"}), (BLUE, {"cls": "0"})],  # right, right, wrong
              classnames="red\ngreen\nblue\n", zeroshot_classification_templates="a photo of a {c}.\na {c} thing.\n")
    return 200 / 3, {"top1": 200 / 3}  # three classes: no top-5


def write_coco_retrieval(root):
    write_wds(root / "retrieval" / "wds_mscoco_captions",
              [(RED, {"txt": "red\na red car\n"}), (BLUE, {"txt": "blue"}), (GREEN, {"txt": "green\na red red green"})],
              dataset_type="retrieval")
    return {"i2t_r1": 100, "i2t_r5": 100, "i2t_r10": 100, "t2i_r1": 80, "t2i_r5": 100, "t2i_r10": 100}
