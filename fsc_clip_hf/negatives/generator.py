"""HardNegativeGenerator: hard-negative captions of one style, reproducible per seed and epoch."""

from __future__ import annotations

import hashlib
import marshal
import random
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from ..data.captions import normalize_caption
from . import resources
from .candidates import build_candidates
from .inflection import inflect, load_inflection_tables
from .numbers import REPLACE_NUMBERS, number_candidates
from .parsing import CaptionParser
from .prepositions import preposition_candidates
from .replace import FIXED_POS, PREPOSITION_POS, candidates_key, sample_replace
from .scene_graph import NUMBER_POS
from .shuffle import sample_ngram_shuffle
from .styles import parse_style, style_parts
from .svlc import sample_svlc
from .swap import sample_swap
from .vocabulary import Vocabulary
from .wordnet_lexicon import WordNetLexicon
from .wordnet_senses import REPLACE_COUNT_MEMOS, REPLACE_SENSES, AllSensesLexicon, read_history

# A fixed number per type, so that e.g. the swap negative of a caption is the same under the
# styles negclip and fsc-clip for the same seed and epoch.
_TYPE_STREAM = {"swap": 1, "replace": 2, "shuffle": 3, "svlc": 4}


@lru_cache(maxsize=None)
def shared_parser(name: str) -> CaptionParser:
    """One loaded spaCy pipeline per name and process, shared by every generator (read-only use)."""
    return CaptionParser(name)


@lru_cache(maxsize=None)
def shared_wordnet() -> WordNetLexicon:
    """One WordNet lexicon per process, so that generators share its memoised look-ups."""
    lexicon = WordNetLexicon(resources.require_wordnet())
    load_inflection_tables()
    return lexicon


@lru_cache(maxsize=None)
def shared_all_senses(count_memo: str = "process") -> AllSensesLexicon:
    """The authors' every-sense look-ups over the shared WordNet files, one per process and
    ``replace_count_memo`` (see :mod:`.wordnet_senses`)."""
    history = read_history() if count_memo == "process" else ()
    return AllSensesLexicon(shared_wordnet(), resources.require_wordnet(), history=history)


