"""Loading a CLIP processor, and refusing one that cannot serve the model.

transformers 5 does not fail on a folder without tokenizer files: ``CLIPProcessor.from_pretrained`` (and
``CLIPTokenizer.from_pretrained``) build a placeholder tokenizer of two tokens, every caption then
becomes the same ids and every benchmark runs at chance without an error. :func:`check_processor`
catches that and any other tokenizer that does not belong to the model: a vocabulary whose size is not
the number of rows of the model's token embedding, a known sentence encoded to special tokens only, or
an end-of-text id other than the one the model pools at. Training, ``recipes/eval.py``, WiSE-FT and the
open_clip converter call it before any work.
"""

from __future__ import annotations

import logging

from transformers import CLIPProcessor

from .image_processing import OPEN_CLIP_PREPROCESS, OpenCLIPImageProcessor

logger = logging.getLogger(__name__)

KNOWN_SENTENCE = "a photo of a dog on the left of a red car."
LEGACY_EOS_TOKEN_ID = 2  # CLIP configs with eos_token_id 2 pool at argmax(input_ids) instead (transformers' rule)


class TokenizerMismatchError(ValueError):
    """The tokenizer cannot be the model's: using it would silently give meaningless text features."""


# How images become pixels: as the folder's image processor config says, open_clip's evaluation transform
# (the FSC-CLIP authors' and the benchmarks' published numbers), or transformers' CLIPImageProcessor.
PIXELS = ("folder", "open_clip", "transformers")


def load_processor(path: str, text_config=None, *, option: str = "--processor_name_or_path",
                   pixels: str = "folder") -> CLIPProcessor:
    """``CLIPProcessor.from_pretrained(path)`` with the pixels ``pixels`` asks for (see ``PIXELS``;
    :mod:`fsc_clip_hf.image_processing`), checked against ``text_config`` if given.

    ``option`` says, in the error, how the user gives another tokenizer (e.g. ``--processor_name_or_path``).
    """
    if pixels not in PIXELS:
        raise ValueError(f"pixels={pixels!r}: expected one of {PIXELS}")
    processor = CLIPProcessor.from_pretrained(path)
    # The plain load is transformers' pixels whatever the folder asks for.
    if pixels == "open_clip" or (pixels == "folder" and getattr(processor.image_processor, OPEN_CLIP_PREPROCESS, False)):
        # Read from the folder again rather than converted: transformers may have picked another backend.
        processor = CLIPProcessor(image_processor=OpenCLIPImageProcessor.from_pretrained(path),
                                  tokenizer=processor.tokenizer)
    if text_config is not None:
        check_processor(processor, text_config, source=path, option=option)
    logger.info("processor from %s: %s, %d-token %s", path, type(processor.image_processor).__name__,
                len(processor.tokenizer), type(processor.tokenizer).__name__)
    return processor


def check_processor(processor, text_config, *, source: str, option: str) -> None:
    """Raise :class:`TokenizerMismatchError` unless the processor's tokenizer fits the model.

    Args:
        processor: a ``CLIPProcessor`` or a tokenizer.
        text_config: the model's ``CLIPTextConfig`` (``model.config.text_config``).
        source: where the processor came from, for the message.
        option: how the user gives another tokenizer (an option name), for the message.
    """
    tokenizer = getattr(processor, "tokenizer", processor)
    problem = tokenizer_problem(tokenizer, text_config)
    if problem is None:
        return
    raise TokenizerMismatchError(
        f"The tokenizer from {source} cannot be this model's: {problem}. A folder without tokenizer files gives "
        f"such a placeholder (transformers does not fail on it). Give the model its tokenizer ({option}): a Hub id "
        "such as openai/clip-vit-base-patch32, or a folder into which openai's CLIP tokenizer was saved offline "
        "with `python -c \"from fsc_clip_hf.tokenizer import clip_tokenizer; "
        "clip_tokenizer().save_pretrained('FOLDER')\"`."
    )


def tokenizer_problem(tokenizer, text_config) -> str | None:
    """What makes ``tokenizer`` unusable with a text tower of ``text_config``, or None."""
    rows = text_config.vocab_size
    if len(tokenizer) != rows:
        return f"it has {len(tokenizer)} tokens where the model's text embedding has {rows} rows"
    ids = tokenizer(KNOWN_SENTENCE)["input_ids"]
    if set(ids) <= set(tokenizer.all_special_ids):
        return f"it encodes {KNOWN_SENTENCE!r} to special tokens only ({ids})"
    eos = text_config.eos_token_id
    if eos != LEGACY_EOS_TOKEN_ID and eos != tokenizer.eos_token_id:
        return (f"its end-of-text id is {tokenizer.eos_token_id} where the model pools the text at token id {eos} "
                "(text_config.eos_token_id)")
    return None
