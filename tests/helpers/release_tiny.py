"""Tiny CLIP pieces for the release tests, built offline: a word-level CLIPTokenizer written as
vocab.json + merges.txt, a 32-pixel image processor and a random two-layer CLIPModel."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

# Includes the words of the zero-shot pipeline's default template ("This is a photo of {}.").
WORDS = ("a", "photo", "of", "this", "is", ".", "red", "green", "blue", "cat", "dog", "square", "circle")
IMAGE_SIZE = 32


def write_word_level_tokenizer(directory: Path) -> Path:
    """Write vocab.json + merges.txt of a BPE whose merges rebuild exactly the words of WORDS.

    CLIP's BPE marks the end of a word with ``</w>``; each word gets the left-to-right merges that
    assemble it from its characters, so every word of WORDS is one token. The special tokens come
    last: the end-of-text token has the highest id, as in openai's vocabulary.
    """
    vocab: dict[str, int] = {}
    merges: list[str] = []
    for word in WORDS:
        symbols = [*word[:-1], word[-1] + "</w>"]
        for symbol in symbols:
            vocab.setdefault(symbol, len(vocab))
        merged = symbols[0]
        for symbol in symbols[1:]:
            if f"{merged} {symbol}" not in merges:
                merges.append(f"{merged} {symbol}")
            merged += symbol
            vocab.setdefault(merged, len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return directory


def tiny_processor(directory: Path) -> CLIPProcessor:
    tokenizer = CLIPTokenizer.from_pretrained(write_word_level_tokenizer(directory), model_max_length=77)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    return CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def tiny_clip_config(tokenizer) -> CLIPConfig:
    return CLIPConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=dict(
            image_size=IMAGE_SIZE, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2,
        ),
        projection_dim=16,
    )


def tiny_clip(processor: CLIPProcessor, seed: int = 0) -> CLIPModel:
    torch.manual_seed(seed)
    return CLIPModel(tiny_clip_config(processor.tokenizer)).eval()


def solid_image(rgb: tuple[int, int, int], size: tuple[int, int] = (40, 48)) -> Image.Image:
    return Image.new("RGB", size, rgb)
