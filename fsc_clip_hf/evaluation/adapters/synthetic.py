"""The embedded synthetic world's test sets (``fsc_clip_hf.data.synthetic``), for the offline demo.

``data_root`` is the world's folder or its ``eval/`` folder::

    eval/compositional.jsonl           {image, caption, negatives: [...], subset}
    eval/zeroshot/<task>/classnames.txt, templates.txt ("{c}" for the class), test.jsonl {image, label}
    eval/retrieval.jsonl               {image, captions: [...]}
    (image paths relative to eval/)

Three benchmarks, scored like their published counterparts: ``synthetic/comp`` (each image against its
caption and negatives; the mean over subsets), ``synthetic/zs`` (the mean top-1 over the tasks) and
``synthetic/retrieval`` (Recall@K both ways; a caption identical to a gold one counts as right, since
the world's captions repeat across images). They form their own suite: their Comp / ZS / Ret are never
mixed with the published benchmarks'.
"""

from __future__ import annotations

import glob
import os

from ..images import ImageFile
from ..items import BenchmarkData, RetrievalSet, TextChoice, ZeroShotTask
from .base import Benchmark, MissingData, mean, read_jsonl, read_lines
from .retrieval import RECALLS

_HINT = ("The demo writes one (make demo; its world is under outputs/synthetic/world/); or write one with "
         "fsc_clip_hf.data.synthetic.write_synthetic_world(out_dir) and pass out_dir (or out_dir/eval) as data_root.")


def demo_worlds(outputs: str = "outputs") -> list[str]:
    """The synthetic worlds the demo wrote under ``outputs`` (``<cache>/world/<key>``), newest first."""
    found = glob.glob(os.path.join(outputs, "**", "world", "*", "eval", "compositional.jsonl"), recursive=True)
    return [os.path.dirname(os.path.dirname(path)) for path in sorted(found, key=os.path.getmtime, reverse=True)]


def world_hint(outputs: str = "outputs") -> str:
    """Where a synthetic world can be had: the demo's, when one exists under ``outputs``."""
    worlds = demo_worlds(outputs)
    return f"The demo's world is at {worlds[0]}: pass it as data_root." if worlds else _HINT


def eval_dir(data_root: str) -> str:
    """The folder holding ``compositional.jsonl``: ``data_root`` itself or its ``eval/``."""
    for folder in (data_root, os.path.join(data_root, "eval")):
        if os.path.exists(os.path.join(folder, "compositional.jsonl")):
            return folder
    raise MissingData(f"synthetic world: no compositional.jsonl in {data_root} or {data_root}/eval. {world_hint()}")


# The synthetic world's Comp, wherever it is printed: the binding and replacement subsets. swap_rel is
# reported beside them and stays out: every model, base and fine-tunes alike, is at chance on it on the
# validation split (the tiny towers do not encode layout), so it would only dilute the comparison.
COMP_SUBSETS = ("replace_att", "replace_obj", "swap_att", "swap_obj")
COMP_LABEL = "Comp (without swap_rel)"


class SyntheticBenchmark(Benchmark):
    suite, folder, download = "synthetic", "eval", _HINT


class SyntheticCompositional(SyntheticBenchmark):
    name, title, family = "synthetic/comp", "Synthetic compositional", "comp"
    subsets = COMP_SUBSETS

    @classmethod
    def headline(cls, subsets):
        """The mean over the :data:`COMP_SUBSETS` the world has (a small world may lack one)."""
        return mean(subsets[subset] for subset in COMP_SUBSETS if subset in subsets)

    def load(self, data_root: str) -> BenchmarkData:
        root = eval_dir(data_root)
        return BenchmarkData(text_choices=[
            TextChoice(subset=row["subset"], image=ImageFile(os.path.join(root, row["image"])),
                       captions=[row["caption"], *row["negatives"]])
            for row in read_jsonl(os.path.join(root, "compositional.jsonl"))
        ])


class SyntheticZeroShot(SyntheticBenchmark):
    name, title, family = "synthetic/zs", "Synthetic zero-shot", "zs"

    def load(self, data_root: str) -> BenchmarkData:
        root = eval_dir(data_root)
        tasks = {}
        for task in sorted(os.listdir(os.path.join(root, "zeroshot"))):
            folder = os.path.join(root, "zeroshot", task)
            rows = read_jsonl(os.path.join(folder, "test.jsonl"))
            tasks[task] = ZeroShotTask(classnames=read_lines(os.path.join(folder, "classnames.txt")),
                                       templates=read_lines(os.path.join(folder, "templates.txt")),
                                       images=[ImageFile(os.path.join(root, row["image"])) for row in rows],
                                       labels=[int(row["label"]) for row in rows])
        return BenchmarkData(zeroshot=tasks)

    def summarise(self, scores):
        subsets = {task: values["top1"] for task, values in scores.items()}
        return subsets, mean(subsets.values())


class SyntheticRetrieval(SyntheticBenchmark):
    name, title, family = "synthetic/retrieval", "Synthetic retrieval", "retrieval"

    def load(self, data_root: str) -> BenchmarkData:
        root = eval_dir(data_root)
        rows = read_jsonl(os.path.join(root, "retrieval.jsonl"))
        gallery = RetrievalSet(images=[ImageFile(os.path.join(root, row["image"])) for row in rows],
                               captions=[list(row["captions"]) for row in rows],
                               identical_captions_match=True)  # "a red circle" describes every such image
        return BenchmarkData(retrieval={"retrieval": gallery})

    def summarise(self, scores):
        return {recall: scores["retrieval"][recall] for recall in RECALLS}, None


def synthetic_benchmarks() -> list[SyntheticBenchmark]:
    return [SyntheticCompositional(), SyntheticZeroShot(), SyntheticRetrieval()]
