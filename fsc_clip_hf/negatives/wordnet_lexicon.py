"""Replacement candidates from WordNet 3.0: antonyms and cousin/sibling co-hyponyms, weighted.

This reads the WordNet database files that the resources installer puts in NLTK's data directory,
but not through NLTK's reader: building NLTK ``Synset`` objects costs ~250 µs each and one
common noun ("man") reaches more than a thousand cousin synsets, which would make the first
epoch crawl. Here a synset is a few fields sliced out of the in-memory data file on demand
(~5 µs), and every look-up is memoised.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

# WordNet file suffixes per part of speech; satellite adjectives ("s") live in the adjective files.
_FILE_NAMES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_FILE_POS = {"n": "n", "v": "v", "a": "a", "s": "a", "r": "r"}
# Sense-key synset types (index.sense) to file part of speech.
_SENSE_KEY_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}
# WordNet's morphological detachment rules (morphy(7WN)), tried after the exception lists.
_DETACHMENT_RULES = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
          ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}
_REPLACEMENT_WORD = re.compile(r"[a-z][a-z_'.-]*$")
_NO_COUNTS: dict = {}
_ANTONYM = b"!"
_DERIVATION = b"+"

SynsetKey = tuple  # (file pos, byte offset in that data file)


# Pointers in a data-file line: "symbol offset pos source/target" (e.g. "@ 02084071 n 0000").
# Instance hyponyms (~i) are left out: they are proper names (cities, people).
_HYPERNYM_POINTER = re.compile(rb" @i? (\d{8}) ")
_HYPONYM_POINTER = re.compile(rb" ~ (\d{8}) ")
_LEXICAL_POINTER = re.compile(rb" ([!+]) (\d{8}) ([nvasr]) ([0-9a-f]{4})")


class WordNetLexicon:
    """Memoised WordNet look-ups for the ``replace`` generator.

    ``candidates(lemma, pos)`` returns the replacement lemmas of ``lemma`` (pos in n, v, a, r)
    with cumulative weights, ready for :func:`weighted_pick`.
    """

    def __init__(self, root: str | Path):
        root = Path(root)
        self._data = {p: (root / f"data.{name}").read_bytes() for p, name in _FILE_NAMES.items()}
        self._index = {p: self._read_index(root / f"index.{name}") for p, name in _FILE_NAMES.items()}
        self._exceptions = {p: self._read_exceptions(root / f"{name}.exc") for p, name in _FILE_NAMES.items()}
        self._counts = self._read_sense_counts(root / "index.sense")
        self._word_cache: dict[SynsetKey, tuple] = {}
        self._link_cache: dict[SynsetKey, tuple] = {}
        # Per-instance memos (an lru_cache on a method would be shared by every instance).
        self.candidates = lru_cache(maxsize=None)(self._candidates)
        self.base_form = lru_cache(maxsize=None)(self._base_form)
        self._children_words = lru_cache(maxsize=None)(self._children_words_uncached)
        self._grandchildren_words = lru_cache(maxsize=None)(self._grandchildren_words_uncached)
        self._derived_adjectives = lru_cache(maxsize=None)(self._derived_adjectives_uncached)

    # ------------------------------------------------------------------ file readers

    @staticmethod
    def _read_index(path: Path) -> dict[str, tuple[int, ...]]:
        """lemma -> synset offsets, most frequent sense first."""
        index = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line or line[0] == " ":  # the licence header lines start with two spaces
                continue
            fields = line.split()
            n_synsets = int(fields[2])
            index[fields[0]] = tuple(int(off) for off in fields[-n_synsets:])
        return index

    @staticmethod
    def _read_exceptions(path: Path) -> dict[str, tuple[str, ...]]:
        exceptions = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if len(fields) >= 2:
                exceptions[fields[0]] = tuple(fields[1:])
        return exceptions

    @staticmethod
    def _read_sense_counts(path: Path) -> dict[SynsetKey, dict[str, int]]:
        """synset -> {lemma: tagged-corpus frequency} for the senses that have one (at least 1)."""
        counts: dict[SynsetKey, dict[str, int]] = {}
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.endswith(" 0\n"):  # untagged senses: most of the file, skip them early
                    continue
                key, offset, _, count = line.split()
                lemma, _, lex_sense = key.partition("%")
                synset = (_SENSE_KEY_POS[lex_sense[0]], int(offset))
                counts.setdefault(synset, {})[lemma] = max(1, int(count))
        return counts

    def _line(self, key: SynsetKey) -> bytes:
        """The data-file line of a synset up to its gloss."""
        data = self._data[key[0]]
        line = data[key[1]:data.index(b"\n", key[1])]
        return line[:line.find(b" | ")] if b" | " in line else line

    def _words(self, key: SynsetKey) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
        """(lower-cased lemma names, (word, weight) pairs usable as replacements) of a synset.

        Only lower-case alphabetic names are replacements: capitalised ones are proper or taxonomic
        names ("Tapirus_indicus"), and digits ("3") read oddly in a caption.
        """
        entry = self._word_cache.get(key)
        if entry is None:
            pos, offset = key
            data = self._data[pos]
            # Fixed layout: "offset(8) lex_filenum(2) ss_type(1) w_cnt(2 hex) word lex_id ...".
            n_words = int(data[offset + 14:offset + 16], 16)
            fields = data[offset + 17:data.index(b"\n", offset)].split(b" ", 2 * n_words)
            # Adjective words may carry a syntactic marker such as "(a)" or "(ip)": drop it.
            names = [name.decode("utf-8").split("(")[0] for name in fields[:2 * n_words:2]]
            words = tuple(name.lower() for name in names)
            counts = self._counts.get(key, _NO_COUNTS)
            weighted = tuple((word, counts.get(word, 1)) for name, word in zip(names, words)
                             if _REPLACEMENT_WORD.match(name))
            entry = self._word_cache[key] = (words, weighted)
        return entry

    def _links(self, key: SynsetKey) -> tuple[tuple, tuple, tuple]:
        """(hypernyms, hyponyms, lexical pointers) of a synset; lexical pointers are
        (symbol, source word number, target synset, target word number). Parsed apart from the
        words because most synsets the search touches are leaves whose links are never read."""
        entry = self._link_cache.get(key)
        if entry is None:
            line = self._line(key)
            pos = key[0]
            # Hypernym and hyponym pointers stay within one part of speech (one data file).
            hypernyms = tuple((pos, int(off)) for off in _HYPERNYM_POINTER.findall(line))
            hyponyms = tuple((pos, int(off)) for off in _HYPONYM_POINTER.findall(line))
            lexical = tuple((symbol, int(st[:2], 16), (_FILE_POS[tpos.decode()], int(off)), int(st[2:], 16))
                            for symbol, off, tpos, st in _LEXICAL_POINTER.findall(line))
            entry = self._link_cache[key] = (hypernyms, hyponyms, lexical)
        return entry

    # ------------------------------------------------------------------ look-ups

    def _base_form(self, word: str, pos: str, inflected: bool = False) -> str | None:
        """The WordNet lemma of ``word`` (morphy: exceptions, then detachment rules). When the tagger
        says the word is inflected, its reduced forms are preferred to the word itself, so that
        plural "men" gives "man" and not the noun "men" (a workforce)."""
        word = word.lower().replace(" ", "_")
        index = self._index[pos]
        reduced = [*self._exceptions[pos].get(word, ()),
                   *(word[: -len(old)] + new for old, new in _DETACHMENT_RULES[pos] if word.endswith(old))]
        forms = [*reduced, word] if inflected else [word, *reduced]
        return next((form for form in forms if form in index), None)

    def lookup(self, word: str, pos: str, inflected: bool = False) -> str | None:
        """The key of ``word``'s candidate list: its base form (see :meth:`candidates`)."""
        return self.base_form(word, pos, inflected)

    def synsets(self, lemma: str, pos: str) -> list[SynsetKey]:
        return [(pos, offset) for offset in self._index[pos].get(lemma, ())]

    def _lexical_targets(self, key: SynsetKey, lemma: str, symbol: str, target_pos: str):
        """(word, weight, synset) that ``lemma`` in synset ``key`` points to with a lexical pointer."""
        words = self._words(key)[0]
        for sym, source, target, target_word in self._links(key)[2]:
            if sym == symbol and target[0] == target_pos and words[source - 1] == lemma:
                word = self._words(target)[0][target_word - 1]
                yield word, self._counts.get(target, _NO_COUNTS).get(word, 1), target

    def _cousins(self, key: SynsetKey) -> set[SynsetKey]:
        """Siblings (hyponyms of the parents) and cousins (hyponyms of the hyponyms of the
        grand-parents) of a synset."""
        cousins = set()
        for parent in self._links(key)[0]:
            parent_hypernyms, siblings, _ = self._links(parent)
            cousins.update(siblings)
            for grandparent in parent_hypernyms:
                for uncle in self._links(grandparent)[1]:
                    cousins.update(self._links(uncle)[1])
        return cousins

    # The word tables below are memoised per synset: lemmas of one domain share parents and
    # grand-parents ("man" and "woman" both descend from "adult", "person"), so each family is
    # read once.

    def _children_words_uncached(self, key: SynsetKey) -> dict[str, int]:
        """word -> weight over the hyponyms of a synset."""
        weights: dict[str, int] = {}
        for child in self._links(key)[1]:
            for word, weight in self._words(child)[1]:
                if weight > weights.get(word, 0):
                    weights[word] = weight
        return weights

    def _grandchildren_words_uncached(self, key: SynsetKey) -> dict[str, int]:
        """word -> weight over the hyponyms of the hyponyms of a synset."""
        return _merge_max([self._children_words(child) for child in self._links(key)[1]])

    def _cousin_words(self, key: SynsetKey) -> dict[str, int]:
        """word -> weight over the siblings and cousins of a synset (see :meth:`_cousins`)."""
        tables = []
        for parent in self._links(key)[0]:
            tables.append(self._children_words(parent))
            tables.extend(self._grandchildren_words(g) for g in self._links(parent)[0])
        return _merge_max(tables)

    def _derived_adjectives_uncached(self, noun_key: SynsetKey) -> dict[str, int]:
        """Adjectives derived from the cousins of a noun synset ("redness" -> "blue", "green")."""
        weights: dict[str, int] = {}
        for cousin in self._cousins(noun_key):
            for symbol, _, target, target_word in self._links(cousin)[2]:
                if symbol == _DERIVATION and target[0] == "a":
                    words, weighted = self._words(target)
                    word = words[target_word - 1]
                    weight = next((w for x, w in weighted if x == word), 0)
                    if weight > weights.get(word, 0):
                        weights[word] = weight
        return weights

    def _candidates(self, lemma: str, pos: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Replacement lemmas (sorted, so sampling is reproducible) and their cumulative weights:
        antonyms and cousin/sibling co-hyponyms of the first (most frequent) sense, minus every
        synonym of the lemma, each weighted by its sense frequency (at least 1)."""
        senses = self.synsets(lemma, pos)
        if not senses:
            return (), ()
        first = senses[0]
        if pos == "a":
            # Adjectives have no hypernyms: go to a derivationally related noun ("red" -> "redness"),
            # take that noun's cousins ("blueness", "greenness") and come back to their adjectives.
            weights: dict[str, int] = {}
            for key in senses:
                nouns = [noun_key for _, _, noun_key in self._lexical_targets(key, lemma, _DERIVATION, "n")]
                if nouns:
                    break
            for noun_key in nouns:
                for word, weight in self._derived_adjectives(noun_key).items():
                    if weight > weights.get(word, 0):
                        weights[word] = weight
        else:
            weights = self._cousin_words(first)
        for word, weight, _ in self._lexical_targets(first, lemma, _ANTONYM, pos):
            weights[word] = max(weight, weights.get(word, 0))
        for key in senses:
            for word in self._words(key)[0]:
                weights.pop(word, None)
        words = tuple(sorted(weights))
        return words, tuple(accumulate(weights[w] for w in words))


def _merge_max(tables: list[dict[str, int]]) -> dict[str, int]:
    """Union of word -> weight tables keeping the largest weight (a new dict). The bulk of the work
    is done by dict.update; only the words found in both tables are compared one by one."""
    merged: dict[str, int] = dict(tables[0]) if tables else {}
    for table in tables[1:]:
        larger = {w: merged[w] for w in merged.keys() & table.keys() if merged[w] > table[w]}
        merged.update(table)
        merged.update(larger)
    return merged


def weighted_pick(rng, cumulative_weights, excluded=()) -> int:
    """Index drawn in proportion to its weight, never one of the sorted indices ``excluded``
    (for sampling without replacement); -1 when nothing is left to draw."""
    last = len(cumulative_weights) - 1
    if not excluded:
        return min(bisect.bisect_right(cumulative_weights, rng.random() * cumulative_weights[-1]), last)
    slices = [((cumulative_weights[i - 1] if i else 0), cumulative_weights[i]) for i in excluded]
    remaining = cumulative_weights[-1] - sum(high - low for low, high in slices)
    if remaining <= 0:
        return -1
    # Draw on the axis with the excluded slices cut out, then step over them in order.
    x = rng.random() * remaining
    for low, high in slices:
        if x >= low:
            x += high - low
    return min(bisect.bisect_right(cumulative_weights, x), last)
