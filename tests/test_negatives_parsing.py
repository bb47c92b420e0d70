"""The compiled POS rules give the same coarse POS as the pipeline's attribute ruler, faster."""


from helpers.repo import COCO_STYLE_CAPTIONS

from fsc_clip_hf.negatives.generator import shared_parser
from fsc_clip_hf.negatives.resources import load_spacy

TRICKY = [
    "There is a dog that is sitting on the bed but it has not eaten.",
    "I don't think he'd have done it, did he?",
    "Here are  two   spaces and something odd.",
    "Which one is there?  Nobody knows, but everyone has a guess.",
]


def test_pos_rules_match_the_attribute_ruler():
    parser = shared_parser("en_core_web_sm")
    assert parser.pos_rules is not None and "attribute_ruler" in parser.nlp.disabled
    reference = load_spacy("en_core_web_sm")
    texts = COCO_STYLE_CAPTIONS.read_text().splitlines() + TRICKY
    for ours, theirs in zip(parser.pipe(texts), reference.pipe(texts)):
        assert [t.pos_ for t in ours] == [t.pos_ for t in theirs], ours.text
