"""The negative options shared by training (``FSCTrainingArguments``) and the command line, and the
one place they become a :class:`~.generator.HardNegativeGenerator`. Defaults are the authors'."""

from __future__ import annotations

import logging
import typing
from dataclasses import dataclass, fields
from pathlib import Path

from ..options import NEGATIVES, Bounds, check_values, info, option
from .numbers import REPLACE_NUMBERS
from .vocabulary import Vocabulary
from .wordnet_senses import REPLACE_COUNT_MEMOS, REPLACE_SENSES

logger = logging.getLogger(__name__)

REPLACE_VOCABULARIES = ("wordnet", "corpus")
# The options a negatives cache is computed with.
CANDIDATE_OPTIONS = ("replace_senses", "replace_count_memo", "replace_numbers")
CAPTION_FILE_SUFFIXES = (".txt", ".jsonl", ".json", ".csv", ".tsv")


@dataclass
class NegativeOptions:
    """The generator's options; the defaults are the authors'. ``FSCTrainingArguments`` builds on this
    declaration, and the ``python -m fsc_clip_hf.negatives`` commands add it with :func:`add_arguments`."""

    replace_senses: str = option(
        "all", "Replace: WordNet candidates from every sense, weights summed, pronouns and proper nouns replaced "
               "(all, the authors') or from the first sense only (first).",
        group=NEGATIVES, recorded=True, choices=REPLACE_SENSES)
    replace_count_memo: str = option(
        "process", "Replace (replace_senses all): a candidate weighs the WordNet count of the first lemma of its "
                   "name reached since the process began, after a fixed warm-up (process, the authors' memo) or "
                   "in the word's own search (word: more colours stay colours).",
        group=NEGATIVES, recorded=True, choices=REPLACE_COUNT_MEMOS)
    replace_numbers: str = option(
        "never", "Replace: numbers are never replaced (never, the authors'), or by another number of the same "
                 "form, digits by digits and words by words (same_form).",
        group=NEGATIVES, recorded=True, choices=REPLACE_NUMBERS)
    replace_vocabulary: str = option(
        "wordnet", "Replace: any WordNet candidate (wordnet, the authors') or only words the training captions "
                   "use (corpus; see replace_vocabulary_file).",
        group=NEGATIVES, recorded=True, choices=REPLACE_VOCABULARIES)
    replace_vocabulary_file: str | None = option(
        None, "With replace_vocabulary corpus: a vocabulary file (python -m fsc_clip_hf.negatives vocabulary), a "
              "caption file (.txt/.jsonl/.csv/.tsv) or a negatives cache; default: negatives_cache_dir, else "
              "train_data when it is a caption file.", group=NEGATIVES, recorded=True, path=True)
    replace_vocabulary_min_count: int = option(
        1, "With replace_vocabulary corpus: occurrences a word needs.", group=NEGATIVES, recorded=True,
        bounds=Bounds(1))
    swap_skip_modifier_reorder: bool = option(
        False, "Swap: never swap two modifiers of one word ('a small yellow star' -> 'a yellow small star' is "
               "still true); off in the authors' code.", group=NEGATIVES, recorded=True)
    negatives_article_agreement: bool = option(
        False, "Make 'a'/'an' before an edited phrase agree with it ('a orange couch' -> 'an orange couch'); off "
               "in the authors' code.", group=NEGATIVES, recorded=True)


VOCABULARY_NEEDED = ("replace_vocabulary: corpus needs the training captions: set replace_vocabulary_file (a caption "
                     "file or the output of `python -m fsc_clip_hf.negatives vocabulary`) or negatives_cache_dir")


def vocabulary_source(vocabulary_file: str | None, cache_dir: str | None, train_data: str | None,
                      must_exist: bool = True) -> str | None:
    """Where ``replace_vocabulary: corpus`` counts its words: the vocabulary file, else the negatives cache,
    else ``train_data`` when it is a caption file (named so, and existing unless not ``must_exist``: a
    check made before the files are looked at leaves a missing one to the pre-flight); None when there
    is none of these."""
    if vocabulary_file or cache_dir:
        return vocabulary_file or cache_dir
    if train_data and Path(train_data).suffix.lower() in CAPTION_FILE_SUFFIXES \
            and (not must_exist or Path(train_data).is_file()):
        return train_data
    return None


def resolve_vocabulary(replace_vocabulary: str, vocabulary_file: str | None = None, min_count: int = 1,
                       cache_dir: str | None = None, train_data: str | None = None,
                       caption_column: str | None = None) -> Vocabulary | None:
    """The vocabulary ``replace_vocabulary: corpus`` restricts replacements to, None for wordnet."""
    if replace_vocabulary not in REPLACE_VOCABULARIES:
        raise ValueError(f"replace_vocabulary must be one of {REPLACE_VOCABULARIES}, got {replace_vocabulary!r}")
    if replace_vocabulary == "wordnet":
        return None
    source = vocabulary_source(vocabulary_file, cache_dir, train_data)
    if source is None:
        raise ValueError(VOCABULARY_NEEDED)
    vocabulary = Vocabulary.load(source, min_count, caption_column or "caption")
    logger.info("replacements restricted to %r", vocabulary)
    return vocabulary


def negative_options(source) -> NegativeOptions:
    """The :class:`NegativeOptions` read off ``source`` (training arguments, a parsed command line)."""
    return NegativeOptions(**{f.name: getattr(source, f.name) for f in fields(NegativeOptions)})


def generator_from_options(style: str, seed: int = 0, spacy_model: str = "en_core_web_sm",
                           cache_dir: str | None = None, train_data: str | None = None,
                           caption_column: str | None = None, options: NegativeOptions | None = None):
    """A generator for ``style`` with ``options`` (default: the authors')."""
    from .generator import HardNegativeGenerator

    value = options or NegativeOptions()
    check_values(value)
    vocabulary = resolve_vocabulary(value.replace_vocabulary, value.replace_vocabulary_file,
                                    value.replace_vocabulary_min_count, cache_dir, train_data, caption_column)
    return HardNegativeGenerator(
        style=style, seed=seed, spacy_model=spacy_model, cache_dir=cache_dir,
        replace_senses=value.replace_senses, replace_count_memo=value.replace_count_memo,
        replace_numbers=value.replace_numbers, vocabulary=vocabulary,
        swap_skip_modifier_reorder=value.swap_skip_modifier_reorder,
        article_agreement=value.negatives_article_agreement)


def add_arguments(parser, candidate_only: bool = False) -> None:
    """Add the options to an argparse parser (``candidate_only``: those a cache is computed with)."""
    hints = typing.get_type_hints(NegativeOptions)
    for f in fields(NegativeOptions):
        if candidate_only and f.name not in CANDIDATE_OPTIONS:
            continue
        rule, text, kind = info(f), f.metadata["help"], hints[f.name]
        if kind is bool:
            parser.add_argument(f"--{f.name}", action="store_true", help=text)
        elif rule.choices is not None:
            parser.add_argument(f"--{f.name}", default=f.default, choices=rule.choices, help=text)
        else:
            parser.add_argument(f"--{f.name}", default=f.default, type=int if kind is int else str, help=text)
