"""Test items in the scoring shapes, and what an adapter reads a benchmark into.

Every compositionality benchmark reduces to one of these shapes over CLIP similarities:

* :class:`TextChoice` (image → captions): correct when the true caption scores highest;
* :class:`ImageChoice` (caption → images): correct when the true image scores highest;
* :class:`Pair` (2×2, Winoground's group): text, image and group scores;
* :class:`ParaphraseTriple` (SugarCrepe++): an image, two captions of it in other words and a negative;
  ITT and TOT;
* :class:`RetrievalSet` (a gallery): Recall@K both ways;

plus :class:`ZeroShotTask` for classification with prompt templates. ``subset`` names the part of the
benchmark an item counts towards; the adapter's summary turns per-subset scores into the paper's.

A choice item says how a tie with its true option is scored, as its benchmark's official code does:

* ``STRICT``: the true option must score strictly above every other (SugarCrepe, VALSE, VL-CheckList:
  ``pos > neg``); a tie is wrong;
* ``FIRST``: the prediction is ``argmax`` over the options in their listed order, which returns the first
  of equal maxima (ARO, What'sUp, SPEC, CREPE, ImageCoDe). A tie then goes to whichever option is listed
  first, so adapters list the options in the official order (ARO's VG sets put the false caption first).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .images import ImageSource

STRICT, FIRST = "strict", "first"
TIE_RULES = (STRICT, FIRST)


@dataclass
class TextChoice:
    """One image and its candidate captions; ``captions[answer]`` is the true one."""

    subset: str
    image: ImageSource
    captions: list[str]
    answer: int = 0
    ties: str = STRICT

    def __post_init__(self):
        _check_choice(self.answer, len(self.captions), self.ties)


@dataclass
class ImageChoice:
    """One caption and its candidate images; ``images[answer]`` is the one it describes."""

    subset: str
    caption: str
    images: list[ImageSource]
    answer: int = 0
    ties: str = STRICT

    def __post_init__(self):
        _check_choice(self.answer, len(self.images), self.ties)


def _check_choice(answer: int, options: int, ties: str) -> None:
    # A ValueError here marks the record it came from as malformed (see adapters.base.collect).
    if ties not in TIE_RULES:
        raise ValueError(f"unknown tie rule {ties!r}; known: {TIE_RULES}")
    if options < 2 or not 0 <= answer < options:
        raise ValueError(f"true option {answer} of {options} options")


@dataclass
class Pair:
    """Two images and two captions, ``captions[i]`` describing ``images[i]`` (Winoground, EqBen)."""

    subset: str
    images: tuple[ImageSource, ImageSource]
    captions: tuple[str, str]


@dataclass
class ParaphraseTriple:
    """One image, two captions that describe it in different words and one hard negative (SugarCrepe++)."""

    subset: str
    image: ImageSource
    positives: tuple[str, str]
    negative: str


@dataclass
class RetrievalSet:
    """A retrieval gallery: ``captions[i]`` (one or more) describe ``images[i]``.

    ``identical_captions_match``: a retrieved caption whose text is one of the gold captions counts as
    right, and so does an image one of whose captions is the query's text (for galleries whose captions
    repeat across images by construction, such as the synthetic world's; off for the published sets,
    scored as CLIP_benchmark scores them).
    """

    images: list[ImageSource]
    captions: list[list[str]]
    identical_captions_match: bool = False


@dataclass
class ZeroShotTask:
    """Images with class labels; each class prompt is ``template.replace("{c}", classname)``.

    ``labels`` holds each image's class index, or for a multi-label task (``metric="map_11point"``) its
    list of class indices; ``metric`` is the task's score (a key of
    :data:`fsc_clip_hf.evaluation.metrics.zeroshot.METRICS`).
    """

    classnames: list[str]
    templates: list[str]
    images: list[ImageSource]
    labels: list[int] | list[list[int]]
    metric: str = "top1"


# Why an item was left out (the keys of ``Skips`` counts and of ``results.json``).
IMAGE_ABSENT = "image_absent"        # its image file is not on disk
UNREADABLE_IMAGE = "unreadable_image"  # the file is there but cannot be opened or decoded
MALFORMED = "malformed"              # a missing key, a null or non-text caption, bytes that are not UTF-8
EXAMPLES_PER_REASON = 3


@dataclass
class Skips:
    """Items left out, counted per subset and reason, with the first few of each reason named
    (``"<file> [<item id>]: <why>"``) so that a user can look at them."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, subset: str, reason: str, where: str | None = None, count: int = 1) -> None:
        self.counts[subset][reason] += count
        if where is not None and len(self.examples[reason]) < EXAMPLES_PER_REASON:
            self.examples[reason].append(where)

    def merged(self, other: "Skips") -> "Skips":
        merged = Skips()
        for skips in (self, other):
            for subset, reasons in skips.counts.items():
                merged.counts[subset].update(reasons)
            for reason, examples in skips.examples.items():
                room = EXAMPLES_PER_REASON - len(merged.examples[reason])
                merged.examples[reason].extend(examples[:max(room, 0)])
        return merged

    def total(self, subset: str | None = None) -> int:
        counters = [self.counts.get(subset, Counter())] if subset is not None else self.counts.values()
        return sum(sum(counter.values()) for counter in counters)

    def by_reason(self) -> Counter:
        total = Counter()
        for counter in self.counts.values():
            total.update(counter)
        return total

    def notes(self) -> list[str]:
        """One line per reason, e.g. ``"12 items skipped (image_absent), e.g. a.json [7]; ..."``."""
        return [f"{count} items skipped ({reason})"
                + (", e.g. " + "; ".join(self.examples[reason]) if self.examples.get(reason) else "")
                for reason, count in sorted(self.by_reason().items())]


@dataclass
class BenchmarkData:
    """What an adapter read from disk; retrieval galleries and zero-shot tasks are keyed by the
    subset name they are scored under.

    ``missing`` lists the parts that were not found (the benchmark is then partial: its subsets are
    scored, its headline is not); ``skips`` counts the items left out per subset and reason;
    ``item_set`` says which published item set was read when a benchmark has several (EqBen's full set
    or its 10 % subset, CREPE's ``_all`` files or its per-complexity files); ``notes`` records anything
    else worth reporting.
    """

    text_choices: list[TextChoice] = field(default_factory=list)
    image_choices: list[ImageChoice] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    triples: list[ParaphraseTriple] = field(default_factory=list)
    retrieval: dict[str, RetrievalSet] = field(default_factory=dict)
    zeroshot: dict[str, ZeroShotTask] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)
    item_set: str | None = None

    def add(self, item: TextChoice | ImageChoice | Pair | ParaphraseTriple) -> None:
        """Append a choice item, a pair or a triple to the list of its shape."""
        lists = {TextChoice: self.text_choices, ImageChoice: self.image_choices, Pair: self.pairs,
                 ParaphraseTriple: self.triples}
        lists[type(item)].append(item)

    def item_count(self) -> int:
        """Test items of every shape; a gallery or a zero-shot task counts its images."""
        return (len(self.text_choices) + len(self.image_choices) + len(self.pairs) + len(self.triples)
                + sum(len(g.images) for g in self.retrieval.values()) + sum(len(t.images) for t in self.zeroshot.values()))

    def is_empty(self) -> bool:
        return not (self.text_choices or self.image_choices or self.pairs or self.triples or self.retrieval
                    or self.zeroshot)
