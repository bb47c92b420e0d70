"""ARO (Yuksekgonul et al., ICLR 2023; github.com/mertyg/vision-language-models-are-bows).

Layout under ``data_root`` (as ARO's own loaders expect)::

    aro/visual_genome_relation.json      [{image_path, bbox_x, bbox_y, bbox_w, bbox_h,
    aro/visual_genome_attribution.json     true_caption, false_caption, relation_name | attributes}, ...]
    aro/images/<image_path>              the images: vgr_vga_images.zip unzipped inside aro/ (it creates images/)
    coco/coco_karpathy_test.json         [{image: "val2014/COCO_val2014_....jpg", caption: [5 captions]}, ...]
    coco/val2014/...
    flickr30k/flickr30k_test.json        [{image: "flickr30k-images/....jpg", caption: [5 captions]}, ...]
    flickr30k/flickr30k-images/...

Scores (image → captions; VG images are cropped to the bounding box of the relation/attribute), as ARO's
own code scores them: the prediction is the ``argmax`` over the caption options in ARO's order, so a tie
goes to the option listed first:

* VG_Relation: options ``[false, true]`` (a tie is wrong); macro-average over relation names, leaving
  out the 157 relations ARO's evaluation notebook leaves out (symmetric or order-insensitive ones such
  as "next to");
* VG_Attribution: options ``[false, true]``; macro-average over attribute pairs with at least 25 test
  cases (ARO's ``evaluate_scores``);
* COCO_Order / Flickr30k_Order: each caption against its four word-order perturbations, caption first
  (a perturbation that tokenises like the caption ties with it, and the tie is right), built at load
  time (see :mod:`.word_order`); 25,010 and 5,000 items;
* ARO = the mean of the four (the FSC-CLIP evaluation's figure; checked on the 202 published models).
"""

from __future__ import annotations

import os

from ..images import ImageFile
from ..items import FIRST, BenchmarkData, TextChoice
from .base import Benchmark, absent, collect, data_path, mean, read_json_list, shared_hint, text
from .word_order import order_test_options

# Relations ARO's VG-Relation macro accuracy leaves out (its evaluation notebook's list).
EXCLUDED_RELATIONS = frozenset({
    "adjusting", "attached to", "between", "bigger than", "biting", "boarding", "brushing", "chewing",
    "cleaning", "climbing", "close to", "coming from", "coming out of", "contain", "crossing", "dragging",
    "draped over", "drinking", "drinking from", "driving", "driving down", "driving on", "eating from",
    "eating in", "enclosing", "exiting", "facing", "filled with", "floating in", "floating on", "flying",
    "flying above", "flying in", "flying over", "flying through", "full of", "going down", "going into",
    "going through", "grazing in", "growing in", "growing on", "guiding", "hanging from", "hanging in",
    "hanging off", "hanging over", "higher than", "holding onto", "hugging", "in between", "jumping off",
    "jumping on", "jumping over", "kept in", "larger than", "leading", "leaning over", "leaving", "licking",
    "longer than", "looking in", "looking into", "looking out", "looking over", "looking through",
    "lying next to", "lying on top of", "making", "mixed with", "mounted on", "moving", "on the back of",
    "on the edge of", "on the front of", "on the other side of", "opening", "painted on", "parked at",
    "parked beside", "parked by", "parked in", "parked in front of", "parked near", "parked next to",
    "perched on", "petting", "piled on", "playing", "playing in", "playing on", "playing with", "pouring",
    "reaching for", "reading", "reflected on", "riding on", "running in", "running on", "running through",
    "seen through", "sitting behind", "sitting beside", "sitting by", "sitting in front of", "sitting near",
    "sitting next to", "sitting under", "skiing down", "skiing on", "sleeping in", "sleeping on",
    "smiling at", "sniffing", "splashing", "sprinkled on", "stacked on", "standing against",
    "standing around", "standing behind", "standing beside", "standing in front of", "standing near",
    "standing next to", "staring at", "stuck in", "surrounding", "swimming in", "swinging", "talking to",
    "topped with", "touching", "traveling down", "traveling on", "tying", "typing on", "underneath",
    "wading in", "waiting for", "walking across", "walking by", "walking down", "walking next to",
    "walking through", "working in", "working on", "worn on", "wrapped around", "wrapped in", "by", "of",
    "near", "next to", "with", "beside", "on the side of", "around",
})
MIN_ATTRIBUTE_PAIR_COUNT = 25
SUBSETS = ("VG_Relation", "VG_Attribution", "COCO_Order", "Flickr30k_Order")


