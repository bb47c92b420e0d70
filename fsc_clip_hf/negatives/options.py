"""The negative options shared by training (``FSCTrainingArguments``) and the command line, and the
one place they become a :class:`~.generator.HardNegativeGenerator`. Defaults are the authors'."""

from __future__ import annotations

import logging
from pathlib import Path

from .vocabulary import Vocabulary

logger = logging.getLogger(__name__)

REPLACE_VOCABULARIES = ("wordnet", "corpus")
# The options a negatives cache is computed with.
CANDIDATE_OPTIONS = ("replace_senses", "replace_count_memo", "replace_numbers")
CAPTION_FILE_SUFFIXES = (".txt", ".jsonl", ".json", ".csv", ".tsv")
# option -> (default, choices or type, help)
NEGATIVE_OPTIONS = {
    "replace_senses": ("all", ("all", "first"),
                       "Replace: WordNet candidates from every sense, weights summed, pronouns and proper nouns "
                       "replaced (all, the authors') or from the first sense only (first)."),
    "replace_count_memo": ("process", ("process", "word"),
                           "Replace (replace_senses all): a candidate weighs the WordNet count of the first lemma "
                           "of its name reached since the process began, after a fixed warm-up (process, the "
                           "authors' memo) or in the word's own search (word: more colours stay colours)."),
    "replace_numbers": ("never", ("never", "same_form"),
                        "Replace: numbers are never replaced (never, the authors'), or by another number of the "
                        "same form, digits by digits and words by words (same_form)."),
    "replace_vocabulary": ("wordnet", REPLACE_VOCABULARIES,
                           "Replace: any WordNet candidate (wordnet, the authors') or only words the training "
                           "captions use (corpus; see replace_vocabulary_file)."),
    "replace_vocabulary_file": (None, str,
                                "With replace_vocabulary corpus: a vocabulary file (python -m fsc_clip_hf.negatives "
                                "vocabulary), a caption file (.txt/.jsonl/.csv/.tsv) or a negatives cache; default: "
                                "negatives_cache_dir, else train_data when it is a caption file."),
    "replace_vocabulary_min_count": (1, int, "With replace_vocabulary corpus: occurrences a word needs."),
    "swap_skip_modifier_reorder": (False, bool,
                                   "Swap: never swap two modifiers of one word ('a small yellow star' -> 'a yellow "
                                   "small star' is still true); off in the authors' code."),
    "negatives_article_agreement": (False, bool,
                                    "Make 'a'/'an' before an edited phrase agree with it ('a orange couch' -> "
                                    "'an orange couch'); off in the authors' code."),
}


def resolve_vocabulary(replace_vocabulary: str, vocabulary_file: str | None = None, min_count: int = 1,
                       cache_dir: str | None = None, train_data: str | None = None,
                       caption_column: str | None = None) -> Vocabulary | None:
    """The vocabulary ``replace_vocabulary: corpus`` restricts replacements to, None for wordnet."""
    if replace_vocabulary not in REPLACE_VOCABULARIES:
        raise ValueError(f"replace_vocabulary must be one of {REPLACE_VOCABULARIES}, got {replace_vocabulary!r}")
    if replace_vocabulary == "wordnet":
        return None
    source = vocabulary_file or cache_dir
    if source is None and train_data and Path(train_data).suffix.lower() in CAPTION_FILE_SUFFIXES \
            and Path(train_data).is_file():
        source = train_data
    if source is None:
        raise ValueError("replace_vocabulary: corpus needs the training captions: set replace_vocabulary_file (a "
                         "caption file or the output of `python -m fsc_clip_hf.negatives vocabulary`) or "
                         "negatives_cache_dir")
    vocabulary = Vocabulary.load(source, min_count, caption_column or "caption")
    logger.info("replacements restricted to %r", vocabulary)
    return vocabulary


def generator_from_options(style: str, seed: int = 0, spacy_model: str = "en_core_web_sm",
                           cache_dir: str | None = None, train_data: str | None = None,
                           caption_column: str | None = None, **options):
    """A generator for ``style`` with the :data:`NEGATIVE_OPTIONS` given (the others at default)."""
    from .generator import HardNegativeGenerator

    unknown = set(options) - set(NEGATIVE_OPTIONS)
    if unknown:
        raise TypeError(f"unknown negative options {sorted(unknown)}")
    value = {name: options.get(name, default) for name, (default, _, _) in NEGATIVE_OPTIONS.items()}
    vocabulary = resolve_vocabulary(value["replace_vocabulary"], value["replace_vocabulary_file"],
                                    value["replace_vocabulary_min_count"], cache_dir, train_data, caption_column)
    return HardNegativeGenerator(
        style=style, seed=seed, spacy_model=spacy_model, cache_dir=cache_dir,
        replace_senses=value["replace_senses"], replace_count_memo=value["replace_count_memo"],
        replace_numbers=value["replace_numbers"], vocabulary=vocabulary,
        swap_skip_modifier_reorder=value["swap_skip_modifier_reorder"],
        article_agreement=value["negatives_article_agreement"])


def add_arguments(parser, candidate_only: bool = False) -> None:
    """Add the options to an argparse parser (``candidate_only``: those a cache is computed with)."""
    for name, (default, kind, help_text) in NEGATIVE_OPTIONS.items():
        if candidate_only and name not in CANDIDATE_OPTIONS:
            continue
        if kind is bool:
            parser.add_argument(f"--{name}", action="store_true", help=help_text)
        elif isinstance(kind, tuple):
            parser.add_argument(f"--{name}", default=default, choices=kind, help=help_text)
        else:
            parser.add_argument(f"--{name}", default=default, type=kind, help=help_text)
