"""Replacement candidates over every WordNet sense of a word: the authors' distribution.

The authors' replace generator (an NLTK implementation) looks a caption word up with
``wn.synsets(word, pos)`` and, for each sense in that list:

* adds the antonyms of all the sense's lemmas;
* adds the lemmas of every synset reached as hyponym of a hyponym of a grandparent (plain hypernym
  pointers only, so instances have none), the sense itself excepted; an adjective sense goes to the
  nouns derivationally related to its lemmas, takes those nouns' cousins and comes back through
  their lemmas' derivationally related adjectives;
* counts each lemma ``max(1, lemma.count())`` every time it is reached, summed by lemma name;

then drops every name that is a lemma of one of the word's senses. Names keep their case and may be
digits or proper names. :class:`AllSensesLexicon` computes the same table from the database files,
without NLTK's objects: a sum over grandparents of per-grandparent tables, each read once. Lemma
counts are NLTK's ``Lemma.count()``: ``cntlist.rev`` under the lemma's sense key (a few keys there
are spelled otherwise than in the data files and never found; the weight is then 1 for the authors
too).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from .wordnet_lexicon import SynsetKey, WordNetLexicon

_PLAIN_HYPERNYM = re.compile(rb" @ (\d{8}) ")
_HYPONYM = re.compile(rb" ~ (\d{8}) ")
_SENSE_TYPE_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}
_NO_COUNTS: dict = {}
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

    def __init__(self, lexicon: WordNetLexicon, root: str | Path):
        self.wn = lexicon
        self._counts = _read_synset_counts(Path(root))
        self._name_cache: dict[SynsetKey, tuple[tuple[str, int], ...]] = {}
        self.candidates = lru_cache(maxsize=None)(self._candidates)
        self._plain_hypernyms = lru_cache(maxsize=None)(self._plain_hypernyms_uncached)
        self._hyponyms = lru_cache(maxsize=None)(self._hyponyms_uncached)
        self._grandchild_names = lru_cache(maxsize=None)(self._grandchild_names_uncached)
        self._grandchild_adjectives = lru_cache(maxsize=None)(self._grandchild_adjectives_uncached)
        self._derived_adjectives = lru_cache(maxsize=None)(self._derived_adjectives_uncached)

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
            counts = self._counts.get(key, _NO_COUNTS)
            entry = []
            for raw, lex_id in zip(fields[:2 * n_words:2], fields[1:2 * n_words:2]):
                name = raw.decode("utf-8")
                if name.endswith(")") and "(" in name:
                    name = name[:name.index("(")]
                entry.append((name, counts.get((name.lower(), int(lex_id, 16)), 1)))
            entry = self._name_cache[key] = tuple(entry)
        return entry

    def _plain_hypernyms_uncached(self, key: SynsetKey) -> tuple[SynsetKey, ...]:
        return tuple((key[0], int(off)) for off in _PLAIN_HYPERNYM.findall(self.wn._line(key)))

    def _lexical(self, key: SynsetKey, symbol: bytes, target_pos: str | None = None):
        """(name, weight, target synset) of the lemmas that ``key``'s lemmas point to."""
        for sym, source, target, target_word in self.wn._links(key)[2]:
            if sym == symbol and source and target_pos in (None, target[0]):
                name, weight = self.names(target)[target_word - 1]
                yield name, weight, target

    def _grandparents(self, key: SynsetKey):
        for parent in self._plain_hypernyms(key):
            yield from self._plain_hypernyms(parent)

    # ------------------------------------------------------------------ tables per grandparent

    def _hyponyms_uncached(self, key: SynsetKey) -> tuple[SynsetKey, ...]:
        return tuple((key[0], int(off)) for off in _HYPONYM.findall(self.wn._line(key)))

    def _grandchildren(self, grandparent: SynsetKey):
        for uncle in self._hyponyms(grandparent):
            yield from self._hyponyms(uncle)

    def _grandchild_names_uncached(self, grandparent: SynsetKey) -> Counter:
        table = Counter()
        for cousin in self._grandchildren(grandparent):
            for name, weight in self.names(cousin):
                table[name] += weight
        return table

    def _derived_adjectives_uncached(self, noun: SynsetKey) -> Counter:
        table = Counter()
        for name, weight, _ in self._lexical(noun, _DERIVATION, "a"):
            table[name] += weight
        return table

    def _grandchild_adjectives_uncached(self, grandparent: SynsetKey) -> Counter:
        table = Counter()
        for cousin in self._grandchildren(grandparent):
            table.update(self._derived_adjectives(cousin))
        return table

    # ------------------------------------------------------------------ candidates

    def _cousins(self, key: SynsetKey) -> Counter:
        """Cousin lemma weights of a noun, verb or adverb sense (the sense's own lemmas included:
        they are synonyms, dropped later)."""
        table = Counter()
        for grandparent in self._grandparents(key):
            table.update(self._grandchild_names(grandparent))
        return table

    def _adjective_cousins(self, key: SynsetKey) -> Counter:
        """Adjectives derived from the cousins of the nouns derived from an adjective sense; a noun
        is not its own cousin, so what it derives is taken out once per path that reaches it."""
        table = Counter()
        for noun in {target for _, _, target in self._lexical(key, _DERIVATION, "n")}:
            paths = 0
            for grandparent in self._grandparents(noun):
                table.update(self._grandchild_adjectives(grandparent))
                paths += sum(1 for cousin in self._grandchildren(grandparent) if cousin == noun)
            if paths:
                table.subtract({name: paths * w for name, w in self._derived_adjectives(noun).items()})
        return table

    def _candidates(self, word: str, pos: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        senses = self.senses(word, pos)
        if not senses:
            return (), ()
        weights = Counter()
        for key in senses:
            for name, weight, _ in self._lexical(key, _ANTONYM):
                weights[name] += weight
            weights.update(self._adjective_cousins(key) if pos == "a" else self._cousins(key))
        for key in set(senses):
            for name, _ in self.names(key):
                weights.pop(name, None)
        if pos == "a":  # the subtraction of a noun's own adjectives can leave zeros
            weights = {name: n for name, n in weights.items() if n > 0}
        # In the order the search reached them (fixed by the data files): sampling is reproducible.
        return tuple(weights), tuple(accumulate(weights.values()))


# NLTK's morphological substitutions (morphy), tried once when the word has no exception entry.
_RULES = {
    "n": (("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}
