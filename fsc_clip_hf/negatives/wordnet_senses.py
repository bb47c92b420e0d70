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
counts come from ``cntlist.rev`` under NLTK's sense keys, as ``Lemma.count()`` reads them (satellite
keys name their head without its syntactic marker, so a few counts that ``index.sense`` has are 0
there; the weight is then 1, as it is for the authors).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from .wordnet_lexicon import SynsetKey, WordNetLexicon

_PLAIN_HYPERNYM = re.compile(rb" @ (\d{8}) ")
_SIMILAR_TO = re.compile(rb" & (\d{8}) [as] 0000")
_POS_NUMBER = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}
_ANTONYM = b"!"
_DERIVATION = b"+"


def _read_key_counts(path: Path) -> dict[str, int]:
    """sense key -> tagged-corpus count, from ``cntlist.rev`` ("key sense_number count")."""
    counts = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            key, _, count = line.split()
            counts[key] = int(count)
    return counts


class AllSensesLexicon:
    """``candidates(word, pos)``: the authors' replacement names for ``word`` (lower case, the
    caption's spelling, ``_`` between words) with cumulative weights, names sorted."""

    def __init__(self, lexicon: WordNetLexicon, root: str | Path):
        self.wn = lexicon
        self._key_counts = _read_key_counts(Path(root) / "cntlist.rev")
        self._name_cache: dict[SynsetKey, tuple[tuple[str, int], ...]] = {}
        self._lex_id_cache: dict[SynsetKey, tuple[str, int]] = {}
        self.candidates = lru_cache(maxsize=None)(self._candidates)
        self._plain_hypernyms = lru_cache(maxsize=None)(self._plain_hypernyms_uncached)
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

    def _head(self, key: SynsetKey) -> tuple[str, int]:
        """(first lemma name, its lex id) of a synset."""
        entry = self._lex_id_cache.get(key)
        if entry is None:
            names, lex_ids, _ = self._parse(key)
            entry = self._lex_id_cache[key] = (names[0], lex_ids[0])
        return entry

    def _parse(self, key: SynsetKey):
        data = self.wn._data[key[0]]
        offset = key[1]
        lex_file = int(data[offset + 9:offset + 11])
        ss_type = chr(data[offset + 12])
        n_words = int(data[offset + 14:offset + 16], 16)
        fields = data[offset + 17:data.index(b"\n", offset)].split(b" ", 2 * n_words)
        names = [name.decode("utf-8") for name in fields[:2 * n_words:2]]
        names = [name[:name.index("(")] if name.endswith(")") and "(" in name else name for name in names]
        lex_ids = [int(x, 16) for x in fields[1:2 * n_words:2]]
        return names, lex_ids, (lex_file, ss_type)

    def names(self, key: SynsetKey) -> tuple[tuple[str, int], ...]:
        """(lemma name, weight max(1, count)) of each lemma of a synset, in order."""
        entry = self._name_cache.get(key)
        if entry is None:
            names, lex_ids, (lex_file, ss_type) = self._parse(key)
            head = ":"
            if ss_type == "s":  # a satellite's sense key names its head adjective
                similar = _SIMILAR_TO.search(self.wn._line(key))
                if similar:
                    head_name, head_id = self._head(("a", int(similar.group(1))))
                    head = f"{head_name}:{head_id:02d}"
            entry = self._name_cache[key] = tuple(
                (name, max(1, self._key_counts.get(
                    f"{name}%{_POS_NUMBER[ss_type]}:{lex_file:02d}:{lex_id:02d}:{head}".lower(), 0)))
                for name, lex_id in zip(names, lex_ids))
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

    def _grandchildren(self, grandparent: SynsetKey):
        for uncle in self.wn._links(grandparent)[1]:
            yield from self.wn._links(uncle)[1]

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
        words = tuple(sorted(w for w, n in weights.items() if n > 0))
        return words, tuple(accumulate(weights[w] for w in words))


# NLTK's morphological substitutions (morphy), tried once when the word has no exception entry.
_RULES = {
    "n": (("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}
