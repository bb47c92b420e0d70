"""Caption normalisation as open_clip's tokenizer does it, and the repairs of broken caption data."""

import random

import pytest

from fsc_clip_hf.data.captions import MAX_CAPTION_CHARS, clean_caption, normalize_caption
from fsc_clip_hf.data.skips import BadSample

# (raw caption, what open_clip's basic_clean + whitespace_clean make of it), checked by hand against
# ftfy's documented fixes: one HTML level per html.unescape after ftfy's own un-escaping, quotes
# uncurled, ligatures and full-width forms decomposed, mojibake re-decoded, zero-width kept.
PROBES = [
    ("fish &amp; chips on a plate", "fish & chips on a plate"),
    ("a sign reading &quot;stop&quot;", 'a sign reading "stop"'),
    ("tom &amp;amp; jerry", "tom & jerry"),
    ("a cat&#39;s paw", "a cat's paw"),
    ("5 &lt; 6 apples", "5 < 6 apples"),
    ("a caf&eacute; table", "a café table"),
    ("a \u201cfresh\u201d pizza", 'a "fresh" pizza'),
    ("the dog\u2019s ball", "the dog's ball"),
    ("\u2018vintage\u2019 car", "'vintage' car"),
    ("\ufb01ve \ufb02owers in a \ufb01eld", "five flowers in a field"),
    ("an o\ufb03ce desk", "an office desk"),
    ("\uff21\uff22\uff23 bus number \uff11\uff12", "ABC bus number 12"),
    ("a red\uff01 car", "a red! car"),
    ("\u3000a man\u3000with a hat", "a man with a hat"),
    ("caf\u00c3\u00a9 au lait", "café au lait"),
    ("a na\u00c3\u00afve dog", "a naïve dog"),
    ("the man\u00e2\u20ac\u2122s hat", "the man's hat"),
    ("zero\u200bwidth space", "zero\u200bwidth space"),
    ("a\u200djoiner and\u200cnon-joiner", "a\u200djoiner and\u200cnon-joiner"),
    ("soft\u00adhyphen", "soft\u00adhyphen"),
    ("\ufeffbyte order mark first", "byte order mark first"),
    ("a bell\x07 here", "a bell here"),
    ("nul\x00char", "nulchar"),
    ("esc \x1b[31mred\x1b[0m text", "esc red text"),
    ("  tabs\tand\nnew\r\nlines  ", "tabs and new lines"),
    ("non\u00a0breaking\u2009thin space", "non breaking thin space"),
    ("line\u2028separator", "line separator"),
    ("\ud83d a red circle", "\ufffd a red circle"),
    ("a paired \ud83d\ude00 smile", "a paired \U0001f600 smile"),
    ("\u00c5ngstr\u00f6m units", "\u00c5ngstr\u00f6m units"),
    ("e\u0301 combining accent", "\u00e9 combining accent"),
    ("a dog \U0001f436 on a sofa", "a dog \U0001f436 on a sofa"),
    ("lossy \ufffd decode", "lossy \ufffd decode"),
    ("a well\u2013known \u2014 place\u2026", "a well\u2013known \u2014 place\u2026"),
    ("A man riding a horse on the beach.", "A man riding a horse on the beach."),
]


@pytest.mark.parametrize("raw,expected", PROBES)
def test_normalised_as_open_clip(raw, expected):
    assert normalize_caption(raw) == expected
    assert normalize_caption(expected) == expected  # idempotent: every caller may apply it


