"""Rule-based attribute replacement in the spirit of SVLC: fixed word lists, swap one word for
another of the same list ("a red car" -> "a blue car")."""

from __future__ import annotations

from .articles import agree_article
from .inflection import match_case

# Each list holds groups of interchangeable spellings/synonyms; a word is replaced by the first
# word of another group of its list, never by a synonym ("grey" is not a negative of "gray").
WORD_LISTS = {
    "colour": [("red",), ("blue",), ("green",), ("yellow",), ("black",), ("white",), ("brown",),
               ("orange",), ("pink",), ("purple",), ("gray", "grey"), ("silver",), ("gold", "golden")],
    "size": [("small", "little", "tiny"), ("large", "big", "huge", "giant"), ("tall",), ("short",),
             ("long",), ("wide",), ("narrow",), ("thin",), ("thick",)],
    "material": [("wooden", "wood"), ("metal", "metallic"), ("plastic",), ("glass",), ("stone",),
                 ("brick",), ("leather",), ("paper",), ("steel",), ("concrete",), ("ceramic",)],
    "state": [("open",), ("closed",), ("empty",), ("full",), ("wet",), ("dry",), ("clean",),
              ("dirty",), ("old",), ("new",), ("broken",), ("young",), ("hot",), ("cold",)],
    "action": [("sitting",), ("standing",), ("walking",), ("running",), ("eating",), ("holding",),
               ("riding",), ("playing",), ("lying", "laying"), ("jumping",), ("looking",),
               ("flying",), ("swimming",), ("sleeping",), ("drinking",), ("carrying",),
               ("wearing",), ("throwing",), ("cutting",), ("driving",)],
    "noun": [("man",), ("woman", "lady"), ("boy",), ("girl",), ("child", "kid"), ("dog",), ("cat",),
             ("horse",), ("cow",), ("sheep",), ("bird",), ("elephant",), ("giraffe",), ("zebra",),
             ("bear",), ("car",), ("bus",), ("truck",), ("train",), ("bike", "bicycle"),
             ("motorcycle",), ("boat",), ("plane", "airplane"), ("table",), ("chair",), ("bed",),
             ("couch", "sofa"), ("pizza",), ("cake",), ("sandwich",), ("street", "road"),
             ("beach",), ("field",), ("kitchen",), ("bathroom",), ("tree",), ("building",)],
    "nouns": [("men",), ("women", "ladies"), ("boys",), ("girls",), ("children", "kids"), ("dogs",),
              ("cats",), ("horses",), ("cows",), ("birds",), ("elephants",), ("giraffes",),
              ("zebras",), ("bears",), ("cars",), ("buses",), ("trucks",), ("trains",),
              ("bikes", "bicycles"), ("motorcycles",), ("boats",), ("planes", "airplanes"),
              ("tables",), ("chairs",), ("trees",), ("buildings",), ("people",)],
    "count": [("one",), ("two",), ("three",), ("four",), ("five",), ("six",), ("several",),
              ("many",)],
}
# word -> (list name, group index)
_WORD_INDEX = {word: (name, g) for name, groups in WORD_LISTS.items()
               for g, group in enumerate(groups) for word in group}


def sample_svlc(caption: str, tokens: list, rng, article_agreement: bool = False) -> str | None:
    """Pick a list with a word present in the caption, one present word, another word of that list,
    and replace every occurrence of the present word. ``tokens``: ``start, end, is_punct`` flat.
    ``article_agreement``: "a"/"an" before each replaced word agrees with it."""
    present: dict[str, dict[str, list]] = {}
    for i in range(0, len(tokens), 3):
        start, end = tokens[i], tokens[i + 1]
        word = caption[start:end].lower()
        hit = _WORD_INDEX.get(word)
        if hit:
            present.setdefault(hit[0], {}).setdefault(word, []).append((start, end))
    if not present:
        return None
    name = rng.choice(sorted(present))
    word = rng.choice(sorted(present[name]))
    group = _WORD_INDEX[word][1]
    others = [g for i, g in enumerate(WORD_LISTS[name]) if i != group]
    new = rng.choice(others)[0]
    out, last, starts = [], 0, []
    for start, end in present[name][word]:
        out.append(caption[last:start])
        starts.append(sum(map(len, out)))
        out.append(match_case(caption[start:end], new))
        last = end
    negative = "".join(out) + caption[last:]
    if article_agreement:
        for start in reversed(starts):
            negative = agree_article(negative, start)
    return negative
