"""A word-level tokenizer for a closed vocabulary, saved as a real CLIP BPE tokenizer.

No CLIP vocabulary can be downloaded here, so we build ``vocab.json`` / ``merges.txt`` ourselves in
CLIP's byte-level BPE format: the 256 byte symbols (alone and with the ``</w>`` end-of-word
suffix) so that any text still tokenizes, then merges that turn every vocabulary word into one
token. Special tokens come last, as in CLIP, so that ``<|endoftext|>`` has the highest id (CLIP
configs that pool at ``argmax(input_ids)`` then find it).
"""

from __future__ import annotations

import json
import os

from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_SUFFIX = "</w>"


def _apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """BPE on one word: repeatedly merge the adjacent pair of lowest rank (as ``tokenizers`` does)."""
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        best = min((rank for rank, _ in pairs if rank is not None), default=None)
        if best is None:
            break
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and ranks.get((symbols[i], symbols[i + 1])) == best:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def build_vocab_and_merges(words: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges under which each of ``words`` (lowercase ASCII letters) is one token.

    Merges are only ever appended, and an appended merge ranks after all earlier ones, so it cannot
    change how an already-handled word is merged: each word is tokenized with the merges so far and
    whatever pieces remain are joined left to right by new merges.
    """
    byte_symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(byte_symbols + [s + _SUFFIX for s in byte_symbols])}
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    for word in words:
        symbols = list(word[:-1]) + [word[-1] + _SUFFIX]
        pieces = _apply_merges(symbols, ranks)
        joined = pieces[0]
        for piece in pieces[1:]:
            ranks[(joined, piece)] = len(merges)
            merges.append((joined, piece))
            joined += piece
            vocab.setdefault(joined, len(vocab))
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    return vocab, merges


def save_word_tokenizer(words: list[str], out_dir: str, model_max_length: int = 77) -> CLIPTokenizer:
    """Write vocab.json, merges.txt and the tokenizer config to ``out_dir``; return the loaded tokenizer.

    Raises:
        RuntimeError: if the saved tokenizer does not give every word a single token.
    """
    vocab, merges = build_vocab_and_merges(words)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length,
                              bos_token=BOS, eos_token=EOS, pad_token=EOS, unk_token=EOS)
    tokenizer.save_pretrained(out_dir)
    loaded = CLIPTokenizer.from_pretrained(out_dir)
    split = [w for w in words if len(loaded.tokenize(w)) != 1]
    if split:
        raise RuntimeError(f"word-level tokenizer splits {split[:5]}")
    return loaded
