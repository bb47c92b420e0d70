"""N-gram shuffle negatives: the caption's words in another order, N consecutive tokens at a time."""

from __future__ import annotations

_MAX_TRIES = 10


def sample_ngram_shuffle(caption: str, tokens: list, n: int, rng) -> str | None:
    """Shuffle the caption's N-grams. ``tokens``: ``start, end, is_punct`` of each token, flat.

    A single final punctuation token is kept aside and put back at a random position. Shuffles
    whose words (leading/trailing punctuation ignored) read as the original are rejected, up to
    10 times; the comparison uses the tokens, so the shuffled text is never re-parsed.
    """
    texts = [caption[tokens[i]:tokens[i + 1]] for i in range(0, len(tokens), 3)]
    punct = [bool(p) for p in tokens[2::3]]
    body = list(range(len(texts)))
    trailing = None
    if len(body) >= 2 and punct[-1] and not punct[-2]:
        trailing = body.pop()
    ngrams = [body[i:i + n] for i in range(0, len(body), n)]
    if len(ngrams) < 2:
        return None
    original = _words(texts, punct, body)
    for _ in range(_MAX_TRIES):
        rng.shuffle(ngrams)
        order = [i for gram in ngrams for i in gram]
        if trailing is not None:
            at = rng.randint(0, len(ngrams))
            order.insert(sum(len(g) for g in ngrams[:at]), trailing)
        if _words(texts, punct, order) != original:
            return _join(texts, punct, order)
    return None


def _words(texts, punct, order) -> list[str]:
    """Lower-cased token texts in ``order`` without a leading or trailing punctuation token."""
    if order and punct[order[0]]:
        order = order[1:]
    if order and punct[order[-1]]:
        order = order[:-1]
    return [texts[i].lower() for i in order]


def _join(texts, punct, order) -> str:
    """Tokens separated by single spaces, except before punctuation."""
    parts = []
    for i in order:
        if parts and not punct[i]:
            parts.append(" ")
        parts.append(texts[i])
    return "".join(parts)