def _open_clip_tokenizer_module():
    """open_clip's ``tokenizer.py``, loaded on its own: the package's ``__init__`` needs torchvision,
    which cannot be imported beside this torch (the Makefile installs open_clip without it)."""
    import importlib.util

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("open_clip_torch is not installed")
    path = f"{spec.submodule_search_locations[0]}/tokenizer.py"
    module_spec = importlib.util.spec_from_file_location("open_clip_tokenizer_alone", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_tokens_equal_open_clips_for_every_probe():
    """What our CLIP tokenizer makes of the normalised caption is what open_clip makes of the raw one
    (on the raw text, 22 of these 35 probes tokenise differently or not at all)."""
    from fsc_clip_hf.tokenizer import clip_tokenizer

    open_clip = _open_clip_tokenizer_module()
    reference = open_clip.SimpleTokenizer()
    ours = clip_tokenizer()
    differ_raw = 0
    for raw, _ in PROBES:
        expected = reference(raw)[0][reference(raw)[0] != 0].tolist()
        assert ours(normalize_caption(raw))["input_ids"] == expected, raw
        assert normalize_caption(raw) == open_clip.whitespace_clean(open_clip.basic_clean(raw))
        try:
            differ_raw += ours(raw)["input_ids"] != expected
        except TypeError:  # a lone surrogate: the Rust tokenizer refuses the string
            differ_raw += 1
    assert differ_raw == 22


def test_fast_path_agrees_with_ftfy():
    """Printable ASCII without '&' skips ftfy: the result must be what ftfy would give."""
    import html

    import ftfy

    rng = random.Random(0)
    alphabet = "abcdefghijklmnopqrstuvwxyz ABC.,;:'\"!?-()[]/<>#%+=0123456789"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 60)))
        assert normalize_caption(text) == " ".join(html.unescape(html.unescape(ftfy.fix_text(text))).split())


def test_long_caption_bounded_before_parsing():
    words = " ".join(["word"] * 300_000)  # 1.5 M characters: over spaCy's limit of 1,000,000
    out = normalize_caption(words)
    assert len(out) == MAX_CAPTION_CHARS and out.startswith("word word")
    assert normalize_caption("  " * 3000 + "a dog") == "a dog"  # whitespace collapsed before the cut
    caption, repair = clean_caption(words)
    assert caption == out and repair == "caption_truncated"


@pytest.mark.parametrize("value,expected,repair", [
    ("  a  red\n circle ", "a red circle", None),
    ("cafÃ© au lait", "café au lait", "caption_repaired"),
    ("Ångström units", "Ångström units", None),
    (b"caf\xe9", "café", "caption_recoded"),
    (b"\xff\xfea\x00 \x00d\x00o\x00g\x00", "a dog", None),
    ("a\x07b\u200bc", "ab\u200bc", "caption_repaired"),  # control removed, zero-width kept (open_clip)
    ("\ud83d a red circle", "\ufffd a red circle", "caption_repaired"),  # a lone surrogate
    ("x\ufffdy", "x\ufffdy", None),  # open_clip tokenises U+FFFD: kept, nothing was repaired
    ("fish &amp; chips", "fish & chips", None),  # normalised, not broken
    ("a \u201cfresh\u201d pizza", 'a "fresh" pizza', None),
    (1984, "1984", None),
])
def test_captions_cleaned(value, expected, repair):
    assert clean_caption(value) == (expected, repair)


@pytest.mark.parametrize("value,reason", [
    (None, "missing_caption"), (float("nan"), "missing_caption"), ([], "missing_caption"),
    ("", "empty_caption"), ("  \t\n", "empty_caption"), ("\x00\x07", "empty_caption"),
    (b"\x81\x8d", "undecodable_caption"),
])
def test_bad_captions(value, reason):
    with pytest.raises(BadSample) as caught:
        clean_caption(value)
    assert caught.value.reason == reason


def test_evaluation_embeds_normalised_captions():
    """Benchmark captions reach the tokenizer as open_clip's would (full-width letters folded here)."""
    import torch
    from helpers.eval_fixtures import ColourCLIP, ColourProcessor

    from fsc_clip_hf.evaluation.embedding import CLIPEmbedder

    embedder = CLIPEmbedder(ColourCLIP(), ColourProcessor(), show_progress=False)
    rows = embedder.texts(["a \uff52\uff45\uff44 car", "a red car", "a blue car"])
    assert torch.equal(rows[0], rows[1]) and not torch.equal(rows[0], rows[2])
