"""Names in questions, and countries under their other names.

Follow-up questions need the names a question mentions ("When will she visit?" after a question
naming Meloni) and whether a name is a country. A small table of countries, their capitals,
demonyms and German, French, Spanish and Italian names ("American" ~ "U.S.", "Indien" ~ India)
also lets the retriever find paragraphs in those languages for English questions.
"""

from __future__ import annotations

import itertools
import re

_NAME = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:of\s+|on\s+|for\s+|the\s+)?[A-Z][\w’'.-]*)*")
_OPENERS = frozenset(
    "When Who Whom Whose What Which Where Why How In On By At For From Since Until Is Are Was Were Do Does Did "
    "Has Have Had Will Would Can Could Should Roughly About Ahead According After Before During Besides Beside "
    "Apart Aside Other Beyond Except Excluding Including Like Unlike Along Alongside Together Among Between "
    "Against Despite Following Through Over Under With Without Within Into Given Compared Then Now Also So "
    "And But Or".split()
)

# country: other ways news refers to it (capital, demonym, short forms); general knowledge
_COUNTRIES = {
    "united states": "us u.s. usa america american americans washington",
    "united kingdom": "uk u.k. britain british london",
    "china": "chinese beijing prc",
    "japan": "japanese tokyo",
    "south korea": "korea korean koreans seoul rok",
    "north korea": "korea korean pyongyang dprk",
    "taiwan": "taiwanese taipei",
    "russia": "russian russians moscow kremlin",
    "india": "indian indians new delhi delhi",
    "germany": "german germans berlin",
    "france": "french paris",
    "italy": "italian italians rome",
    "australia": "australian australians canberra",
    "canada": "canadian canadians ottawa",
    "brazil": "brazilian brasilia",
    "mexico": "mexican mexico city",
    "philippines": "philippine filipino manila",
    "vietnam": "vietnamese hanoi",
    "indonesia": "indonesian jakarta",
    "pakistan": "pakistani islamabad",
    "iran": "iranian tehran",
    "israel": "israeli jerusalem",
    "ukraine": "ukrainian kyiv kiev",
    "european union": "eu europe european brussels",
    "united nations": "un u.n.",
}
# country: its name and adjective in German, French, Spanish and Italian, so that an English
# question finds a passage in one of those languages that names the same country ("India" ->
# "Indien"); general knowledge, like the table above. Names of several words are joined by "_".
_FOREIGN = {
    "united states": "vereinigte_staaten vereinigten_staaten usa amerikanisch états-unis américain "
                     "estados_unidos estadounidense stati_uniti americano",
    "united kingdom": "vereinigtes_königreich großbritannien britisch royaume-uni britannique reino_unido "
                      "británico regno_unito britannico",
    "china": "chinesisch chine chinois chino cina cinese",
    "japan": "japanisch japon japonais japón japonés giappone giapponese",
    "south korea": "südkorea südkoreanisch corée_du_sud corea_del_sur corea_del_sud",
    "north korea": "nordkorea nordkoreanisch corée_du_nord corea_del_norte corea_del_nord",
    "taiwan": "taiwanisch taïwanais taiwanés taiwanese",
    "russia": "russland russisch russie russe rusia ruso russo",
    "india": "indien indisch inde indio indiano",
    "germany": "deutschland deutsch allemagne allemand alemania alemán germania tedesco",
    "france": "frankreich französisch français francia francés francese",
    "italy": "italien italienisch italie italia italiano",
    "australia": "australien australisch australie australiano",
    "canada": "kanada kanadisch canadien canadá canadiense canadese",
    "brazil": "brasilien brasilianisch brésil brésilien brasil brasileño brasile brasiliano",
    "mexico": "mexiko mexikanisch mexique mexicain méxico mexicano messico messicano",
    "philippines": "philippinen philippinisch philippin filipinas filippine filippino",
    "vietnam": "vietnamesisch vietnamien vietnamita",
    "indonesia": "indonesien indonesisch indonésie indonésien indonesio indonesiano",
    "pakistan": "pakistanisch pakistanais pakistán pakistaní pakistano",
    "iran": "iranisch iranien irán iraní iraniano",
    "israel": "israelisch israël israélien israelí israele israeliano",
    "ukraine": "ukrainisch ukrainien ucrania ucraniano ucraina ucraino",
    "european union": "europäische_union union_européenne unión_europea unione_europea",
    "united nations": "vereinte_nationen nations_unies naciones_unidas nazioni_unite",
}


def _inflected(word: str) -> list[str]:
    """A German country adjective with its endings ("indisch" -> "indische", "indischen", ...)."""
    if word.endswith("isch") or word == "deutsch":
        return [word] + [word + end for end in ("e", "en", "er", "es", "em")]
    return [word]


_FOREIGN_NAMES = {c: [f.replace("_", " ") for w in ws.split() for f in _inflected(w)] for c, ws in _FOREIGN.items()}

_ALIASES: dict[str, set[str]] = {}
for country, others in _COUNTRIES.items():
    group = {country, *(w.replace(".", "") for w in others.split()), *_FOREIGN_NAMES.get(country, ())}
    for word in group:
        _ALIASES.setdefault(word, set()).update(group)


def _key(name: str) -> str:
    """A name as the alias table spells it: lower case, no dots ("U.S." -> "us")."""
    return " ".join(w.replace(".", "") for w in _words(name))


def question_names(question: str) -> list[str]:
    """The names a question mentions ("When did Shinzo Abe die?" -> ["Shinzo Abe"])."""
    names = []
    for m in _NAME.finditer(question):
        words = m.group(0).split()
        while words and words[0] in _OPENERS:
            words.pop(0)
        if words:
            names.append(" ".join(words))
    return names


def _words(text: str) -> list[str]:
    return [w.lower().removesuffix("’s").removesuffix("'s") for w in re.findall(r"[\w’'.-]+", text)]


def foreign_names(question: str) -> dict[str, list[str]]:
    """The other-language names of the countries a question names, by the question's own word for
    them ("India's" -> {"india": ["indien", "indische", "inde", ...]}), for reading passages in
    those languages."""
    words = [w for w in _words(question) if w]
    found: dict[str, list[str]] = {}
    for name in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
        for alias in sorted(_ALIASES.get(name.replace(".", ""), ())):
            if alias in _COUNTRIES:
                english = {alias, *(w.replace(".", "") for w in _COUNTRIES[alias].split())}
                listed = found.setdefault(name, [])
                listed.extend(n for n in _FOREIGN_NAMES.get(alias, ()) if n not in listed and n not in english)
    return {k: v for k, v in found.items() if v}


def is_country(name: str) -> bool:
    """Whether ``name`` is a country (or its capital or demonym) in the alias table."""
    return _key(name) in _ALIASES

