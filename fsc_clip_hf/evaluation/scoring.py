"""The scoring engine: CLIP similarities of test items, turned into per-subset metrics.

:func:`score_benchmark` embeds everything a benchmark needs (through the embedder's cache), computes the
similarities of each item's shape and hands them to the ``evaluate`` metric modules, one subset at a
time. Every score is a percentage. What comes back, keyed by subset:

* choice items (both directions): ``{"accuracy", "count"}``;
* pairs: ``{"text", "image", "group", "image_ties_to_second", "count"}``;
* paraphrase triples: ``{"itt", "tot", "count"}``;
* a retrieval gallery: ``{"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", ..., "count"}``;
* a zero-shot task: its metric (``top1``, ``mean_per_class``, ``map_11point`` or ``roc_auc``), ``top1`` and
  ``top5`` where defined, and ``count``.

Given a :class:`~fsc_clip_hf.evaluation.failures.Failures`, the wrong items of the choice, pair and triple
shapes are handed to it as well (``recipes/eval.py --html``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .embedding import CLIPEmbedder
from .failures import Failure, Failures, preferred_option
from .items import (
    UNREADABLE_IMAGE,
    BenchmarkData,
    ImageChoice,
    Pair,
    ParaphraseTriple,
    RetrievalSet,
    Skips,
    TextChoice,
    ZeroShotTask,
)
from .metrics import load_metric
from .metrics.zeroshot import zeroshot_scores

logger = logging.getLogger(__name__)

RECALL_KS = (1, 5, 10)
# Rows of a similarity matrix handled at once in retrieval (bounds memory on COCO's 5k x 25k).
_RETRIEVAL_CHUNK = 1024


def drop_unreadable(data: BenchmarkData, embedder: CLIPEmbedder, name: str) -> BenchmarkData:
    """``data`` without the items whose images cannot be opened or decoded, counted per subset in its skips.

    Embeds every image of ``data`` first (each once, through the cache), which is how the unreadable
    ones are found. A truncated download or an error page saved as ``.jpg`` then costs the items that
    use it, not the benchmark; a retrieval gallery or zero-shot task left without any image is dropped
    (the suite reports a benchmark left with nothing as failed). ``data`` itself is left as it was: it
    is cached between evaluations.
    """
    sources = [*(item.image for item in data.text_choices), *(i for item in data.image_choices for i in item.images),
               *(i for item in data.pairs for i in item.images), *(item.image for item in data.triples),
               *(i for g in data.retrieval.values() for i in g.images),
               *(i for task in data.zeroshot.values() for i in task.images)]
    embedder.images(sources)
    bad = embedder.unreadable & {source.key for source in sources}
    if not bad:
        return data
    skips = Skips()

    def readable(item, images) -> bool:
        unreadable = [image.key for image in images if image.key in bad]
        if unreadable:
            skips.add(item.subset, UNREADABLE_IMAGE, unreadable[0])
        return not unreadable

    def kept(subset, images, *columns):
        rows = [row for row in zip(images, *columns) if row[0].key not in bad]
        for image in images:
            if image.key in bad:
                skips.add(subset, UNREADABLE_IMAGE, image.key)
        return [list(column) for column in zip(*rows)] if rows else [[] for _ in range(1 + len(columns))]

    retrieval = {subset: RetrievalSet(*kept(subset, g.images, g.captions)) for subset, g in data.retrieval.items()}
    zeroshot = {}
    for subset, task in data.zeroshot.items():
        images, labels = kept(subset, task.images, task.labels)
        zeroshot[subset] = dataclasses.replace(task, images=images, labels=labels)
    emptied = [subset for subset, part in (*retrieval.items(), *zeroshot.items()) if not part.images]
    clean = dataclasses.replace(
        data,
        text_choices=[item for item in data.text_choices if readable(item, [item.image])],
        image_choices=[item for item in data.image_choices if readable(item, item.images)],
        pairs=[item for item in data.pairs if readable(item, item.images)],
        triples=[item for item in data.triples if readable(item, [item.image])],
        retrieval={subset: gallery for subset, gallery in retrieval.items() if subset not in emptied},
        zeroshot={subset: task for subset, task in zeroshot.items() if subset not in emptied},
        skips=data.skips.merged(skips),
        notes=[*data.notes, *(f"{subset}: none of its images could be read or decoded" for subset in emptied)],
    )
    if embedder.rank == 0:
        logger.warning("%s: %d items skipped: %d of their images could not be read or decoded, e.g. %s", name,
                       skips.total(), len(bad), sorted(bad)[:3])
    return clean


def score_benchmark(data: BenchmarkData, embedder: CLIPEmbedder,
                    failures: Failures | None = None) -> dict[str, dict[str, float]]:
    """Per-subset metrics of every item of ``data`` (shapes in the module docstring); the wrong items go to
    ``failures`` when given."""
    scores: dict[str, dict[str, float]] = {}
    if data.text_choices:
        scores.update(score_text_choices(data.text_choices, embedder, failures))
    if data.image_choices:
        scores.update(score_image_choices(data.image_choices, embedder, failures))
    if data.pairs:
        scores.update(score_pairs(data.pairs, embedder, failures))
    if data.triples:
        scores.update(score_triples(data.triples, embedder, failures))
    for subset, gallery in data.retrieval.items():
        scores[subset] = score_retrieval(gallery, embedder)
    for subset, task in data.zeroshot.items():
        scores[subset] = score_zeroshot(task, embedder)
    return scores


def _by_subset(items: Sequence, rows: list, compute: Callable[[list], dict[str, float]]) -> dict[str, dict]:
    """Apply ``compute`` to the rows of each subset, in order of first appearance."""
    groups: dict[str, list] = defaultdict(list)
    for item, row in zip(items, rows):
        groups[item.subset].append(row)
    return {subset: {**compute(group), "count": len(group)} for subset, group in groups.items()}


def _percent(values: dict[str, float]) -> dict[str, float]:
    return {name: 100.0 * value for name, value in values.items()}


def _lookup(texts: Sequence[str]) -> dict[str, int]:
    return {text: index for index, text in enumerate(dict.fromkeys(texts))}


def score_text_choices(items: Sequence[TextChoice], embedder: CLIPEmbedder,
                       failures: Failures | None = None) -> dict[str, dict]:
    """Image → captions: each item's similarities to its candidate captions (N items, K_i options)."""
    images = embedder.images([item.image for item in items])  # (N, D)
    index = _lookup([caption for item in items for caption in item.captions])
    texts = embedder.texts(list(index))  # (U, D), one row per unique caption
    rows = [(texts[[index[c] for c in item.captions]] @ images[n]).tolist() for n, item in enumerate(items)]
    if failures is not None:
        for item, row in zip(items, rows):
            rival = preferred_option(row, item.answer, item.ties)
            if rival is not None:
                failures.add(Failure(item.subset, "image → captions", item.image, item.captions[item.answer],
                                     item.captions[rival], row[item.answer], row[rival]))
    return _choice_accuracy(items, rows)


