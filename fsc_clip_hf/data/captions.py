"""Captions: raw values (str, bytes, numbers, None) to the text that open_clip's tokenizer would see.

:func:`normalize_caption` is the one text normalisation of the project, applied before every
tokenizer and every spaCy parse (training collator, negative generators, evaluation captions). It is
open_clip's ``basic_clean`` + ``whitespace_clean`` (``ftfy.fix_text``, ``html.unescape`` twice,
whitespace collapsed, ends stripped), without the lower-casing, which the CLIP tokenizer does itself
and the negative generators must not do. So ``&amp;``, curly quotes, ligatures, full-width letters,
mojibake and lone surrogates become what the authors' tokenizer made of them, and zero-width
characters stay, as they do there. It is idempotent (ftfy un-escapes HTML until nothing is left;
the one exception is a caption containing ``<`` with entities escaped three times or more).

Two bounds keep one caption from stopping a run: lone UTF-16 surrogates become U+FFFD (as ftfy does)
before anything parses the text, and a caption longer than :data:`MAX_CAPTION_CHARS` is cut there,
after collapsing its whitespace. The CLIP tokenizer keeps 75 tokens of at most 32 characters each,
so the cut never changes the tokens, unless one word (a run without spaces) crosses it.

:func:`clean_caption` adds decoding and accounting for training sources: bytes in other encodings,
mojibake, control characters and surrogates are repaired and reported; captions with no usable text
raise ``BadSample``.
"""

from __future__ import annotations

import html
import math
import re

import ftfy

from .skips import BadSample

# 75 content tokens x 32 characters (the longest CLIP BPE token) + one space each is 2,475.
MAX_CAPTION_CHARS = 4096
# Printable ASCII without "&" is left alone by ftfy and html.unescape: only whitespace to collapse.
_NEEDS_FIXING = re.compile(r"[^\x20-\x7e]|&")
# The ftfy steps that repair broken data (rather than normalise good text): they decide whether a
# caption counts as repaired.
_REPAIRS_ONLY = ftfy.TextFixerConfig(
    unescape_html=False, fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False,
    fix_line_breaks=False, normalization=None, explain=False)


def _bound(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_CAPTION_CHARS:
        return text, False
    return " ".join(text.split())[:MAX_CAPTION_CHARS], True


def normalize_caption(text: str) -> str:
    """``text`` as open_clip's tokenizer cleans it (case kept), bounded to ``MAX_CAPTION_CHARS``."""
    text = _bound(text)[0]
    if _NEEDS_FIXING.search(text) is None:
        return " ".join(text.split())
    text = html.unescape(html.unescape(ftfy.fix_text(text)))
    return " ".join(text.split())


def _decode_bytes(raw: bytes) -> tuple[str, str | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "caption_recoded"
    except UnicodeDecodeError as err:
        raise BadSample("undecodable_caption", repr(raw[:60])) from err


def clean_caption(value) -> tuple[str, str | None]:
    """Return ``(caption, repair)``: the normalised caption (:func:`normalize_caption`) and the
    repair reason (``caption_recoded``, ``caption_repaired``, ``caption_truncated``), or None.

    Raises:
        BadSample: missing_caption (None, NaN, non-text), undecodable_caption, empty_caption.
    """
    repair = None
    if isinstance(value, (bytes, bytearray)):
        text, repair = _decode_bytes(bytes(value))
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)  # a numeric caption ("1984") parsed as a number by a table reader
    elif isinstance(value, float) and not math.isnan(value):
        text = repr(value)
    else:
        raise BadSample("missing_caption", f"caption value of type {type(value).__name__}")

    bounded, cut = _bound(text)
    if _NEEDS_FIXING.search(bounded) is not None and ftfy.fix_text(bounded, _REPAIRS_ONLY) != bounded:
        repair = repair or "caption_repaired"  # mojibake, surrogates, control characters, terminal escapes
    elif cut:
        repair = repair or "caption_truncated"
    text = normalize_caption(bounded)
    if not text:
        raise BadSample("empty_caption")
    return text, repair
