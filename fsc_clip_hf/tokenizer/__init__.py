"""The CLIP tokenizer of openai and open_clip, built offline from the vocabulary shipped in this package.

``bpe_simple_vocab_16e6.txt.gz`` is OpenAI's CLIP BPE vocabulary (MIT licence, notice in
``LICENSE-openai-clip.txt`` beside it), byte for byte the file open_clip ships. It becomes a
``transformers.CLIPTokenizer`` as follows: the merges are the file's lines 1 to 48,894 (line 0 is a
header); the vocabulary is the 256 byte symbols, the same symbols with the end-of-word suffix ``</w>``,
one token per merge in merge order, then ``<|startoftext|>`` (49406) and ``<|endoftext|>`` (49407).
That gives openai's and open_clip's token ids (checked against open_clip's tokenizer in the tests)::

    from fsc_clip_hf.tokenizer import clip_tokenizer
    tokenizer = clip_tokenizer()                  # no network: the vocabulary comes with the package
    tokenizer.save_pretrained("checkpoints/x")   # makes a checkpoint folder complete

The file is shipped rather than taken from the ``open_clip_torch`` wheel at install time: a pip install
has no post-install step to extract it, and depending on ``open_clip_torch`` would pull in torchvision
builds that do not always import beside the user's torch.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

VOCABULARY_FILE = Path(__file__).with_name("bpe_simple_vocab_16e6.txt.gz")
NUM_MERGES = 49152 - 256 - 2  # openai's vocabulary: 49,408 tokens = 2 x 256 byte symbols + merges + 2 specials
BOS_TOKEN, EOS_TOKEN = "<|startoftext|>", "<|endoftext|>"
CONTEXT_LENGTH = 77
END_OF_WORD = "</w>"


@lru_cache(maxsize=1)
def clip_vocabulary() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """``(vocab, merges)`` of openai's CLIP BPE: token → id (49,408 entries) and the merges in rank order."""
    lines = gzip.decompress(VOCABULARY_FILE.read_bytes()).decode("utf-8").split("\n")
    merges = tuple(tuple(line.split()) for line in lines[1:1 + NUM_MERGES])
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [symbol + END_OF_WORD for symbol in symbols] + ["".join(m) for m in merges]
    vocab = {token: index for index, token in enumerate(tokens + [BOS_TOKEN, EOS_TOKEN])}
    if len(vocab) != len(tokens) + 2 or any(len(merge) != 2 for merge in merges):
        raise RuntimeError(f"{VOCABULARY_FILE} is not openai's CLIP vocabulary (damaged package?)")
    return vocab, merges


def clip_tokenizer(model_max_length: int = CONTEXT_LENGTH) -> CLIPTokenizer:
    """openai's CLIP tokenizer (as ``openai/clip-vit-base-patch32`` has it), built without any download.

    End-of-text also pads and stands for unknown text, as in openai's configuration.
    """
    vocab, merges = clip_vocabulary()
    return CLIPTokenizer(vocab=dict(vocab), merges=list(merges), model_max_length=model_max_length,
                         bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, pad_token=EOS_TOKEN, unk_token=EOS_TOKEN)


def is_clip_vocabulary(tokenizer) -> bool:
    """Whether ``tokenizer`` has exactly openai's CLIP vocabulary (so open_clip's own tokenizer matches it)."""
    return len(tokenizer) == len(clip_vocabulary()[0]) and tokenizer.get_vocab() == clip_vocabulary()[0]
