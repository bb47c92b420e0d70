"""Caption parsing: the spaCy pipeline with only what the generators read, batched.

The generators read tags, dependencies and coarse POS. POS is set by the pipeline's
``attribute_ruler``, a token matcher over ~180 patterns that costs about a quarter of the parse.
:class:`PosRules` compiles the same patterns (keeping only those that set POS) into a per-tag
look-up table and applies them in the same order, last match winning, as the ruler does. When a
pipeline's ruler uses a pattern feature the compiler does not know, the ruler is kept as it is.
"""

from __future__ import annotations

from . import resources

_FEATURES = {"TAG": 0, "LOWER": 1, "DEP": 2, "IS_SPACE": 3}


def _condition(key, value):
    """(feature index, test) for one pattern key, or None when the key/value is not supported."""
    if key not in _FEATURES:
        return None
    feature = _FEATURES[key]
    if isinstance(value, (str, bool)):
        return feature, lambda x, v=value: x == v
    if isinstance(value, dict) and len(value) == 1:
        (op, values), = value.items()
        if op == "IN":
            return feature, lambda x, s=frozenset(values): x in s
        if op == "NOT_IN":
            return feature, lambda x, s=frozenset(values): x not in s
    return None


def _required_tags(token_pattern) -> frozenset | None:
    """The tags a token pattern requires (TAG equal or IN), None if it accepts any tag."""
    value = token_pattern.get("TAG")
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, dict) and set(value) == {"IN"}:
        return frozenset(value["IN"])
    return None


class PosRules:
    """The POS-setting patterns of an attribute ruler, indexed by the tag of the token they set."""

    def __init__(self, by_tag, generic):
        self._by_tag = by_tag      # tag -> rules, in pattern order (generic ones merged in)
        self._generic = generic    # rules for tags no pattern names

    @classmethod
    def compile(cls, ruler) -> "PosRules | None":
        """Compile ``ruler.patterns``; None if one of them cannot be compiled."""
        rules = []  # (tags of the token set, conditions, POS), in pattern order
        for entry in ruler.patterns:
            pos = entry["attrs"].get("POS")
            if pos is None:
                continue
            for pattern in entry["patterns"]:
                index = entry.get("index", 0)
                index = index + len(pattern) if index < 0 else index
                conditions = []
                for offset, token_pattern in enumerate(pattern):
                    for key, value in token_pattern.items():
                        condition = _condition(key, value)
                        if condition is None:
                            return None
                        conditions.append((offset - index, *condition))
                rules.append((_required_tags(pattern[index]), tuple(conditions), pos))
        tags = {tag for own, _, _ in rules if own for tag in own}
        by_tag = {tag: [(c, p) for own, c, p in rules if own is None or tag in own] for tag in tags}
        return cls(by_tag, [(c, p) for own, c, p in rules if own is None])

    def apply(self, doc) -> None:
        """Set ``token.pos_`` as the attribute ruler would."""
        features = [(t.tag_, t.lower_, t.dep_, t.is_space) for t in doc]
        n = len(features)
        for i, token in enumerate(doc):
            pos = None
            for conditions, rule_pos in self._by_tag.get(features[i][0], self._generic):
                for offset, feature, test in conditions:
                    j = i + offset
                    if not (0 <= j < n and test(features[j][feature])):
                        break
                else:
                    pos = rule_pos
            if pos is not None:
                token.pos_ = pos


class CaptionParser:
    """spaCy pipeline ``name`` without the parts the generators do not read, with the attribute
    ruler replaced by :class:`PosRules` when possible."""

    def __init__(self, name: str = resources.DEFAULT_SPACY_MODEL):
        self.nlp = resources.load_spacy(name)
        self.pos_rules = None
        if "attribute_ruler" in self.nlp.pipe_names:
            self.pos_rules = PosRules.compile(self.nlp.get_pipe("attribute_ruler"))
            if self.pos_rules is not None:
                self.nlp.disable_pipe("attribute_ruler")

    def pipe(self, texts, batch_size: int = 256):
        """Parsed docs of ``texts``, in order."""
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            if self.pos_rules is not None:
                self.pos_rules.apply(doc)
            yield doc
