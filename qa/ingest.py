"""Files -> articles: find the article files, read each format (``qa/formats.py``), mark page
debris, read title/date/outlet.

Nothing here changes the stored text (a text file's decoded bytes, or the text extracted from a
page or a record). Cleaning produces the *kept* regions, (start, end) offsets into it, so that
everything downstream can quote ``stored_text[start:end]`` exactly.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import CorpusError
from qa.formats import FORMATS, SkipFile, decode, format_of
from qa.formats import read as read_documents
from qa.models import Article

__all__ = ["SkipFile", "decode", "discover", "load_articles", "read_file", "clean", "metadata"]

_KINDS = ", ".join(sorted(FORMATS))
_ALL_DEBRIS = "no article text is left once page debris is removed"


@dataclass
class ArticleFile:
    """An article file found under the corpus folder."""

    path: Path
    source: str


@dataclass
class Discovery:
    """The article files of a corpus folder and the problems met finding them."""

    files: list[ArticleFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def discover(root: Path) -> Discovery:
    """List every article file (.txt, .md, .html, .htm, .jsonl, .json) under ``root`` (symlinks
    followed, loops and hidden folders skipped)."""
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist; pass --corpus DIR or set QA_CORPUS")
    if not root.is_dir():
        raise CorpusError(f"corpus path {root} is not a folder; pass --corpus DIR with a folder of articles")
    found = Discovery()
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(err: OSError) -> None:
        found.warnings.append(f"skipped {err.filename}: {err.strerror or err}")

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        try:
            st = os.stat(dirpath)
        except OSError as err:
            on_error(err)
            dirnames[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop or a second link to the same folder
            found.warnings.append(f"skipped {dirpath}: already visited (symlink loop?)")
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or format_of(name) is None:
                continue
            path = Path(dirpath) / name
            if not path.is_file():
                why = "a broken symbolic link" if path.is_symlink() and not path.exists() else "not a regular file"
                found.warnings.append(f"skipped {path.relative_to(root).as_posix()}: {why}")
                continue
            found.files.append(ArticleFile(path, path.relative_to(root).as_posix()))
    found.files.sort(key=lambda f: f.source)
    if not found.files:
        raise CorpusError(
            f"corpus folder {root} holds no article files ({_KINDS}); add some or pass --corpus DIR"
        )
    return found


@dataclass
class LoadedArticle:
    """An article with its stored text."""

    article: Article
    text: str


def read_file(file: ArticleFile, max_bytes: int = 20 * 2**20) -> tuple[bytes, os.stat_result]:
    """Read an article file's bytes, refusing ones that cannot be articles."""
    try:
        st = file.path.stat()
        if st.st_size > max_bytes:
            raise SkipFile(
                f"{st.st_size / 2**20:.0f} MB is larger than the {max_bytes / 2**20:.0f} MB limit for one file "
                "(max_article_mb)"
            )
        data = file.path.read_bytes()
    except PermissionError:
        raise SkipFile("permission denied") from None
    except OSError as err:
        raise SkipFile(err.strerror or str(err)) from None
    if not data.strip():
        raise SkipFile("the file is empty")
    if b"\x00" in data[:8192]:
        raise SkipFile("the file looks binary (it contains NUL bytes)")
    return data, st


def load_articles(file: ArticleFile, data: bytes, st: os.stat_result) -> tuple[list[LoadedArticle], list[str]]:
    """The articles of a file's bytes (one, or one per record of an export) and warnings about
    records that were skipped: read the format, clean, fill what the file does not state from
    the text. Raises SkipFile when the file holds no article."""
    documents, warnings = read_documents(file.source, data)
    loaded = []
    for doc in documents:
        kept = [(doc.body_start + s, doc.body_start + e) for s, e in clean(doc.text[doc.body_start:])]
        if not kept and doc.text_of == "extracted":
            warnings.append(f"{doc.source}: {_ALL_DEBRIS}; skipped")
            continue
        found = metadata(doc.text, kept)
        date, date_from = (doc.date, doc.date_from) if doc.date else (found.date, found.date_from)
        article = Article(
            source=doc.source,
            file=file.source,
            format=doc.format,
            text_of=doc.text_of,
            title=doc.title or found.title or Path(file.source).stem,
            date=date,
            date_from=date_from,
            updated=doc.updated or found.updated,
            outlet=doc.outlet or found.outlet,
            url=doc.url,
            author=doc.author,
            sha256=doc.sha256,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            chars=len(doc.text),
            kept=kept,
            warnings=doc.warnings,
        )
        loaded.append(LoadedArticle(article, doc.text))
    if not loaded:  # every document of the file was all debris
        raise SkipFile(_ALL_DEBRIS)
    return loaded, warnings


