"""The batch collator: samples -> the tensors one ``FSCCLIPModel`` forward needs, with hard negatives.

Works in DataLoader worker processes (it pickles; the epoch it generates negatives for lives in
shared memory, so ``set_epoch`` in the main process reaches persistent workers).
"""

from __future__ import annotations

import random
import zlib

import torch
from PIL import Image

from .images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
from .samples import ImageLimits, prepare_sample
from .skips import SkipStats

# CLIP's text context; used when the tokenizer does not declare a usable model_max_length.
CLIP_CONTEXT_LENGTH = 77
DATASET_NEGATIVE_TYPE = "precomputed"


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


class FSCCollator:
    """Collate ``{"image", "caption"[, "negatives"]}`` samples into one FSC-CLIP batch.

    Args:
        processor: a ``CLIPProcessor`` (uses its ``tokenizer`` and ``image_processor``).
        negative_generator: object with ``.types`` (K names) and ``__call__(captions, epoch=e)``
            returning K lists (one per type, each ``len(captions)`` long) of str or None.
        max_length: token cap for captions and negatives; default the tokenizer's
            ``model_max_length`` (77 for CLIP).
        train_transform: optional augmentation ``(PIL image, seed) -> PIL image`` at the model's input
            size (e.g. ``augment.RandomResizedCrop``); its output is only normalised, without the
            processor's resize and centre crop. The seed follows from ``seed``, the epoch and the
            sample, so a view does not depend on the worker that made it or on a resume.
        use_dataset_negatives: add one type, ``"precomputed"``, drawn from each sample's
            ``"negatives"`` list (e.g. the NegCLIP TSV), a fresh deterministic pick per epoch.
        seed: seed of that per-epoch pick.
        skip_stats: counters for samples dropped here (images that fail to decode, empty captions).

    Returns (from ``__call__``), with B kept samples, K = ``len(negative_types)`` and
    T = longest caption or negative in the batch, capped at ``max_length``:
        pixel_values (B, 3, H, W) float32, input_ids / attention_mask (B, T) int64,
        neg_input_ids / neg_attention_mask (K, B, T) int64, neg_mask (K, B) bool.
        Where ``neg_mask`` is False the negative rows repeat the caption's own tokens (a valid
        sequence for the text tower); the loss must ignore them.
    """

    def __init__(self, processor, negative_generator=None, max_length: int | None = None, train_transform=None,
                 use_dataset_negatives: bool = False, seed: int = 0, skip_stats: SkipStats | None = None,
                 min_image_side: int = DEFAULT_MIN_SIDE, max_image_pixels: int = DEFAULT_MAX_PIXELS):
        self.tokenizer = processor.tokenizer
        self.image_processor = processor.image_processor
        self.negative_generator = negative_generator
        limit = self.tokenizer.model_max_length
        limit = limit if limit and limit <= 100_000 else CLIP_CONTEXT_LENGTH  # unset limits are huge sentinels
        self.max_length = min(max_length, limit) if max_length else limit
        self.train_transform = train_transform
        self.use_dataset_negatives = use_dataset_negatives
        self.seed = seed
        self.skip_stats = skip_stats or SkipStats()
        self.image_limits = ImageLimits(min_image_side, max_image_pixels)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def negative_types(self) -> tuple[str, ...]:
        types = tuple(self.negative_generator.types) if self.negative_generator is not None else ()
        return types + ((DATASET_NEGATIVE_TYPE,) if self.use_dataset_negatives else ())

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Negatives are drawn afresh per epoch; visible to already running workers."""
        self._epoch.fill_(epoch)

    def _valid_sample(self, sample: dict) -> tuple[Image.Image, str] | None:
        image, caption = sample.get("image"), sample.get("caption")
        if isinstance(image, Image.Image) and image.mode == "RGB" and isinstance(caption, str) and caption.strip():
            return image, caption  # already decoded and counted by the source
        return prepare_sample(image, caption, self.skip_stats, self.image_limits)

    def _view_seed(self, epoch: int, image: Image.Image, caption: str) -> int:
        return zlib.crc32(f"{self.seed}|{epoch}|{image.size}|{caption}".encode())

    def _dataset_negative(self, candidates, caption: str, epoch: int) -> str | None:
        candidates = [c for c in candidates or [] if isinstance(c, str) and c.strip() and not _same_text(c, caption)]
        if not candidates:
            return None
        # crc32, not hash(): the pick must agree across processes and runs.
        rng = random.Random(zlib.crc32(f"{self.seed}|{epoch}|{caption}".encode()))
        return rng.choice(candidates)

    def _negatives(self, samples: list[dict], captions: list[str]) -> list[list[str | None]]:
        epoch = self.epoch
        lists = []
        if self.negative_generator is not None:
            generated = [list(per_type) for per_type in self.negative_generator(captions, epoch=epoch)]
            types = self.negative_generator.types
            if len(generated) != len(types) or any(len(per_type) != len(captions) for per_type in generated):
                raise ValueError(f"negative generator returned {len(generated)} lists for types {types}; "
                                 f"expected one per type, each of {len(captions)}")
            lists.extend(generated)
        if self.use_dataset_negatives:
            lists.append([self._dataset_negative(s.get("negatives"), c, epoch) for s, c in zip(samples, captions)])
        for per_type in lists:
            for b, negative in enumerate(per_type):
                if not isinstance(negative, str) or not negative.strip() or _same_text(negative, captions[b]):
                    per_type[b] = None
        return lists

    def _empty_batch(self, k: int) -> dict:
        size = getattr(self.image_processor, "crop_size", None) or self.image_processor.size
        long = dict(dtype=torch.int64)
        return {"pixel_values": torch.zeros(0, 3, size["height"], size["width"]),
                "input_ids": torch.zeros(0, 0, **long), "attention_mask": torch.zeros(0, 0, **long),
                "neg_input_ids": torch.zeros(k, 0, 0, **long), "neg_attention_mask": torch.zeros(k, 0, 0, **long),
                "neg_mask": torch.zeros(k, 0, dtype=torch.bool)}

    def __call__(self, samples: list[dict]) -> dict:
        kept = [(s, v) for s in samples if (v := self._valid_sample(s)) is not None]
        k = len(self.negative_types)
        if not kept:  # every sample was bad: an empty batch rather than an exception in a worker
            return self._empty_batch(k)
        samples = [s for s, _ in kept]
        images = [image for _, (image, _) in kept]
        captions = [caption for _, (_, caption) in kept]
        if self.train_transform is None:
            pixel_values = self.image_processor(images=images, return_tensors="pt")["pixel_values"]
        else:
            epoch = self.epoch
            images = [self.train_transform(image, self._view_seed(epoch, image, caption))
                      for image, caption in zip(images, captions)]
            pixel_values = self.image_processor(images=images, return_tensors="pt", do_resize=False,
                                                do_center_crop=False)["pixel_values"]

        negatives = self._negatives(samples, captions)
        present = [(t, b, text) for t, per_type in enumerate(negatives) for b, text in enumerate(per_type) if text]
        tokens = self.tokenizer(captions + [text for _, _, text in present], padding="longest", truncation=True,
                                max_length=self.max_length, return_tensors="pt")
        ids, mask = tokens["input_ids"], tokens["attention_mask"]
        batch = len(captions)
        neg_ids = ids[:batch].unsqueeze(0).repeat(k, 1, 1)
        neg_attn = mask[:batch].unsqueeze(0).repeat(k, 1, 1)
        neg_mask = torch.zeros(k, batch, dtype=torch.bool)
        for row, (t, b, _) in enumerate(present, start=batch):
            neg_ids[t, b], neg_attn[t, b], neg_mask[t, b] = ids[row], mask[row], True
        return {"pixel_values": pixel_values, "input_ids": ids[:batch], "attention_mask": mask[:batch],
                "neg_input_ids": neg_ids, "neg_attention_mask": neg_attn, "neg_mask": neg_mask}
