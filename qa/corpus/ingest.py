"""Files -> articles: find the article files, read each format (``qa/corpus/formats.py``), mark page
debris, read title/date/outlet.

Nothing here changes the stored text (a text file's decoded bytes, or the text extracted from a
page or a record). Cleaning produces the *kept* regions, (start, end) offsets into it, so that
everything downstream can quote ``stored_text[start:end]`` exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from qa.corpus.boilerplate import clean
from qa.corpus.formats import FORMATS, SkipFile, decode, format_of
from qa.corpus.formats import read as read_documents
from qa.corpus.metadata import metadata
from qa.errors import CorpusError
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