# --------------------------------------------------------------------------- cleaning

# Labels of generated images and texts ("Bild generiert von KI"), sometimes several on one line.
_AI_LABEL = (
    r"(?:(?:bild|image|photo|foto|picture)\ (?:generiert|generated|created)\ (?:von|by)\ (?:ki|ai)"
    r"|von\ ki\ berichtet|reported\ by\ ai|ai[- ]generated(?:\ image)?)"
)
_LINE_DEBRIS = re.compile(
    r"""^(?:
      # comment forms
      leave\ a\ (?:reply|comment) | post\ (?:a\ )?comment | cancel\ reply | add\ a\ comment | \d*\ ?comments?
    | please\ enter\ your\ (?:comment|name|email(?:\ address)?|e-mail)(?:\ here)?
    | you\ have\ entered\ an\ incorrect\ email\ address
    | save\ my\ name,\ email,?\ and\ website\ in\ this\ browser.*
      # teaser headings
    | most\ (?:popular|read|viewed|shared) | don['’]t\ miss | related(?:\ (?:articles|posts|stories|news|content|coverage))?
    | you\ (?:may|might)\ also\ (?:like|be\ interested\ in) | read\ (?:more|also|next) | also\ read | see\ also
    | more\ (?:stories|news|from\ .{1,40}) | recommended(?:\ for\ you|\ stories|\ articles)? | trending(?:\ now|\ stories)?
    | popular(?:\ posts|\ stories|\ articles)? | latest(?:\ news|\ stories|\ posts|\ articles)? | editor['’]?s['’]?\ picks | top\ stories
    | verwandte\ artikel | weitere\ artikel | das\ könnte\ sie\ auch\ interessieren | mehr\ zum\ thema
    | articoli\ correlati | leggi\ anche | articles\ similaires | lire\ aussi | art[ií]culos\ relacionados | noticias\ relacionadas
      # sharing, subscribing, advertising
    | share(?:\ (?:this|on)(?:\ \w+)?)? | tweet | email | print | advertisement | sponsored(?:\ content)? | anzeige | werbung
    | subscribe(?:\ now|\ to\ .{1,40})? | sign\ up(?:\ for\ .{1,40})? | newsletter
      # labels of generated images and texts
    | {ai_label}(?:\s+{ai_label})*
      # cookie banner buttons
    | (?:accept|reject|decline|deny|agree|allow)(?:\ all)?(?:\ cookies)? | (?:alle\ )?(?:akzeptieren|ablehnen|zustimmen)
    | (?:accetta|rifiuta)(?:\ tutto)? | (?:accepter|refuser)(?:\ tout)? | (?:aceptar|rechazar)(?:\ todo)?
    | manage\ (?:preferences|cookies|settings|consent) | cookie\ (?:settings|preferences|policy|einstellungen)
    | (?:privacy|cookie)\ policy | datenschutz(?:erklärung|richtlinie)?
    )[\s.!:]*$""".replace("{ai_label}", _AI_LABEL),
    re.IGNORECASE | re.VERBOSE,
)

_COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
_COOKIE_CONTEXT = re.compile(
    r"website|web\ site|\bsite\b|we\ use|wir\ verwenden|verwendet|utilizziamo|nous\ utilisons|utilizamos|consent|"
    r"zustimm|privacy|datenschutz|browsing|experience|analytics|analysen",
    re.IGNORECASE | re.VERBOSE,
)
_BREADCRUMB = re.compile(r"^(?:Home(?=[A-Z])|Home\s*[>»›/|]|(?:[^>»›\n]{1,40}\s[>»›]\s){2,})")
_COPYRIGHT_LINE = re.compile(
    r"^\s*(?:\[\s*)?(?:copyright\b|©|\(c\)\s*\d{4})|all rights reserved|alle rechte vorbehalten|tutti i diritti riservati",
    re.IGNORECASE,
)
_COPYRIGHT_TRAILER = re.compile(
    r"(?:\s*\bEND\b)?\s*\[\s*(?:copyright|©)[^\]\n]{0,120}\]\s*$|\s+©\s*\d{4}[^.\n]{0,80}$",
    re.IGNORECASE,
)
_END_MARK = re.compile(r"^\s*(?:END|-30-|###)\s*$")


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, without its line break."""
    spans = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans


def _is_debris(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if len(stripped) <= 80 and _LINE_DEBRIS.match(stripped):
        return True
    if len(stripped) <= 400 and _COOKIE.search(stripped) and _COOKIE_CONTEXT.search(stripped):
        return True
    if len(stripped) <= 200 and (_BREADCRUMB.match(stripped) or _COPYRIGHT_LINE.search(stripped)):
        return True
    return False


def clean(text: str) -> list[tuple[int, int]]:
    """Regions of ``text`` that are article text: page debris (cookie notices, comment forms,
    teaser headings, breadcrumbs, copyright trailers and what follows them) left out."""
    kept: list[tuple[int, int]] = []
    current: list[int] | None = None
    previous_line = None

    def close() -> None:
        nonlocal current
        if current is not None:
            kept.append((current[0], current[1]))
        current = None

    for start, end in _lines(text):
        line = text[start:end]
        stripped = line.strip()
        if not stripped:
            continue
        ended = False
        if _is_debris(line) or _END_MARK.match(line) or stripped == previous_line:
            ended = bool(_COPYRIGHT_LINE.search(stripped) or _END_MARK.match(line))
            close()
        else:
            trailer = _COPYRIGHT_TRAILER.search(line)
            if trailer:
                end = start + trailer.start()
                ended = True
            # trim the line's own leading/trailing whitespace so regions start and end on text
            lead = len(line) - len(line.lstrip())
            start += lead
            end = start + len(text[start:end].rstrip())
            if end > start:
                if current is None:
                    current = [start, end]
                else:
                    current[1] = end
            if ended:
                close()
        previous_line = stripped
        if ended:  # whatever follows a copyright trailer or an END mark is teasers for other pages
            break
    close()
    return kept


# --------------------------------------------------------------------------- metadata

MONTHS = {
    # month name (or abbreviation) -> month number, in the languages the corpus is likely to use
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # Italian
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    # German
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
    # French
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "septembre": 9, "octobre": 10, "décembre": 12,
    # Spanish
    "enero": 1, "febrero": 2, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "septiembre": 9,
    "octubre": 10, "noviembre": 11, "diciembre": 12,
}
MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
"""A regex alternation of every month name and abbreviation in ``MONTHS``, longest first."""
_MONTH = r"(?P<month>" + MONTH_NAMES + r")\.?"
_WEEKDAY = (
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)"
)
_DATE_PATTERNS = [
    re.compile(r"(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})", re.IGNORECASE),
    re.compile(r"(?P<day>\d{1,2})\.?\s+" + _MONTH + r",?\s+(?P<year>\d{4})", re.IGNORECASE),
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.IGNORECASE),
]
_DATE_LINE = re.compile(
    r"^(?:(?:published|updated|posted|veröffentlicht|pubblicato)(?:\s+on)?:?\s*)?(?:" + _WEEKDAY + r",?\s+)?"
    r"(?P<date>.{6,40}?)(?:\s*[,|-]?\s*\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?\s*$",
    re.IGNORECASE,
)
_DATELINE = re.compile(
    r"^[A-Z][\w .'’-]{1,40},\s+" + _MONTH + r"\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?\s*(?:\((?P<outlet>[^)\n]{2,40})\))?",
    re.IGNORECASE,
)
_OUTLET_DATELINE = re.compile(r"^[A-Z][\w .,'’-]{1,60}\((?P<outlet>[A-Z][^)\n]{1,40})\)\s*[–—-]")
_COPYRIGHT_OUTLET = re.compile(
    r"(?:copyright|©)\s*(?:©\s*)?(?:\d{4}\s+)?(?:the\s+)?(?P<outlet>[A-Z][\w&.'’ -]{1,60}?)"
    r"(?:,?\s+(?:ltd|inc|llc|co|corp|gmbh|s\.p\.a|plc)\.?)*\s*(?:\]|\.|$|all rights)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


def _iso_date(year: int | str, month: int | str, day: int | str) -> str | None:
    """ISO date from a year, a month (number or name in one of the known languages) and a day."""
    number = int(month) if str(month).isdigit() else MONTHS.get(str(month).lower().rstrip("."), 0)
    try:
        return _dt.date(int(year), number, int(day)).isoformat()
    except ValueError:
        return None


def _date_from_match(m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    return _iso_date(groups["year"], groups.get("mnum") or groups["month"], groups["day"])


def parse_date(text: str) -> str | None:
    """The first full date (day, month, year) written in ``text``, as ISO ``YYYY-MM-DD``."""
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            date = _date_from_match(m)
            if date:
                return date
    return None


def _kept_lines(text: str, kept: list[tuple[int, int]]) -> list[str]:
    lines = []
    for start, end in kept:
        lines.extend(line.strip() for line in text[start:end].splitlines() if line.strip())
    return lines


def _is_date_line(line: str) -> str | None:
    m = _DATE_LINE.match(line)
    if not m:
        return None
    date = parse_date(m.group("date"))
    # the whole line must be the date, not a sentence that happens to contain one
    return date if date and len(line) <= 60 else None


_STAMP = re.compile(
    r"(?:^|[|·•—–,;]\s*|\s)(?P<label>(?:first\s+)?published|posted|updated|last\s+updated|modified"
    r"|veröffentlicht|aktualisiert|pubblicato|aggiornato)(?:\s+on)?\s*:?\s*(?P<rest>[^|·•]{6,60})",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^by\s+(?P<rest>[A-Z].{2,150})$", re.IGNORECASE)


def _stamps(line: str) -> list[tuple[str, str]]:
    """("published" | "updated", ISO date) for each publication stamp in a short line."""
    if len(line) > 160:
        return []
    found = []
    for m in _STAMP.finditer(line):
        date = parse_date(m.group("rest"))
        if date:
            label = m.group("label").lower()
            found.append(("updated" if any(w in label for w in ("updat", "modif", "aktual", "aggiorn")) else "published",
                          date))
    return found


def _byline(line: str) -> tuple[str | None, str | None]:
    """(ISO date, outlet) of a byline ("By Tom Reyes | The Daily Ledger | January 6, 2026")."""
    m = _BYLINE.match(line)
    if not m or len(line) > 160:
        return None, None
    parts = [p.strip() for p in re.split(r"\s[|·•—–]\s|\s-\s", m.group("rest")) if p.strip()]
    date = next((d for d in map(parse_date, parts) if d), None) or parse_date(m.group("rest"))
    outlet = next((p for p in parts[1:] if parse_date(p) is None and p[:1].isupper() and len(p.split()) <= 5
                   and not _STAMP.search(" " + p)), None)
    return date, outlet


def publication(text: str, lines: list[str]) -> tuple[str | None, str | None, str | None, str | None]:
    """(date, where the date was read, updated date, byline outlet) of an article.

    In order of trust: a "Published ..." stamp, a line that is only a date near the top, a byline
    with a date, the dateline ("Tokyo, Jan. 3 (Jiji Press)–", the year taken from the text when
    the dateline has none); an "Updated ..." stamp is the date only when nothing else gives one.
    Stamps are looked for at the top and at the bottom of the page, where sites print them."""
    edges = lines[:12] + lines[-10:] if len(lines) > 22 else lines
    published = updated = None
    for line in edges:
        for label, date in _stamps(line):
            if label == "published":
                published = published or date
            else:
                updated = updated or date
    byline_date = byline_outlet = None
    for line in lines[:12]:
        date, outlet = _byline(line)
        if date or outlet:
            byline_date, byline_outlet = date, outlet
            break
    if published:
        return published, "published line", updated, byline_outlet
    plain = next((d for line in lines[:6] if not _stamps(line) and (d := _is_date_line(line))), None)
    if plain:
        return plain, "date line", updated, byline_outlet
    if byline_date:
        return byline_date, "byline", updated, byline_outlet
    years = [int(y) for y in _YEAR.findall(text) if int(y) <= _dt.date.today().year]
    for line in lines[:12]:
        m = _DATELINE.match(line)
        if m:
            year = int(m.group("year")) if m.group("year") else (max(years) if years else None)
            date = _iso_date(year, m.group("month"), m.group("day")) if year else None
            if date:
                return date, "dateline" if m.group("year") else "dateline (year from the text)", updated, byline_outlet
            break
    if updated:
        return updated, "updated line", updated, byline_outlet
    return None, None, None, byline_outlet


def _is_headline(line: str) -> bool:
    words = line.split()
    return (
        3 <= len(words) <= 30
        and len(line) <= 200
        and not line.endswith((".", ",", ";", ":"))
        and line[0].isupper()
        and _is_date_line(line) is None
    )


_LEADING_DATELINE = re.compile(r"^[A-Z][A-Za-z .'’-]{1,30}(?:,\s[^–—\n]{1,30})?\s*[–—-]{1,2}\s*(?=[A-Z])")


def _title_from_first_sentence(paragraph: str) -> str:
    from qa.chunking import split_sentences

    body = _LEADING_DATELINE.sub("", paragraph, count=1)
    spans = split_sentences(body, 0, len(body))
    first = body[spans[0][0] : spans[0][1]] if spans else body
    first = first.strip().rstrip(".")
    if len(first) > 120:
        first = first[:120].rsplit(" ", 1)[0] + "…"
    return first


@dataclass(frozen=True)
class Metadata:
    """What an article's text says about itself; each None when the text does not state it."""

    title: str | None
    date: str | None
    date_from: str | None
    """Where the date was read ("published line", "date line", "byline", "dateline", ...)."""
    updated: str | None
    outlet: str | None


