"""Evaluation of checkpoints on the synthetic world's test sets, for the offline demo.

Reads the layout `write_synthetic_world` writes under `eval/` (paths relative to it):
`compositional.jsonl` (image, caption, negatives, subset), `zeroshot/<task>/{classnames.txt,
templates.txt, test.jsonl}` and `retrieval.jsonl` (image, captions). Every image and caption is
embedded once per checkpoint. Scores are percentages:

* Comp: accuracy of the true caption against its hard negatives, averaged over the subsets;
* ZS: zero-shot top-1 with the class prompts averaged over templates, averaged over the tasks;
* I2T / T2I: Recall@1 of image→caption and caption→image retrieval on held-out images.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict

import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm
from transformers import CLIPModel, CLIPProcessor

logger = logging.getLogger(__name__)

COLUMNS = ("comp", "zs", "i2t_r1", "t2i_r1")
HEADERS = {"comp": "Comp", "zs": "ZS", "i2t_r1": "I2T R@1", "t2i_r1": "T2I R@1"}


def _jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class _Embedder:
    """Embeds images (by path) and captions once, in batches."""

    def __init__(self, model: CLIPModel, processor: CLIPProcessor, root: str, batch_size: int = 64):
        self.model, self.processor, self.root, self.batch_size = model.eval(), processor, root, batch_size

    @torch.no_grad()
    def images(self, paths: list[str]) -> torch.Tensor:
        chunks = []
        for start in tqdm(range(0, len(paths), self.batch_size), desc="images", leave=False):
            batch = [Image.open(os.path.join(self.root, p)).convert("RGB") for p in paths[start : start + self.batch_size]]
            pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"]
            chunks.append(self.model.get_image_features(pixel_values=pixels).pooler_output)
        return F.normalize(torch.cat(chunks), dim=-1)

    @torch.no_grad()
    def texts(self, captions: list[str]) -> torch.Tensor:
        chunks = []
        for start in tqdm(range(0, len(captions), self.batch_size), desc="captions", leave=False):
            tokens = self.processor(text=captions[start : start + self.batch_size], padding=True, truncation=True,
                                    return_tensors="pt")
            chunks.append(self.model.get_text_features(**tokens).pooler_output)
        return F.normalize(torch.cat(chunks), dim=-1)


def evaluate_synthetic(model: CLIPModel, processor: CLIPProcessor, eval_dir: str) -> dict:
    """Scores of one model: `{"summary": {comp, zs, i2t_r1, t2i_r1}, "subsets": {...}}` in percent."""
    embed = _Embedder(model, processor, eval_dir)
    subsets: dict[str, float] = {}

    items = _jsonl(os.path.join(eval_dir, "compositional.jsonl"))
    images = embed.images([item["image"] for item in items])
    texts = embed.texts([text for item in items for text in (item["caption"], *item["negatives"])])
    correct, start = defaultdict(list), 0
    for item, image in zip(items, images):
        scores = texts[start : start + 1 + len(item["negatives"])] @ image
        start += 1 + len(item["negatives"])
        correct[item["subset"]].append(bool(scores[0] > scores[1:].max()))
    for subset, hits in sorted(correct.items()):
        subsets[f"comp/{subset}"] = 100.0 * sum(hits) / len(hits)

    zs_root = os.path.join(eval_dir, "zeroshot")
    for task in sorted(os.listdir(zs_root)):
        folder = os.path.join(zs_root, task)
        classes = open(os.path.join(folder, "classnames.txt"), encoding="utf-8").read().split("\n")
        classes = [c for c in classes if c.strip()]
        templates = [t for t in open(os.path.join(folder, "templates.txt"), encoding="utf-8").read().split("\n") if t.strip()]
        prompts = embed.texts([t.replace("{c}", c) for c in classes for t in templates])
        classifier = F.normalize(prompts.view(len(classes), len(templates), -1).mean(1), dim=-1)
        rows = _jsonl(os.path.join(folder, "test.jsonl"))
        predictions = (embed.images([r["image"] for r in rows]) @ classifier.t()).argmax(-1)
        labels = torch.tensor([r["label"] for r in rows])
        subsets[f"zs/{task}"] = 100.0 * (predictions == labels).float().mean().item()

    rows = _jsonl(os.path.join(eval_dir, "retrieval.jsonl"))
    images = embed.images([r["image"] for r in rows])
    captions = [c for r in rows for c in r["captions"]]
    owner = torch.tensor([i for i, r in enumerate(rows) for _ in r["captions"]])
    sims = images @ embed.texts(captions).t()  # (images, captions)
    i2t = (owner[sims.argmax(1)] == torch.arange(len(rows))).float().mean().item()
    t2i = (sims.argmax(0) == owner).float().mean().item()

    summary = {
        "comp": _mean([v for k, v in subsets.items() if k.startswith("comp/")]),
        "zs": _mean([v for k, v in subsets.items() if k.startswith("zs/")]),
        "i2t_r1": 100.0 * i2t,
        "t2i_r1": 100.0 * t2i,
    }
    return {"summary": summary, "subsets": subsets}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def evaluate_checkpoints(checkpoints: dict[str, str], eval_dir: str, output_dir: str) -> dict:
    """Evaluate each named checkpoint folder; print and write `demo_results.{json,md,png}`."""
    results = {}
    for name, path in checkpoints.items():
        logger.info("evaluating %s (%s) on the synthetic test sets", name, path)
        results[name] = evaluate_synthetic(CLIPModel.from_pretrained(path), CLIPProcessor.from_pretrained(path), eval_dir)
    table = markdown_table(results)
    print("\n" + table)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "demo_results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(output_dir, "demo_results.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    plot_comp_vs_zs(results, os.path.join(output_dir, "demo_comp_vs_zs.png"))
    return results


def markdown_table(results: dict) -> str:
    subsets = sorted({key for r in results.values() for key in r["subsets"]})
    header = ["model", *(HEADERS[c] for c in COLUMNS), *subsets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, r in results.items():
        cells = [name, *(f"{r['summary'][c]:.1f}" for c in COLUMNS), *(f"{r['subsets'].get(s, float('nan')):.1f}" for s in subsets)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_comp_vs_zs(results: dict, path: str) -> None:
    """The holistic picture: compositionality against zero-shot accuracy, one point per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, r in results.items():
        ax.scatter(r["summary"]["zs"], r["summary"]["comp"], s=60)
        ax.annotate(name, (r["summary"]["zs"], r["summary"]["comp"]), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("zero-shot top-1 (%)")
    ax.set_ylabel("compositional accuracy (%)")
    ax.set_title("synthetic world: Comp vs. ZS")
    ax.grid(alpha=0.3)
    ax.margins(0.2)  # room for the labels
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