def caption_seed(seed: int, epoch: int, caption: str) -> int:
    """A 64-bit seed for one caption: independent of the batch it comes in, of the process and of
    Python's hash randomisation."""
    digest = hashlib.blake2b(f"{seed}\x1f{epoch}\x1f{caption}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class HardNegativeGenerator:
    """Generate hard-negative captions.

    >>> gen = HardNegativeGenerator(style="fsc-clip", seed=0)
    >>> gen.types
    ('swap', 'replace', 'shuffle')
    >>> negs = gen(["a white dog on a red sofa"], epoch=0)   # K lists of len(captions), None = nothing found

    Each caption is parsed once (spaCy, batched); its candidates are cached, so later calls and
    epochs only sample. ``cache_dir`` points to a cache written by
    ``python -m fsc_clip_hf.negatives precompute``: captions found there are never parsed.
    Resources are checked here (a missing one raises :class:`resources.ResourceMissingError`
    naming the command that installs it) and loaded on first use. Captions are normalised first
    (:func:`~fsc_clip_hf.data.captions.normalize_caption`, as open_clip's tokenizer cleans them).

    Options (the defaults are the authors' behaviour):
        replace_senses: "all" — replacements from every WordNet sense of a word, weights summed over
            senses, pronouns and proper nouns replaced too (the authors); "first" — the most
            frequent sense only, lower-case words only, pronouns and proper nouns kept.
        replace_count_memo: with "all", which WordNet count a candidate name weighs: "process" — that
            of the first lemma of the name reached since the process began, after a fixed warm-up (the
            authors' per-worker memo); "word" — that of the first reached in the word's own search.
        replace_numbers: "never" (the authors) or "same_form": digits by digits, words by words.
        vocabulary: a :class:`~.vocabulary.Vocabulary`; replacements whose words it lacks are never
            drawn (``replace_vocabulary: corpus``). None: every WordNet replacement.
        swap_skip_modifier_reorder: a swap never just reorders two modifiers of one word.
        article_agreement: "a"/"an" before an edited phrase is made to agree with it.
    """

    def __init__(self, style: str = "fsc-clip", seed: int = 0, spacy_model: str = resources.DEFAULT_SPACY_MODEL,
                 cache_dir: str | Path | None = None, batch_size: int = 256, replace_senses: str = "all",
                 replace_count_memo: str = "process", replace_numbers: str = "never",
                 vocabulary: Vocabulary | None = None, swap_skip_modifier_reorder: bool = False,
                 article_agreement: bool = False):
        self.style = style
        self.types, self.ngram_size = parse_style(style)
        self.parts = style_parts(self.types)
        self.seed = int(seed)
        self.spacy_model = spacy_model
        self.batch_size = batch_size
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if replace_senses not in REPLACE_SENSES:
            raise ValueError(f"replace_senses must be one of {REPLACE_SENSES}, got {replace_senses!r}")
        if replace_count_memo not in REPLACE_COUNT_MEMOS:
            raise ValueError(f"replace_count_memo must be one of {REPLACE_COUNT_MEMOS}, got {replace_count_memo!r}")
        if replace_numbers not in REPLACE_NUMBERS:
            raise ValueError(f"replace_numbers must be one of {REPLACE_NUMBERS}, got {replace_numbers!r}")
        self.replace_senses = replace_senses
        self.replace_count_memo = replace_count_memo
        self.replace_numbers = replace_numbers
        self.vocabulary = vocabulary
        self.swap_skip_modifier_reorder = bool(swap_skip_modifier_reorder)
        self.article_agreement = bool(article_agreement)
        resources.require_spacy(spacy_model)
        if "replace" in self.parts:
            resources.require_wordnet()
        self._memory: dict[str, bytes] = {}  # caption -> its candidates, serialised
        self._init_runtime()

    @property
    def candidate_options(self) -> dict:
        """The options that change a caption's candidates (a disk cache must have been computed with them)."""
        return {"replace_senses": self.replace_senses, "replace_count_memo": self.replace_count_memo,
                "replace_numbers": self.replace_numbers}

    def _init_runtime(self) -> None:
        """State rebuilt in each process rather than pickled (DataLoader workers, datasets.map)."""
        self._parser = None
        self._wordnet = None
        self._store = None
        self._lexicon: dict[str, tuple] = {}
        self._in_vocabulary: dict[tuple, tuple] = {}
        if self.cache_dir is not None:
            from .cache import CandidateStore

            self._store = CandidateStore(self.cache_dir, required_parts=self.parts, options=self.candidate_options)

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in ("_parser", "_wordnet", "_store", "_lexicon", "_in_vocabulary"):
            state.pop(name)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_runtime()

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return (f"HardNegativeGenerator(style={self.style!r}, seed={self.seed}, types={self.types}, {options}, "
                f"cached_captions={len(self._memory)}, cache_dir={str(self.cache_dir) if self.cache_dir else None})")

    def options(self) -> dict:
        """Every option that shapes the negatives, for logs and reports."""
        return {**self.candidate_options, "vocabulary": repr(self.vocabulary) if self.vocabulary else "wordnet",
                "swap_skip_modifier_reorder": self.swap_skip_modifier_reorder, "article_agreement": self.article_agreement}

    # ------------------------------------------------------------------ resources

    @property
    def parser(self) -> CaptionParser:
        if self._parser is None:
            self._parser = shared_parser(self.spacy_model)
        return self._parser

    @property
    def wordnet(self) -> WordNetLexicon | AllSensesLexicon:
        """The lexicon of ``replace_senses``."""
        if self._wordnet is None:
            self._wordnet = (shared_all_senses(self.replace_count_memo) if self.replace_senses == "all"
                             else shared_wordnet())
        return self._wordnet

    def load_resources(self) -> "HardNegativeGenerator":
        """Load now what is otherwise loaded on first use (spaCy, WordNet, inflection tables)."""
        self.parser
        if "replace" in self.parts:
            self.wordnet
        return self

    def wordnet_candidates(self, pos: str, lemma: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """WordNet replacement words of ``lemma`` and their cumulative weights (cache table, else WordNet)."""
        key = candidates_key(pos, lemma)
        entry = self._lexicon.get(key)
        if entry is None:
            entry = self._store.lexicon_entry(key) if self._store is not None else None
            if entry is None:
                entry = self.wordnet.candidates(lemma, pos)
            self._lexicon[key] = entry
        return entry

    def replacement_candidates(self, pos: str, lemma: str, tag: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """What an element (``pos``, ``lemma``, Penn ``tag``) may become, with cumulative weights:
        another preposition, number or WordNet word, never ``lemma`` itself; with a vocabulary,
        only those whose inflected words it holds."""
        if pos == PREPOSITION_POS:
            entry = preposition_candidates(lemma)
        elif pos == NUMBER_POS:
            entry = number_candidates(lemma)
        else:
            entry = self.wordnet_candidates(pos, lemma)
        if self.vocabulary is None:
            return entry
        key = (pos, lemma, tag)
        kept = self._in_vocabulary.get(key)
        if kept is None:
            words, cumulative = entry
            keep = [i for i, word in enumerate(words)
                    if (word if pos in FIXED_POS else inflect(word, pos, tag)) in self.vocabulary]
            kept = self._in_vocabulary[key] = (
                tuple(words[i] for i in keep),
                tuple(accumulate(cumulative[i] - (cumulative[i - 1] if i else 0) for i in keep)))
        return kept

    # ------------------------------------------------------------------ candidates

    def build_candidates(self, captions: list[str]) -> list[dict]:
        """Parse ``captions`` (batched, no cache involved) and compute their candidates."""
        lexicon = self.wordnet if "replace" in self.parts else None
        docs = self.parser.pipe(captions, batch_size=self.batch_size)
        return [build_candidates(doc, self.parts, lexicon, pronouns=self.replace_senses == "all",
                                 numbers=self.replace_numbers) for doc in docs]

    def candidates(self, captions: list[str]) -> list[dict]:
        """Candidates of each caption: from memory, else from the disk cache, else parsed (and kept)."""
        kept = [self._memory.get(c) for c in captions]
        found = [None if k is None else marshal.loads(k) for k in kept]
        missing = [i for i, cand in enumerate(found) if cand is None]
        if missing and self._store is not None:
            for i, cand in zip(missing, self._store.lookup([captions[i] for i in missing])):
                found[i] = cand
            missing = [i for i in missing if found[i] is None]
        if missing:
            # Parse each distinct caption once, even if a batch repeats it.
            todo = list(dict.fromkeys(captions[i] for i in missing))
            built = dict(zip(todo, self.build_candidates(todo)))
            # Kept serialised (marshal: in-process only, the fastest to load back, ~2 µs): a fifth
            # of the memory of the nested lists, which matters for a corpus of a million captions.
            self._memory.update((c, marshal.dumps(cand)) for c, cand in built.items())
            for i in missing:
                found[i] = built[captions[i]]
        return found

    # ------------------------------------------------------------------ sampling

    def __call__(self, captions, epoch: int = 0) -> list[list[str | None]]:
        """Hard negatives of ``captions``: one list per type (``self.types``), each of
        ``len(captions)`` entries, None where that type found nothing to edit. Deterministic given
        the seed, the epoch and the caption; a new epoch gives fresh random negatives. The negatives
        are those of the normalised captions."""
        if isinstance(captions, str):
            raise TypeError("pass a list of captions, not a single string")
        captions = [normalize_caption(c) for c in captions]
        out = [[None] * len(captions) for _ in self.types]
        rng = random.Random()
        for i, (caption, cand) in enumerate(zip(captions, self.candidates(captions))):
            base = caption_seed(self.seed, epoch, caption) * 8
            for k, kind in enumerate(self.types):
                rng.seed(base + _TYPE_STREAM[kind])
                out[k][i] = self._sample(kind, caption, cand, rng)
        return out

    def _sample(self, kind: str, caption: str, cand: dict, rng) -> str | None:
        if kind == "swap":
            return sample_swap(caption, cand["swap"], rng, self.swap_skip_modifier_reorder, self.article_agreement)
        if kind == "replace":
            return sample_replace(caption, cand["replace"], self.replacement_candidates, rng, self.article_agreement)
        if kind == "shuffle":
            return sample_ngram_shuffle(caption, cand["tokens"], self.ngram_size, rng)
        return sample_svlc(caption, cand["tokens"], rng, self.article_agreement)
