"""Replacement candidates over every WordNet sense of a word: the authors' distribution.

The authors' replace generator (an NLTK implementation) looks a caption word up with
``wn.synsets(word, pos)`` and, for each sense in that list:

* adds the antonyms of all the sense's lemmas;
* adds the lemmas of every synset reached as hyponym of a hyponym of a grandparent (plain hypernym
  pointers only, so instances have none), the sense itself excepted; an adjective sense goes to the
  nouns derivationally related to its lemmas, takes those nouns' cousins and comes back through
  their lemmas' derivationally related adjectives;
* counts every lemma it reaches, and weighs each time ``max(1, count)``, where ``count`` is that of the
  first lemma of the same *name* the process ever asked for (``Lemma.count()`` sits behind a
  ``functools.cache``, and NLTK lemmas compare by name);

then drops every name that is a lemma of one of the word's senses, and sums per name. Names keep
their case and may be digits or proper names.

Which lemma of a name comes first depends, for the authors, on the process's history: a data loader
worker fixes the count of a name when the first search of its life reaches it, so in a long run most
names weigh what the searches of the first few hundred captions found, not what the current word's
own search would. That halves the share of colour edits that give a colour (the weight of "black"
in the search of "white" is 416 in a fresh process, 8 after the search of "red"). Here the history
is fixed, so that candidates never depend on the order captions come in:

* ``history`` (the default, ``replace_count_memo: process``): the searches of a shipped warm-up, the
  words the replace generator looks up in 369 COCO-style captions in their order
  (``count_memo_warmup.txt``), are run first and fix the counts of every name they reach; a name they
  never reach weighs the count of the first lemma of that name reached in the word's own search;
* ``history=()`` (``replace_count_memo: word``): each word is searched as in a fresh process.

Senses go in WordNet's order and pointers in offset order (NLTK's pointer sets change order with the
hash seed), and a name weighs ``occurrences x max(1, its fixed count)``.
:class:`AllSensesLexicon` computes the table from the database files without NLTK's objects, from
per-grandparent tables each read once. Lemma counts are NLTK's: ``cntlist.rev`` under the lemma's
sense key (a few keys there are spelled otherwise than in the data files and never found; the weight
is then 1 for the authors too).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from .wordnet_lexicon import _FILE_POS, _LEXICAL_POINTER, SynsetKey, WordNetLexicon

# replace_senses: every sense (the authors') or the first; replace_count_memo: the process's memo or the word's.
REPLACE_SENSES = ("all", "first")
REPLACE_COUNT_MEMOS = ("process", "word")
HISTORY_FILE = Path(__file__).with_name("count_memo_warmup.txt")
_PLAIN_HYPERNYM = re.compile(rb" @ (\d{8}) ")
_HYPONYM = re.compile(rb" ~ (\d{8}) ")
_SENSE_TYPE_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}
_ANTONYM = b"!"
_DERIVATION = b"+"


def _read_synset_counts(root: Path) -> dict[SynsetKey, dict[tuple[str, int], int]]:
    """synset -> {(lower-case lemma, lex id): count} as NLTK's ``Lemma.count()`` reads them: ``cntlist.rev``
    under the lemma's sense key, which ``index.sense`` maps to its synset (the keys of cntlist.rev
    that index.sense lacks, such as heads written with their marker, are never found by NLTK)."""
    by_key = {}
    with open(root / "cntlist.rev", encoding="utf-8") as handle:
        for line in handle:
            key, _, count = line.split()
            if count != "0":
                by_key[key] = int(count)
    counts: dict[SynsetKey, dict[tuple[str, int], int]] = {}
    with open(root / "index.sense", encoding="utf-8") as handle:
        for line in handle:
            key, offset, _ = line.split(" ", 2)
            count = by_key.get(key)
            if count:
                # "lemma%ss_type:lex_filenum:lex_id:head_word:head_id"; one synset may hold "Earth" and
                # "earth", told apart by their lex id.
                lemma, _, lex_sense = key.partition("%")
                synset = (_SENSE_TYPE_POS[lex_sense[0]], int(offset))
                counts.setdefault(synset, {})[lemma, int(lex_sense.split(":")[2])] = count
    return counts


class AllSensesLexicon:
    """``candidates(word, pos)``: the authors' replacement names for ``word`` (lower case, the
    caption's spelling, ``_`` between words) with cumulative weights."""

    def __init__(self, lexicon: WordNetLexicon, root: str | Path, history: Iterable[tuple[str, str]] = ()):
        """``history``: ``(word, pos)`` searches whose first lemma counts fix every later search's."""
        self.wn = lexicon
        self._counts = _read_synset_counts(Path(root))
        self._name_cache: dict[SynsetKey, tuple[tuple[str, int], ...]] = {}
        self.candidates = lru_cache(maxsize=None)(self._candidates)
        self._plain_hypernyms = lru_cache(maxsize=None)(self._plain_hypernyms_uncached)
        self._hyponyms = lru_cache(maxsize=None)(self._hyponyms_uncached)
        self._grandchild_set = lru_cache(maxsize=None)(self._grandchild_set_uncached)
        self._grandchild_names = lru_cache(maxsize=None)(self._grandchild_names_uncached)
        self._grandchild_adjectives = lru_cache(maxsize=None)(self._grandchild_adjectives_uncached)
        self._grandchild_adjectives_without = lru_cache(maxsize=None)(self._grandchild_adjectives_without_uncached)
        self._lexical_pointers = lru_cache(maxsize=None)(self._lexical_pointers_uncached)
        self._derived_adjectives = lru_cache(maxsize=None)(self._derived_adjectives_uncached)
        self._fixed_counts: dict[str, int] = {}
        for word, pos in history:
            table, synonyms = self._search(word, pos)
            for name, count in table.first.items():  # the authors count only the names they keep
                if name not in synonyms:
                    self._fixed_counts.setdefault(name, count)

    def lookup(self, word: str, pos: str, inflected: bool = False) -> str | None:
        """The key of ``word``'s candidate list: the word itself, as the authors look it up, when
        WordNet has a sense for it (``inflected`` is not needed: morphy tries every form)."""
        word = word.lower().replace(" ", "_")
        return word if self.senses(word, pos) else None

    # ------------------------------------------------------------------ synsets

    def senses(self, word: str, pos: str) -> list[SynsetKey]:
        """``wn.synsets(word, pos)``: the senses of every morphy form, duplicates kept."""
        word = word.lower()
        index = self.wn._index[pos]
        exceptions = self.wn._exceptions[pos]
        if word in exceptions:
            forms = exceptions[word]
        else:
            forms = [word[: -len(old)] + new for old, new in _RULES[pos] if word.endswith(old)]
        seen, senses = set(), []
        for form in (word, *forms):
            if form in index and form not in seen:
                seen.add(form)
                senses.extend((pos, offset) for offset in index[form])
        return senses

    def names(self, key: SynsetKey) -> tuple[tuple[str, int], ...]:
        """(lemma name, weight max(1, count)) of each lemma of a synset, in order; names keep their
        case, without an adjective's syntactic marker ("(a)")."""
        entry = self._name_cache.get(key)
        if entry is None:
            data = self.wn._data[key[0]]
            offset = key[1]
            n_words = int(data[offset + 14:offset + 16], 16)
            fields = data[offset + 17:data.index(b"\n", offset)].split(b" ", 2 * n_words)
            names = [raw.decode("utf-8") for raw in fields[:2 * n_words:2]]
            if key[0] == "a":
                names = [name[:name.index("(")] if name.endswith(")") else name for name in names]
            counts = self._counts.get(key)
            if counts is None:  # most synsets: no lemma was ever tagged
                entry = tuple((name, 1) for name in names)
            else:
                entry = tuple((name, counts.get((name.lower(), int(lex_id, 16)), 1))
                              for name, lex_id in zip(names, fields[1:2 * n_words:2]))
            self._name_cache[key] = entry
        return entry

    def _plain_hypernyms_uncached(self, key: SynsetKey) -> tuple[SynsetKey, ...]:
        return _ordered(key[0], _PLAIN_HYPERNYM.findall(self.wn._line(key)))

    def _hyponyms_uncached(self, key: SynsetKey) -> tuple[SynsetKey, ...]:
        return _ordered(key[0], _HYPONYM.findall(self.wn._line(key)))

    def _lexical_pointers_uncached(self, key: SynsetKey) -> tuple:
        """Antonym and derivation pointers of a synset's lemmas: (symbol, target, target word
        number), lemma by lemma (as NLTK's ``lemma.antonyms()`` for every lemma in turn)."""
        line = self.wn._line(key)
        if b" ! " not in line and b" + " not in line:
            return ()
        pointers = [(int(st[:2], 16), symbol, (_FILE_POS[tpos.decode()], int(off)), int(st[2:], 16))
                    for symbol, off, tpos, st in _LEXICAL_POINTER.findall(line) if st[:2] != b"00"]
        return tuple((symbol, target, word) for _, symbol, target, word in sorted(pointers, key=lambda p: p[0]))

    def _lexical(self, key: SynsetKey, symbol: bytes, target_pos: str | None = None):
        """((name, weight), target synset) of the lemmas that ``key``'s lemmas point to."""
        for sym, target, target_word in self._lexical_pointers(key):
            if sym == symbol and target_pos in (None, target[0]):
                yield self.names(target)[target_word - 1], target

    def _grandparents(self, key: SynsetKey):
        for parent in self._plain_hypernyms(key):
            yield from self._plain_hypernyms(parent)

    def _grandchildren(self, grandparent: SynsetKey):
        for uncle in self._hyponyms(grandparent):
            yield from self._hyponyms(uncle)

    def _grandchild_set_uncached(self, grandparent: SynsetKey) -> frozenset:
        return frozenset(self._grandchildren(grandparent))

    # ------------------------------------------------------------------ tables per grandparent

    def _grandchild_names_uncached(self, grandparent: SynsetKey) -> _Table:
        return _Table.of([pair for cousin in self._grandchildren(grandparent) for pair in self.names(cousin)])

    def _derived_adjectives_uncached(self, noun: SynsetKey) -> _Table:
        return _Table.of([pair for pair, _ in self._lexical(noun, _DERIVATION, "a")])

    def _grandchild_adjectives_uncached(self, grandparent: SynsetKey) -> _Table:
        table = _Table()
        for cousin in self._grandchildren(grandparent):
            table.add(self._derived_adjectives(cousin))
        return table

    def _grandchild_adjectives_without_uncached(self, grandparent: SynsetKey, noun: SynsetKey) -> _Table:
        """The grandparent's table as if ``noun`` were not among its grandchildren."""
        merged, own = self._grandchild_adjectives(grandparent), self._derived_adjectives(noun)
        if noun not in self._grandchild_set(grandparent) or not own.occurrences:
            return merged
        times = sum(1 for cousin in self._grandchildren(grandparent) if cousin == noun)
        table = _Table()
        table.occurrences = merged.occurrences.copy()
        table.first = dict(merged.first)
        for name, n in own.occurrences.items():
            table.occurrences[name] -= times * n
            if table.occurrences[name] <= 0:
                del table.occurrences[name], table.first[name]
            else:  # the weight of the first lemma of that name among the other cousins
                table.first[name] = next(self._derived_adjectives(c).first[name] for c in self._grandchildren(grandparent)
                                         if c != noun and name in self._derived_adjectives(c).first)
        return table

    # ------------------------------------------------------------------ candidates

    def _cousins(self, key: SynsetKey, table: _Table) -> None:
        """Add the cousin lemmas of a noun, verb or adverb sense (the sense's own lemmas included:
        they are synonyms, dropped later)."""
        for grandparent in self._grandparents(key):
            table.add(self._grandchild_names(grandparent))

    def _adjective_cousins(self, key: SynsetKey, table: _Table) -> None:
        """Add the adjectives derived from the cousins of the nouns derived from an adjective sense
        (a noun is not its own cousin)."""
        nouns = sorted({target for _, target in self._lexical(key, _DERIVATION, "n")}, key=lambda k: k[1])
        for noun in nouns:
            for grandparent in self._grandparents(noun):
                table.add(self._grandchild_adjectives_without(grandparent, noun))

    def _search(self, word: str, pos: str) -> tuple[_Table, set[str]]:
        """The names reached from every sense of ``word``, and the names of its own senses' lemmas."""
        senses = self.senses(word, pos)
        table = _Table()
        for key in senses:
            table.visit(name for name, _ in self._lexical(key, _ANTONYM))
            (self._adjective_cousins if pos == "a" else self._cousins)(key, table)
        return table, {name for key in set(senses) for name, _ in self.names(key)}

    def _candidates(self, word: str, pos: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        table, synonyms = self._search(word, pos)
        fixed = self._fixed_counts
        weights = {name: n * fixed.get(name, table.first[name]) for name, n in table.occurrences.items()
                   if name not in synonyms}
        # In the order the search reached them (fixed by the data files): sampling is reproducible.
        return tuple(weights), tuple(accumulate(weights.values()))


def read_history(path: str | Path = HISTORY_FILE) -> list[tuple[str, str]]:
    """The ``(word, pos)`` searches of a history file: one ``pos word`` a line, ``#`` comments."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(" ", 1)[::-1]) for line in lines if line and not line.startswith("#")]


class _Table:
    """How often each lemma name is reached, and the weight of the first lemma of that name reached:
    the authors cache ``Lemma.count()`` per lemma *name* (NLTK lemmas compare by name), so every later
    lemma of the name weighs what the first one did."""

    __slots__ = ("occurrences", "first")

    def __init__(self):
        self.occurrences = Counter()
        self.first: dict[str, int] = {}

    @classmethod
    def of(cls, pairs: list) -> "_Table":
        """The table of visiting ``pairs`` (name, weight) in order."""
        table = cls()
        table.occurrences = Counter(name for name, _ in pairs)
        table.first = dict(reversed(pairs))  # the earliest pair of a name is written last
        return table

    def visit(self, names_and_weights) -> None:
        for name, weight in names_and_weights:
            self.occurrences[name] += 1
            if name not in self.first:
                self.first[name] = weight

    def add(self, other: "_Table") -> None:
        """``other``'s visits after this table's own."""
        self.occurrences.update(other.occurrences)
        first = self.first
        for name, weight in other.first.items():
            if name not in first:
                first[name] = weight


def _ordered(pos: str, offsets: list[bytes]) -> tuple[SynsetKey, ...]:
    """Pointer targets in offset order: NLTK keeps a synset's pointers in a set, whose order changes
    with each process's hash seed; a fixed order decides which lemma of a name is reached first."""
    return tuple((pos, offset) for offset in sorted({int(o) for o in offsets}))


# NLTK's morphological substitutions (morphy), tried once when the word has no exception entry.
_RULES = {
    "n": (("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}
