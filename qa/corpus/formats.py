"""Article files of each format -> documents: the text to store, what its offsets point into, and
the metadata the file states about itself.

- ``.txt``: the decoded file is the text (offsets into the file); metadata comes from the text.
- ``.md``: the same, with a front matter header (YAML ``---``, TOML ``+++`` or JSON, read with
  python-frontmatter) taken as metadata and left out of the article text.
- ``.html``/``.htm``: trafilatura extracts the article text (menus, banners, sign-up boxes,
  comments, related links and footers left out) with its title, date (htmldate), site name,
  author and URL; the extracted text is what is stored and quoted.
- ``.jsonl``/``.json``: exports of a news API or a scraper, one object per article, with its text
  in ``text``, ``content`` or ``body`` (HTML in it is extracted like a page).

Heavy libraries are imported only when a file of their format is read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qa.models import Format, TextOf
from qa.text.dates import as_date

FORMATS: dict[str, Format] = {
    ".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".jsonl": "jsonl", ".json": "json",
}
"""File name endings read as articles, and their format."""

TEXT_FIELDS = ("text", "content", "body")
"""Fields of an export record that hold the article text, in order of preference."""
_HTML_FIELDS = ("html", "content_html", "body_html")
_TITLE_FIELDS = ("title", "headline")
_DATE_FIELDS = ("date", "published", "published_at", "publishedAt", "pubDate", "datePublished", "date_published")
_UPDATED_FIELDS = ("updated", "updated_at", "updatedAt", "modified", "dateModified", "date_modified")
_OUTLET_FIELDS = ("outlet", "source", "publisher", "site_name", "sitename", "site")
_URL_FIELDS = ("url", "link", "canonical_url")
_AUTHOR_FIELDS = ("author", "authors", "byline", "creator")
_ID_FIELDS = ("id", "_id", "uuid", "guid")
_LIST_KEYS = ("articles", "items", "data", "results", "entries", "posts", "documents", "records")
"""Keys under which a JSON export holds its list of articles ({"articles": [...]})."""


MIN_WORDS = 8
"""A page whose extracted text is shorter than this many words holds no article (a navigation
link or a cookie notice is all that is left of it)."""


class SkipFile(Exception):
    """The file cannot be used as an article; the message says why."""


@dataclass
class Document:
    """One article read from a file: its stored text and what the file says about it."""

    source: str
    text: str
    text_of: TextOf
    format: Format
    sha256: str
    body_start: int = 0
    """Where the article text starts in ``text`` (after a front matter header)."""
    title: str | None = None
    date: str | None = None
    date_from: str | None = None
    updated: str | None = None
    outlet: str | None = None
    url: str | None = None
    author: str | None = None
    warnings: list[str] = field(default_factory=list)


def format_of(name: str) -> Format | None:
    """The format of a file name, or None when it is not an article file."""
    lower = name.lower()
    for suffix, fmt in FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    return None


def decode(data: bytes) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8; undecodable bytes become U+FFFD with a warning."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
        return text, [f"{bad} byte sequence(s) were not valid UTF-8 and were replaced with U+FFFD"]


def read(source: str, data: bytes) -> tuple[list[Document], list[str]]:
    """The articles of one file's bytes and warnings naming what was skipped inside it. Raises
    SkipFile when the file holds no usable article."""
    fmt = format_of(source) or "text"
    if fmt == "html":
        return [_html(source, data)], []
    if fmt in ("jsonl", "json"):
        return _records(source, data, fmt)
    text, warnings = decode(data)
    doc = Document(source, text, "file", fmt, hashlib.sha256(data).hexdigest(), warnings=warnings)
    if fmt == "markdown":
        _front_matter(doc)
    if not text[doc.body_start:].strip():
        raise SkipFile("the file holds no text" + (" besides its front matter" if doc.body_start else ""))
    return [doc], []


# --------------------------------------------------------------------------- values


def _text_value(value: Any) -> str | None:
    """A metadata value as one line of text: strings, numbers, a {"name": ...} object, lists joined."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or value.get("id")
    if isinstance(value, list):
        parts = [p for p in map(_text_value, value) if p]
        return ", ".join(parts) if parts else None
    if isinstance(value, bool) or value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _first(record: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


# --------------------------------------------------------------------------- Markdown


def _front_matter(doc: Document) -> None:
    """Read a Markdown file's front matter into ``doc``'s fields; the body starts after it."""
    import frontmatter

    handler = frontmatter.detect_format(doc.text, frontmatter.handlers)
    if handler is None:
        return
    try:
        header, body = handler.split(doc.text)
        values = handler.load(header)
    except Exception as exc:  # YAML, TOML and JSON parsers raise their own error types
        doc.warnings.append(f"its front matter could not be read ({type(exc).__name__}); read as text")
        return
    if not isinstance(values, dict):
        return
    doc.body_start = len(doc.text) - len(body)
    _fill(doc, values, "front matter")


def _fill(doc: Document, values: dict[str, Any], origin: str) -> None:
    """Metadata fields of a front matter or an export record."""
    doc.title = _text_value(_first(values, _TITLE_FIELDS))
    raw_date = _first(values, _DATE_FIELDS)
    doc.date = as_date(raw_date)
    if doc.date:
        doc.date_from = origin
    elif raw_date is not None:
        doc.warnings.append(f"its date {str(raw_date)[:40]!r} is not a date qa can read; left undated")
    doc.updated = as_date(_first(values, _UPDATED_FIELDS))
    doc.outlet = _text_value(_first(values, _OUTLET_FIELDS))
    doc.url = _text_value(_first(values, _URL_FIELDS))
    doc.author = _text_value(_first(values, _AUTHOR_FIELDS))


# --------------------------------------------------------------------------- HTML


def extract_html(html: str | bytes, url: str | None = None) -> Any:
    """trafilatura's extraction of a page: article text without the page's chrome, and metadata."""
    import trafilatura

    return trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        # precision over recall: a sign-up box or a promotion left in would be quoted as article
        # text (measured on the test pages: the article's paragraphs are all kept either way)
        favor_precision=True,
        include_tables=True,
        include_images=False,
        include_links=False,
        deduplicate=False,
        # dates the page's markup states (meta tags, JSON-LD, <time>, the URL); the extensive search
        # would guess from any date on the page, even a copyright year ("2026-01-01")
        date_extraction_params={"extensive_search": False, "original_date": True},
    )


