"""Test items in the four scoring shapes, and what an adapter reads a benchmark into.

Every compositionality benchmark reduces to one of these shapes over CLIP similarities:

* :class:`TextChoice` (image → captions): correct when the true caption scores highest;
* :class:`ImageChoice` (caption → images): correct when the true image scores highest;
* :class:`Pair` (2×2, Winoground's group): text, image and group scores;
* :class:`RetrievalSet` (a gallery): Recall@K both ways;

plus :class:`ZeroShotTask` for classification with prompt templates. ``subset`` names the part of the
benchmark an item counts towards; the adapter's summary turns per-subset scores into the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .images import ImageSource


@dataclass
class TextChoice:
    """One image and its candidate captions; ``captions[answer]`` is the true one."""

    subset: str
    image: ImageSource
    captions: list[str]
    answer: int = 0


@dataclass
class ImageChoice:
    """One caption and its candidate images; ``images[answer]`` is the one it describes."""

    subset: str
    caption: str
    images: list[ImageSource]
    answer: int = 0


@dataclass
class Pair:
    """Two images and two captions, ``captions[i]`` describing ``images[i]`` (Winoground, EqBen)."""

    subset: str
    images: tuple[ImageSource, ImageSource]
    captions: tuple[str, str]


@dataclass
class RetrievalSet:
    """A retrieval gallery: ``captions[i]`` (one or more) describe ``images[i]``."""

    images: list[ImageSource]
    captions: list[list[str]]


@dataclass
class ZeroShotTask:
    """Images with class labels; each class prompt is ``template.replace("{c}", classname)``.

    ``labels`` holds each image's class index, or for a multi-label task (``metric="map_11point"``) its
    list of class indices; ``metric`` is the task's score (a key of
    :data:`fsc_clip_hf.evaluation.zeroshot_metrics.METRICS`).
    """

    classnames: list[str]
    templates: list[str]
    images: list[ImageSource]
    labels: list[int] | list[list[int]]
    metric: str = "top1"


@dataclass
class BenchmarkData:
    """What an adapter read from disk; retrieval galleries and zero-shot tasks are keyed by the
    subset name they are scored under.

    ``missing`` lists the parts that were not found (the benchmark is then partial: its subsets are
    scored, its headline is not); ``notes`` records anything else worth reporting (skipped items).
    """

    text_choices: list[TextChoice] = field(default_factory=list)
    image_choices: list[ImageChoice] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    retrieval: dict[str, RetrievalSet] = field(default_factory=dict)
    zeroshot: dict[str, ZeroShotTask] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def item_count(self) -> int:
        """Test items of every shape; a gallery or a zero-shot task counts its images."""
        return (len(self.text_choices) + len(self.image_choices) + len(self.pairs)
                + sum(len(g.images) for g in self.retrieval.values()) + sum(len(t.images) for t in self.zeroshot.values()))

    def is_empty(self) -> bool:
        return not (self.text_choices or self.image_choices or self.pairs or self.retrieval or self.zeroshot)