def metadata(text: str, kept: list[tuple[int, int]]) -> Metadata:
    """Title, dates and outlet of an article."""
    lines = _kept_lines(text, kept)
    header = lines[:8]
    # the headline comes before the body: stop looking at the first paragraph of prose
    title = None
    for line in header[:5]:
        if _is_headline(line):
            title = line
            break
        if len(line.split()) > 30 or line.endswith((".", "”", '"')):
            break
    if title is None and lines:
        first_para = next((line for line in lines if len(line.split()) > 8), lines[0])
        title = _title_from_first_sentence(first_para)

    date, date_from, updated, byline_outlet = publication(text, lines)
    outlet = None
    for line in lines[:12]:
        m = _DATELINE.match(line)
        if m:
            outlet = (m.group("outlet") or "").strip() or None
            break
    outlet = outlet or byline_outlet
    if outlet is None:
        for line in lines[:12]:
            m = _OUTLET_DATELINE.match(line)
            if m:
                outlet = m.group("outlet").strip()
                break
    if outlet is None:
        # the copyright trailer is cut from the kept text, so look for it in the whole file
        for m in re.finditer(r"(?:\[\s*)?(?:copyright|©)[^\n\]]{2,100}", text, re.IGNORECASE):
            o = _COPYRIGHT_OUTLET.search(m.group(0) + "]")
            if o and not _YEAR.fullmatch(o.group("outlet").strip()):
                outlet = o.group("outlet").strip()
                break
    return Metadata(title, date, date_from, updated, outlet)