def _html(source: str, data: bytes) -> Document:
    try:
        extracted = extract_html(data)
    except Exception as exc:  # lxml and trafilatura raise their own error types on broken markup
        raise SkipFile(f"the page could not be parsed ({type(exc).__name__})") from None
    text = (getattr(extracted, "text", None) or "").strip()
    if len(text.split()) < MIN_WORDS:
        raise SkipFile("no article text was found in the page" + (f" (only {text[:40]!r})" if text else ""))
    doc = Document(source, text, "extracted", "html", hashlib.sha256(data).hexdigest())
    doc.title = _text_value(extracted.title)
    doc.date = as_date(extracted.date)
    doc.date_from = "page metadata" if doc.date else None
    doc.outlet = _text_value(extracted.sitename)
    doc.url = _text_value(extracted.url)
    doc.author = _text_value(extracted.author)
    return doc


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(?:p|div|br|article|section|span|a|h[1-6]|ul|li|strong|em)\b[^>]*>", text, re.IGNORECASE))


# --------------------------------------------------------------------------- JSON Lines / JSON


def _objects(data: bytes, fmt: str) -> Iterator[tuple[int, Any, str | None]]:
    """(line or position, object, problem) for each record of an export."""
    text, _ = decode(data)
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON ({exc.msg})"
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(value, dict):
        listed = next((value[k] for k in _LIST_KEYS if isinstance(value.get(k), list)), None)
        value = listed if listed is not None else [value]
    if not isinstance(value, list):
        raise SkipFile("the JSON holds neither an article object nor a list of them")
    for number, item in enumerate(value, 1):
        yield number, item, None


def _records(source: str, data: bytes, fmt: str) -> tuple[list[Document], list[str]]:
    where = "line" if fmt == "jsonl" else "item"
    docs: list[Document] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for number, record, problem in _objects(data, fmt):
        if problem is None and not isinstance(record, dict):
            problem = "not a JSON object"
        if problem is None:
            assert isinstance(record, dict)
            doc = _record(source, number, record, seen)
            if isinstance(doc, str):
                problem = doc
            else:
                docs.append(doc)
                seen.add(doc.source)
                continue
        warnings.append(f"{source} {where} {number}: {problem}; skipped")
    if not docs:
        raise SkipFile(f"no article in it has a {', '.join(TEXT_FIELDS[:-1])} or {TEXT_FIELDS[-1]} field"
                       + (f" ({warnings[0]})" if warnings else ""))
    return docs, warnings


def _record(source: str, number: int, record: dict[str, Any], seen: set[str]) -> Document | str:
    """The Document of one export record, or why it is not an article."""
    body = next((v for k in TEXT_FIELDS if isinstance(v := record.get(k), str) and v.strip()), None)
    html = body if body is not None and _looks_like_html(body) else None
    if body is None:
        html = next((v for k in _HTML_FIELDS if isinstance(v := record.get(k), str) and v.strip()), None)
    if html is not None:
        try:
            extracted = extract_html(f"<html><body><article>{html}</article></body></html>")
            body = (getattr(extracted, "text", None) or "").strip() or None
        except Exception:  # broken markup: fall back to the raw field
            body = body or None
    if body is None:
        return f"no {', '.join(TEXT_FIELDS[:-1])} or {TEXT_FIELDS[-1]} field with text"
    ident = _text_value(_first(record, _ID_FIELDS))
    name = f"{source}#{ident}" if ident and "\n" not in ident else None
    if name is None or name in seen:  # no usable id, or one used before: the line (or position) names it
        name = f"{source}#{number}"
        while name in seen:  # an id that happens to equal a line number taken already
            name += "'"
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    doc = Document(name, body, "extracted", "jsonl" if source.lower().endswith(".jsonl") else "json",
                   hashlib.sha256(canonical).hexdigest())
    _fill(doc, record, "record field")
    return doc
