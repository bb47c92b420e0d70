"""Caption cleaning: raw caption values (str, bytes, numbers, None) to clean single-line text.

Web captions arrive in mixed encodings: non-UTF-8 bytes, UTF-8 read as Windows-1252 ("cafÃ©"),
U+FFFD left by a lossy decode, control characters. Those are repaired and reported; captions with
no usable text raise ``BadSample``.
"""

from __future__ import annotations

import math
import re
import unicodedata

from .skips import BadSample

_WHITESPACE = re.compile(r"\s+")
# A UTF-8 lead byte followed by a continuation byte, as they read when decoded as Windows-1252.
_LEADS = bytes(range(0xC2, 0xF5)).decode("cp1252")
_CONTINUATIONS = bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")
_MOJIBAKE_HINT = re.compile(f"[{re.escape(_LEADS)}][{re.escape(_CONTINUATIONS)}]")


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


def _fix_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that were decoded as Windows-1252; leave genuine Latin text alone."""
    if not _MOJIBAKE_HINT.search(text):
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _drop_control(text: str) -> str:
    """Control characters become spaces; invisible format characters (zero-width, soft hyphen) go."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc" and not ch.isspace():
            out.append(" ")
        elif category != "Cf":
            out.append(ch)
    return "".join(out)


def clean_caption(value) -> tuple[str, str | None]:
    """Return ``(caption, repair)``: the cleaned caption and the repair reason, or None if none was needed.

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

    fixed = _fix_mojibake(text).replace("\ufffd", " ")
    fixed = _drop_control(fixed)
    if fixed != text:
        repair = repair or "caption_repaired"
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", fixed)).strip()
    if not text:
        raise BadSample("empty_caption")
    return text, repair
