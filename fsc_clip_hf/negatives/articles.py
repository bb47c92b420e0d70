"""Indefinite-article agreement: after an edit, "a" before a vowel sound becomes "an" and back.

The authors splice replacement words in without touching the article ("a orange couch"), a grammar
cue a model can learn instead of composition; ``article_agreement`` fixes the article in front of
every edited span. Pronunciation is guessed from spelling with the usual exceptions (an hour, a
unicorn, a one-way street, an SUV).
"""

from __future__ import annotations

import re

_ARTICLE_BEFORE = re.compile(r"(?:^|(?<=[\s(\"']))(a|an)(\s+)$", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[\w'-]+")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")
_VOWEL_LETTER_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "ute", "uku", "ura", "uri", "uro", "ufo", "eu",
                                 "ewe", "one", "once", "ouija")
# Letters whose name starts with a vowel sound, for abbreviations read letter by letter.
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")


def indefinite_article(word: str) -> str:
    """"a" or "an" for the word that follows the article."""
    if not word:
        return "a"
    if word.isupper() and 1 < len(word) <= 5 and word.isalpha():
        return "an" if word[0] in _VOWEL_SOUND_LETTERS else "a"
    lower = word.lower()
    if lower[0].isdigit():
        digits = lower.split(".")[0].replace(",", "")
        eleven = digits[:2] in ("11", "18") and len(digits) in (2, 5, 6)
        return "an" if digits[0] == "8" or eleven else "a"
    if lower.startswith(_SILENT_H):
        return "an"
    if lower.startswith(_VOWEL_LETTER_CONSONANT_SOUND):
        return "a"
    return "an" if lower[0] in "aeiou" else "a"


def agree_article(text: str, start: int) -> str:
    """``text`` with the indefinite article right before position ``start`` (if any) made to agree
    with the word that starts there; the article keeps its capitalisation."""
    match = _ARTICLE_BEFORE.search(text, 0, start)
    word = _FIRST_WORD.match(text, start)
    if match is None or word is None:
        return text
    article = match.group(1)
    wanted = indefinite_article(word.group())
    if article.lower() == wanted:
        return text
    if article.isupper() and len(article) > 1:
        wanted = wanted.upper()
    elif article[0].isupper():
        wanted = wanted.capitalize()
    return text[:match.start(1)] + wanted + text[match.end(1):]