def score_image_choices(items: Sequence[ImageChoice], embedder: CLIPEmbedder,
                        failures: Failures | None = None) -> dict[str, dict]:
    """Caption → images: each item's similarities to its candidate images."""
    keys = {image.key: image for item in items for image in item.images}
    position = {key: row for row, key in enumerate(keys)}
    images = embedder.images(list(keys.values()))  # (U, D)
    captions = embedder.texts([item.caption for item in items])  # (N, D)
    rows = [(images[[position[image.key] for image in item.images]] @ captions[n]).tolist()
            for n, item in enumerate(items)]
    if failures is not None:
        for item, row in zip(items, rows):
            rival = preferred_option(row, item.answer, item.ties)
            if rival is not None:
                failures.add(Failure(item.subset, "caption → images", item.images[item.answer], item.caption,
                                     f"image {rival + 1} of {len(item.images)}", row[item.answer], row[rival],
                                     preferred_image=item.images[rival]))
    return _choice_accuracy(items, rows)


def _choice_accuracy(items: Sequence[TextChoice | ImageChoice], rows: list[list[float]]) -> dict[str, dict]:
    """Multiple-choice accuracy per subset from each item's option scores, its true option and its tie rule
    (one rule per subset: a subset is one benchmark's protocol)."""
    metric = load_metric("multiple_choice_accuracy")

    def accuracy(group: list) -> dict[str, float]:
        rules = {ties for _, _, ties in group}
        if len(rules) > 1:
            raise ValueError(f"one subset mixes tie rules {sorted(rules)}")
        return _percent(metric.compute(predictions=[row for row, _, _ in group],
                                       references=[answer for _, answer, _ in group], ties=rules.pop()))

    return _by_subset(items, [(row, item.answer, item.ties) for item, row in zip(items, rows)], accuracy)


