"""Text -> BM25 terms: the words a passage and a question are matched on."""

from __future__ import annotations

from pathlib import Path


def _bm25s_stopwords(*names: str) -> frozenset[str]:
    """Stopword lists of bm25s, read from its ``stopwords`` module alone: importing the package
    would pull in scipy (0.35 s) on the question path."""
    import importlib.util

    spec = importlib.util.find_spec("bm25s")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("bm25s is not installed; run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / "stopwords.py"
    module = importlib.util.spec_from_file_location("_bm25s_stopwords", path)
    assert module is not None and module.loader is not None
    lists = importlib.util.module_from_spec(module)
    module.loader.exec_module(lists)
    return frozenset(w for name in names for w in getattr(lists, name))


_STOPWORDS = _bm25s_stopwords("STOPWORDS_EN_PLUS", "STOPWORDS_GERMAN") | {"also", "could", "would", "according"}
"""NLTK's English list and the German one (bm25s ships both), and words that news uses as glue
("according to", "would")."""


# Irregular English verb forms, mapped to the base form before stemming so that "became" meets
# "become" and "took" meets "take" (Snowball stems only regular inflections).
_IRREGULAR = {
    form: base
    for base, forms in {
        "arise": "arose arisen",
        "be": "",
        "bear": "bore borne",
        "beat": "beaten",
        "become": "became",
        "begin": "began begun",
        "bend": "bent",
        "bind": "bound",
        "bite": "bit bitten",
        "bleed": "bled",
        "blow": "blew blown",
        "break": "broke broken",
        "bring": "brought",
        "build": "built",
        "buy": "bought",
        "catch": "caught",
        "choose": "chose chosen",
        "come": "came",
        "cost": "",
        "deal": "dealt",
        "dig": "dug",
        "do": "",
        "draw": "drew drawn",
        "drink": "drank drunk",
        "drive": "drove driven",
        "eat": "ate eaten",
        "fall": "fell fallen",
        "feed": "fed",
        "feel": "felt",
        "fight": "fought",
        "find": "found",
        "flee": "fled",
        "fly": "flew flown",
        "forbid": "forbade forbidden",
        "forget": "forgot forgotten",
        "forgive": "forgave forgiven",
        "freeze": "froze frozen",
        "get": "got gotten",
        "give": "gave given",
        "go": "went gone",
        "grow": "grew grown",
        "hang": "hung",
        "hear": "heard",
        "hide": "hid hidden",
        "hold": "held",
        "keep": "kept",
        "know": "knew known",
        "lay": "laid",
        "lead": "led",
        "leave": "left",
        "lend": "lent",
        "lie": "lain",
        "lose": "lost",
        "make": "made",
        "mean": "meant",
        "meet": "met",
        "pay": "paid",
        "rise": "rose risen",
        "ride": "rode ridden",
        "say": "said",
        "tell": "told",
        "ring": "rang rung",
        "run": "ran",
        "see": "saw seen",
        "seek": "sought",
        "sell": "sold",
        "send": "sent",
        "shake": "shook shaken",
        "shoot": "shot",
        "show": "shown",
        "shrink": "shrank shrunk",
        "sing": "sang sung",
        "sink": "sank sunk",
        "sit": "sat",
        "sleep": "slept",
        "speak": "spoke spoken",
        "spend": "spent",
        "stand": "stood",
        "steal": "stole stolen",
        "stick": "stuck",
        "strike": "struck stricken",
        "swear": "swore sworn",
        "swim": "swam swum",
        "take": "took taken",
        "teach": "taught",
        "tear": "tore torn",
        "think": "thought",
        "throw": "threw thrown",
        "understand": "understood",
        "wake": "woke woken",
        "wear": "wore worn",
        "win": "won",
        "withdraw": "withdrew withdrawn",
        "write": "wrote written",
        "undertake": "undertook undertaken",
        "overtake": "overtook overtaken",
        "forecast": "",
        "foresee": "foresaw foreseen",
        "uphold": "upheld",
        "withhold": "withheld",
        "overcome": "overcame",
    }.items()
    for form in forms.split()
}


# British spellings to American ones, so that "defence" meets "Defense" (whole words; -ise/-ize
# and -our/-or endings are handled by rule in TermAnalyzer).
_SPELLING = {
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "pretence": "pretense",
    "centre": "center",
    "centres": "centers",
    "metre": "meter",
    "metres": "meters",
    "theatre": "theater",
    "programme": "program",
    "programmes": "programs",
    "catalogue": "catalog",
    "travelled": "traveled",
    "travelling": "traveling",
    "cancelled": "canceled",
    "labelled": "labeled",
    "modelling": "modeling",
    "fuelled": "fueled",
    "signalled": "signaled",
    "signalling": "signaling",
    "counselling": "counseling",
    "grey": "gray",
    "tyre": "tire",
    "cheque": "check",
    "plough": "plow",
    "aluminium": "aluminum",
    "analyse": "analyze",
    "analysed": "analyzed",
    "analysing": "analyzing",
    "paralyse": "paralyze",
}
_OUR_WORDS = (
    "labour",
    "favour",
    "honour",
    "neighbour",
    "colour",
    "behaviour",
    "harbour",
    "rumour",
    "vigour",
    "humour",
    "endeavour",
    "savour",
    "armour",
    "flavour",
    "valour",
    "odour",
)


def _american(word: str) -> str:
    if word in _SPELLING:
        return _SPELLING[word]
    for stem in _OUR_WORDS:
        if word.startswith(stem):
            return stem[:-2] + "r" + word[len(stem) :]
    for ending, replacement in (("isation", "ization"), ("ising", "izing"), ("ised", "ized"), ("ises", "izes")):
        if word.endswith(ending) and len(word) > len(ending) + 3:
            return word[: -len(ending)] + replacement
    if word.endswith("ise") and len(word) > 6:
        return word[:-3] + "ize"
    return word


class TermAnalyzer:
    """Text -> BM25 terms: acronyms joined (U.S. -> us), lower case, stopwords out, irregular verbs
    to their base form, British spellings to American, Snowball-stemmed. Each distinct word is
    analysed once and remembered."""

    def __init__(self) -> None:
        import functools
        import re

        import Stemmer

        self._acronym = re.compile(r"\b(?:[A-Za-z]\.){2,}")
        self._token = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
        stemmer = Stemmer.Stemmer("english")

        @functools.lru_cache(maxsize=200_000)
        def term(word: str) -> str | None:
            word = word.lower()
            if word in _STOPWORDS or (len(word) < 2 and not word.isdigit()):
                return None
            return stemmer.stemWord(_IRREGULAR.get(word, _american(word)))

        self._term = term

    def term(self, word: str) -> str | None:
        """The term of a single word, or None for a stopword."""
        return self._term(word)

    def __call__(self, text: str) -> list[str]:
        """The terms of ``text``, in order."""
        text = self._acronym.sub(lambda m: m.group(0).replace(".", ""), text)
        terms = [self._term(w) for w in self._token.findall(text)]
        return [t for t in terms if t is not None]
