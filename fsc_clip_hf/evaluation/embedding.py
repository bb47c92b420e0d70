"""Embedding images and captions once per run, batched, split across processes.

:class:`CLIPEmbedder` wraps any ``CLIPModel``-compatible model (``get_image_features`` /
``get_text_features``) and its processor. It keeps an embedding cache keyed by image source key and by
a caption's token ids: asking again for something already embedded costs nothing, so subsets and
benchmarks that share images or captions reuse them. Captions that tokenise identically (the same words
in another case or spacing, or two long captions that differ only after the 77th token) share one
embedding: the model cannot tell them apart, so they tie exactly, and no outcome depends on the padding
noise of the batches they happened to be embedded in. Each benchmark's tie rule then decides the item.

Under ``accelerate launch`` / ``torchrun`` (or inside a distributed Trainer) the items not yet cached are
split into contiguous chunks, one per process; each process embeds its chunk and the chunks are gathered,
so every process ends with the same cache. Scoring then runs identically everywhere and only the main
process writes files. The process group is read from ``torch.distributed`` itself (whoever set it up:
accelerate's ``PartialState``, the Trainer, torchrun), so that a gather is never skipped by mistake.

An image that cannot be opened or decoded does not stop the run: its key goes to ``unreadable`` (on every
process, after the gather) and its row is NaN, so that a score using it by mistake cannot look valid.
:func:`fsc_clip_hf.evaluation.scoring.drop_unreadable` leaves the items that use such images out and
counts them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..data.captions import normalize_caption
from .images import ImageSource

logger = logging.getLogger(__name__)


def _pooled(output) -> torch.Tensor:
    # transformers 5 returns BaseModelOutputWithPooling (projected embedding in pooler_output);
    # older versions and simple stand-ins return the tensor itself.
    return output.pooler_output if hasattr(output, "pooler_output") else output


class _ImageDataset(Dataset):
    """Opens and preprocesses images in DataLoader workers; a failure becomes a flag, not a crash,
    so that every process reaches the gather and learns of it."""

    def __init__(self, sources: Sequence[ImageSource], processor, placeholder: torch.Tensor):
        self.sources, self.processor, self.placeholder = sources, processor, placeholder

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, bool]:
        try:
            image = self.sources[index].open()
            return self.processor(images=[image], return_tensors="pt")["pixel_values"][0], True
        except Exception as error:  # noqa: BLE001 - any decoder error is recorded by key
            logger.debug("cannot read %s: %s", self.sources[index].key, error)
            return self.placeholder, False


def _stack(batch: list[tuple[torch.Tensor, bool]]) -> tuple[torch.Tensor, torch.Tensor]:
    pixels, ok = zip(*batch)
    return torch.stack(pixels), torch.tensor(ok)


class CLIPEmbedder:
    """L2-normalised image and caption embeddings of one model, cached by key.

    Args:
        model: a ``CLIPModel`` (or anything with ``get_image_features(pixel_values=...)`` and
            ``get_text_features(**tokens)``).
        processor: its ``CLIPProcessor`` (images → ``pixel_values``; text → ``input_ids``, ...).
        batch_size: images or captions per forward pass.
        num_workers: DataLoader workers that open and preprocess images.
        device: where the model runs; default: where its parameters are (CPU for parameterless stand-ins).
        show_progress: tqdm bars on the main process.
    """

    def __init__(self, model, processor, *, batch_size: int = 64, num_workers: int = 0,
                 device: torch.device | str | None = None, show_progress: bool = True):
        self.model, self.processor = model, processor
        self.batch_size, self.num_workers = batch_size, num_workers
        parameter = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        self.device = torch.device(device) if device is not None else (
            parameter.device if parameter is not None else torch.device("cpu"))
        # Pixels follow the model's floating dtype (bf16/fp16 checkpoints); token ids stay integers.
        self.pixel_dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else None
        distributed = dist.is_available() and dist.is_initialized()
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
        self.show_progress = show_progress and self.rank == 0
        self.image_cache: dict[str, torch.Tensor] = {}
        self.text_cache: dict[tuple, torch.Tensor] = {}  # keyed by token ids
        self.text_keys: dict[str, tuple] = {}  # caption -> its token ids
        self.unreadable: set[str] = set()  # keys of images that could not be opened or decoded
        self._placeholder: torch.Tensor | None = None

    # ------------------------------------------------------------------ public

    def images(self, sources: Sequence[ImageSource]) -> torch.Tensor:
        """(N, D) float32 embeddings of ``sources`` on the CPU, in order; NaN rows for the unreadable."""
        todo = list({source.key: source for source in sources if source.key not in self.image_cache}.values())
        if todo:
            rows = self._split_and_gather(todo, self._embed_images)
            readable = rows[:, -1].bool()
            vectors = rows[:, :-1].masked_fill(~readable.unsqueeze(1), float("nan"))
            self.image_cache.update(zip((source.key for source in todo), vectors))
            failed = [source.key for source, ok in zip(todo, readable) if not ok]
            self.unreadable.update(failed)
        return self._stack_cached(self.image_cache, [source.key for source in sources])

    def texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, D) float32 embeddings of ``texts`` on the CPU, in order; captions with the same token ids get
        the same row."""
        # Sorted by length so that a batch pads little, then by text: every process must list them in
        # the same order (a set's order changes with each process's hash seed).
        new = sorted({text for text in texts if text not in self.text_keys}, key=lambda text: (len(text), text))
        if new:
            self.text_keys.update(zip(new, self._token_keys(new)))
        todo: dict[tuple, str] = {}  # one caption per token sequence not embedded yet
        for text in new:
            if self.text_keys[text] not in self.text_cache:
                todo.setdefault(self.text_keys[text], text)
        if todo:
            self.text_cache.update(zip(todo, self._split_and_gather(list(todo.values()), self._embed_texts)))
        return self._stack_cached(self.text_cache, [self.text_keys[text] for text in texts])

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _stack_cached(cache: dict, keys: list) -> torch.Tensor:
        if not keys:
            return torch.zeros(0, 0)
        return torch.stack([cache[key] for key in keys])

    def _split_and_gather(self, todo: list, embed) -> torch.Tensor:
        """Embed ``todo`` with its work split over the processes; every process gets all rows.

        Each process takes a contiguous chunk of ``ceil(len / world)`` items, padding a short chunk with
        copies of the first item so that all chunks have one shape (the copies are dropped after the
        gather). ``embed`` returns, and this returns, (n, D + 1) rows for images (the embedding and a
        success flag) and (n, D) for captions.
        """
        if self.world == 1:
            return embed(todo)
        chunk = math.ceil(len(todo) / self.world)
        mine = todo[self.rank * chunk:(self.rank + 1) * chunk]
        mine = mine + [todo[0]] * (chunk - len(mine))
        local = embed(mine)
        # NCCL gathers device tensors; gloo (CPU runs) gathers CPU tensors.
        device = self.device if "nccl" in str(dist.get_backend()) else torch.device("cpu")
        parts = [torch.empty_like(local, device=device) for _ in range(self.world)]
        dist.all_gather(parts, local.to(device))
        return torch.cat(parts).cpu()[: len(todo)]

    @torch.inference_mode()
    def _embed_images(self, sources: list[ImageSource]) -> torch.Tensor:
        if self._placeholder is None:
            self._placeholder = self.processor(images=[Image.new("RGB", (32, 32))], return_tensors="pt")[
                "pixel_values"][0]
        loader = DataLoader(_ImageDataset(sources, self.processor, self._placeholder), batch_size=self.batch_size,
                            num_workers=self.num_workers, collate_fn=_stack)
        chunks = []
        for pixels, ok in tqdm(loader, desc="embedding images", disable=not self.show_progress, leave=False):
            pixels = pixels.to(self.device, dtype=self.pixel_dtype or pixels.dtype)
            features = _pooled(self.model.get_image_features(pixel_values=pixels)).float()
            chunks.append(torch.cat([F.normalize(features, dim=-1), ok.to(features).unsqueeze(1)], dim=1))
        return torch.cat(chunks).cpu()

    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """The processor's tokens of ``texts``, padded to the longest and truncated to the model's length."""
        texts = [normalize_caption(text) for text in texts]  # as open_clip's tokenizer cleans them
        return self.processor(text=texts, padding=True, truncation=True, return_tensors="pt")

    def _token_keys(self, texts: list[str]) -> list[tuple]:
        """Each caption's token ids (padding left out): the text cache's key."""
        keys = []
        step = 8 * self.batch_size
        for start in range(0, len(texts), step):
            tokens = self._tokenize(texts[start:start + step])
            ids, mask = tokens["input_ids"], tokens.get("attention_mask")
            for index, row in enumerate(ids):
                keys.append(tuple((row if mask is None else row[mask[index].bool()]).tolist()))
        return keys

    @torch.inference_mode()
    def _embed_texts(self, texts: list[str]) -> torch.Tensor:
        chunks = []
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, desc="embedding captions", disable=not self.show_progress, leave=False):
            tokens = self._tokenize(texts[start:start + self.batch_size])
            tokens = {name: value.to(self.device) for name, value in tokens.items()}
            features = _pooled(self.model.get_text_features(**tokens)).float()
            chunks.append(F.normalize(features, dim=-1))
        return torch.cat(chunks).cpu()