def score_pairs(items: Sequence[Pair], embedder: CLIPEmbedder, failures: Failures | None = None) -> dict[str, dict]:
    """2×2 groups: [s(c0,i0), s(c0,i1), s(c1,i0), s(c1,i1)] per group, then text/image/group scores."""
    images = embedder.images([image for item in items for image in item.images]).view(len(items), 2, -1)
    captions = embedder.texts([caption for item in items for caption in item.captions]).view(len(items), 2, -1)
    rows = torch.einsum("ncd,nid->nci", captions, images).reshape(len(items), 4).tolist()
    if failures is not None:
        for item, row in zip(items, rows):
            _pair_failure(item, row, failures)
    metric = load_metric("group_scores")
    return _by_subset(items, rows, lambda group: _percent(metric.compute(predictions=group)))


def _pair_failure(item: Pair, row: list[float], failures: Failures) -> None:
    """A group that fails its group score, shown by the one of its four comparisons it loses the most."""
    (c0, c1), (i0, i1), (c0i0, c0i1, c1i0, c1i1) = item.captions, item.images, row
    comparisons = [  # (margin, failure) of: each image between the captions, each caption between the images
        (c0i0 - c1i0, Failure(item.subset, "image 1 → captions (text score)", i0, c0, c1, c0i0, c1i0)),
        (c1i1 - c0i1, Failure(item.subset, "image 2 → captions (text score)", i1, c1, c0, c1i1, c0i1)),
        (c0i0 - c0i1, Failure(item.subset, "caption 1 → images (image score)", i0, c0, "image 2", c0i0, c0i1,
                              preferred_image=i1)),
        (c1i1 - c1i0, Failure(item.subset, "caption 2 → images (image score)", i1, c1, "image 1", c1i1, c1i0,
                              preferred_image=i0)),
    ]
    margin, failure = min(comparisons, key=lambda comparison: comparison[0])
    if margin <= 0:  # strict inequalities: a tie loses
        failures.add(failure)


def score_triples(items: Sequence[ParaphraseTriple], embedder: CLIPEmbedder,
                  failures: Failures | None = None) -> dict[str, dict]:
    """Image, two positives, one negative: [cos(I,P1), cos(I,P2), cos(I,N), cos(P1,P2), cos(P1,N), cos(P2,N)]
    per triple, then ITT and TOT."""
    images = embedder.images([item.image for item in items])  # (N, D)
    index = _lookup([text for item in items for text in (*item.positives, item.negative)])
    texts = embedder.texts(list(index))  # (U, D)
    p1 = texts[[index[item.positives[0]] for item in items]]  # (N, D) each
    p2 = texts[[index[item.positives[1]] for item in items]]
    negative = texts[[index[item.negative] for item in items]]
    rows = torch.stack([(images * p1).sum(-1), (images * p2).sum(-1), (images * negative).sum(-1),
                        (p1 * p2).sum(-1), (p1 * negative).sum(-1), (p2 * negative).sum(-1)], dim=1).tolist()
    if failures is not None:
        for item, (i_p1, i_p2, i_n, *_) in zip(items, rows):
            weaker = 0 if i_p1 <= i_p2 else 1  # the ITT comparison that fails first
            score = (i_p1, i_p2)[weaker]
            if score <= i_n:
                failures.add(Failure(item.subset, f"image → captions (ITT, positive {weaker + 1})", item.image,
                                     item.positives[weaker], item.negative, score, i_n))
    metric = load_metric("paraphrase_scores")
    return _by_subset(items, rows, lambda group: _percent(metric.compute(predictions=group)))