class ARO(Benchmark):
    name, title, family, folder = "aro", "ARO", "comp", "aro"
    download = ("Get visual_genome_relation.json, visual_genome_attribution.json and vgr_vga_images.zip "
                "from github.com/mertyg/vision-language-models-are-bows into aro/ and unzip the zip there "
                "(it creates aro/images/); "
                "coco_karpathy_test.json into coco/ and flickr30k_test.json into flickr30k/ from "
                "storage.googleapis.com/sfr-vision-language-research/datasets/; "
                f"{shared_hint('coco/val2014')}; {shared_hint('flickr30k')}.")

    def __init__(self, order_seed: int = 0):
        self.order_seed = order_seed

    def load(self, data_root: str) -> BenchmarkData:
        root = self.root(data_root)
        data = BenchmarkData()
        vg_files = {subset: os.path.join(root, f"visual_genome_{kind}.json")
                    for subset, kind in (("VG_Relation", "relation"), ("VG_Attribution", "attribution"))}
        orders = {
            "COCO_Order": (os.path.join(data_root, "coco"), "coco_karpathy_test.json", "val2014"),
            "Flickr30k_Order": (os.path.join(data_root, "flickr30k"), "flickr30k_test.json", "flickr30k-images"),
        }
        for subset, path in vg_files.items():
            lacking = absent([path, os.path.join(root, "images")])
            if lacking:
                data.missing.extend(lacking)
                continue

            def relation(case, subset=subset):
                x, y, w, h = (float(case[f"bbox_{k}"]) for k in "xywh")
                group = text(case["relation_name"], "relation_name") if subset == "VG_Relation" else \
                    f"{text(case['attributes'][0], 'attributes')}_{text(case['attributes'][1], 'attributes')}"
                return TextChoice(subset=f"{subset}/{group}",
                                  image=ImageFile(data_path(root, "images", text(case["image_path"], "image_path")),
                                                  box=(x, y, x + w, y + h)),
                                  captions=[text(case["false_caption"]), text(case["true_caption"])], answer=1,
                                  ties=FIRST)

            collect(data, path, enumerate(read_json_list(path)), relation, subset=subset)
        for subset, (image_root, annotation, image_dir) in orders.items():
            path = os.path.join(image_root, annotation)
            lacking = absent([path, os.path.join(image_root, image_dir)])
            if lacking:
                data.missing.extend(lacking)
                continue
            entries = []  # (image, caption) of every caption of every entry that is well formed
            collect(data, path, enumerate(read_json_list(path)), lambda entry: entries.extend(
                [(text(entry["image"], "image"), text(caption)) for caption in _caption_list(entry["caption"])]),
                subset=subset)
            options = order_test_options([caption for _, caption in entries], seed=self.order_seed)
            data.text_choices.extend(
                TextChoice(subset=subset, image=ImageFile(data_path(image_root, image)), captions=choices,
                           ties=FIRST)
                for (image, _), choices in zip(entries, options)
            )
        if data.is_empty():
            raise self.missing(data_root, data.missing)
        return data

    def summarise(self, scores):
        subsets = self.report(scores)
        return subsets, self.headline(subsets)

    @staticmethod
    def headline(subsets):
        """ARO from its four reported subsets: their mean."""
        return mean(subsets.get(name) for name in SUBSETS)

    @staticmethod
    def report(scores):
        def macro(prefix: str, keep) -> float | None:
            groups = {name: values for name, values in scores.items() if name.startswith(prefix + "/")}
            return mean(values["accuracy"] for name, values in groups.items()
                        if keep(name[len(prefix) + 1:], values)) if groups else None

        subsets = {
            "VG_Relation": macro("VG_Relation", lambda relation, _: relation not in EXCLUDED_RELATIONS),
            "VG_Attribution": macro("VG_Attribution", lambda _, v: v["count"] >= MIN_ATTRIBUTE_PAIR_COUNT),
            "COCO_Order": scores.get("COCO_Order", {}).get("accuracy"),
            "Flickr30k_Order": scores.get("Flickr30k_Order", {}).get("accuracy"),
        }
        return {name: value for name, value in subsets.items() if value is not None}


def _caption_list(captions) -> list:
    if not isinstance(captions, list):
        raise TypeError(f"caption is {type(captions).__name__}, not a list of captions")
    return captions