def _top_k(queries: torch.Tensor, gallery: torch.Tensor, k: int) -> list[list[int]]:
    """Indices of the ``k`` most similar gallery rows for each query, best first."""
    ranked = []
    for start in range(0, len(queries), _RETRIEVAL_CHUNK):
        similarities = queries[start:start + _RETRIEVAL_CHUNK] @ gallery.T
        ranked.extend(similarities.topk(min(k, len(gallery)), dim=1).indices.tolist())
    return ranked


def score_retrieval(gallery: RetrievalSet, embedder: CLIPEmbedder) -> dict[str, float]:
    """Recall@1/5/10 image → text (any of the image's captions) and text → image."""
    images = embedder.images(gallery.images)  # (N, D)
    flat = [caption for captions in gallery.captions for caption in captions]
    owner = [n for n, captions in enumerate(gallery.captions) for _ in captions]
    texts = embedder.texts(flat)  # (M, D)
    owned: dict[int, list[int]] = defaultdict(list)
    for caption_index, image_index in enumerate(owner):
        owned[image_index].append(caption_index)
    image_refs = [[n] for n in owner]
    if gallery.identical_captions_match:
        by_text: dict[str, list[int]] = defaultdict(list)
        for caption_index, caption in enumerate(flat):
            by_text[caption].append(caption_index)
        owned = {n: sorted({c for i in indices for c in by_text[flat[i]]}) for n, indices in owned.items()}
        image_refs = [sorted({owner[c] for c in by_text[caption]}) for caption in flat]
    metric, k = load_metric("retrieval_recall"), max(RECALL_KS)
    i2t = metric.compute(predictions=_top_k(images, texts, k), references=[owned[n] for n in range(len(images))],
                         k_values=list(RECALL_KS))
    t2i = metric.compute(predictions=_top_k(texts, images, k), references=image_refs,
                         k_values=list(RECALL_KS))
    return {
        **{f"i2t_r{k}": 100.0 * i2t[f"recall@{k}"] for k in RECALL_KS},
        **{f"t2i_r{k}": 100.0 * t2i[f"recall@{k}"] for k in RECALL_KS},
        "count": len(images),
    }


def zeroshot_classifier(task: ZeroShotTask, embedder: CLIPEmbedder) -> torch.Tensor:
    """(C, D) class embeddings: the mean of each class's normalised prompt embeddings, renormalised."""
    prompts = [template.replace("{c}", name) for name in task.classnames for template in task.templates]
    embeddings = embedder.texts(prompts).view(len(task.classnames), len(task.templates), -1)
    return F.normalize(embeddings.mean(dim=1), dim=-1)


def score_zeroshot(task: ZeroShotTask, embedder: CLIPEmbedder) -> dict[str, float]:
    """The task's ELEVATER metric (with top-1 / top-5 for single-label tasks) of classifying its images
    against its class prompts, from ``softmax(100 * image @ classes)`` (:mod:`.zeroshot_metrics`)."""
    probabilities = (100.0 * embedder.images(task.images) @ zeroshot_classifier(task, embedder).T).softmax(dim=-1)
    return {**zeroshot_scores(probabilities, task.labels, task.metric), "count": len(task.labels)}
