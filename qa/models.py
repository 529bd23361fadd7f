"""Pydantic models that cross module boundaries.

All are frozen and reject unknown fields. Offsets (``start``/``end``) are character offsets into
the article's *stored text*, so that ``stored_text[start:end] == text`` holds for every passage,
sentence, answer and citation. Which text that is, each article says in ``text_of``:

- ``"file"`` (``.txt``, ``.md``): the file's bytes decoded as UTF-8, no newline translation, so
  the offsets are into the file itself (a Markdown front matter is left out of the kept text but
  still counted);
- ``"extracted"`` (``.html``, ``.htm``, records of ``.jsonl``/``.json`` exports): the article text
  taken out of the page or the record, which is stored with the index and printed by ``qa show``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(_Model):
    """A verbatim piece of an article."""

    text: str
    """The text, exactly as in the file."""
    start: int = Field(ge=0)
    """Offset of the first character in the article's stored text."""
    end: int = Field(ge=0)
    """Offset one past the last character."""


TextOf = Literal["file", "extracted"]
"""What an article's offsets point into: its file's decoded text, or the text extracted from it."""

Format = Literal["text", "markdown", "html", "jsonl", "json"]
"""The kind of file an article comes from."""


class Article(_Model):
    """One article of the corpus, with what ingest learned about it."""

    source: str
    """Path relative to the corpus folder, with forward slashes (e.g. ``000_50d2.txt``); for an
    article of a JSON Lines or JSON export, ``FILE#ID`` (its ``id`` field) or ``FILE#N`` (its line,
    or its position in the file's list)."""
    file: str = ""
    """The file it comes from, relative to the corpus folder (the source without ``#ID``)."""
    format: Format = "text"
    """The kind of file: text, markdown, html, jsonl or json."""
    text_of: TextOf = "file"
    """What the offsets point into: "file" (the file's decoded text) or "extracted" (the article
    text taken out of an HTML page or an export record, stored with the index)."""
    url: str | None = None
    """The article's address, when the page or the record states it."""
    author: str | None = None
    """The author, when the page, the front matter or the record states one."""
    title: str
    """The headline, or the first sentence when the file has no headline line."""
    date: str | None = None
    """Publication date as ISO ``YYYY-MM-DD`` when the text states one."""
    date_from: str | None = None
    """Where the date was read: "published line", "date line", "byline", "dateline", ..."""
    updated: str | None = None
    """The date of an "Updated ..." stamp, when the page has one."""
    outlet: str | None = None
    """The publishing outlet when the text names it (dateline or copyright line)."""
    sha256: str
    """Hash of the article's content (a text file's bytes, a record's fields); a change means the
    article is embedded again."""
    size: int = Field(ge=0)
    """Size in bytes of its file when it was read."""
    mtime_ns: int
    """Modification time of its file when it was read; a cheap first check before hashing."""
    chars: int = Field(ge=0)
    """Length of the stored text."""
    kept: list[tuple[int, int]]
    """Regions of article text left after removing page debris and front matter, as (start, end)
    offsets into the stored text."""
    warnings: list[str] = []
    """Problems met while reading (e.g. bytes that were not UTF-8)."""


class Passage(_Model):
    """A window of whole sentences from one article, the unit of retrieval."""

    id: str
    """Stable identifier: ``<source>#<n>``, n counting passages within the article."""
    source: str
    """The article's path relative to the corpus folder."""
    start: int
    """Offset of the first character in the article's stored text."""
    end: int
    """Offset one past the last character."""
    text: str
    """``stored_text[start:end]``."""


class ResolvedDate(_Model):
    """A relative time in an answer's sentence ("next month") resolved against its article's date."""

    text: str
    """The words, exactly as in the file."""
    start: int = Field(ge=0)
    """Offset in the article's stored text."""
    end: int = Field(ge=0)
    value: str
    """ISO, as precise as the words: "2026", "2026-03", "2026-03-03"."""


class Answer(_Model):
    """The answer: text copied verbatim from an article."""

    text: str
    """The shortest span that answers, or the whole sentence when no shorter span is sure."""
    source: str
    """The article's path relative to the corpus folder."""
    start: int
    """Offset of the answer in the article's stored text."""
    end: int
    """Offset one past the answer's last character."""
    confidence: float = Field(ge=0.0, le=1.0)
    """How sure the answerer is, between 0 and 1."""
    sentence: Span
    """The sentence that contains the answer."""
    kind: str = "phrase"
    """What sort of thing the reader's span is: person, date, number, place, organisation, quote,
    phrase, or sentence when it is the whole sentence (follow-up questions use it: "When will she
    visit?")."""
    resolved_dates: list[ResolvedDate] = []
    """Relative times in the sentence resolved against the article's date; empty when the
    article is undated."""


class Alternative(_Model):
    """Another article's answer to the same question: agreeing with the answer, or differing."""

    text: str
    """Its answer span, verbatim."""
    source: str
    """Its article's path relative to the corpus folder."""
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    sentence: Span
    """The sentence holding it."""
    agrees: bool
    """True when it says the same as the answer ("$9.4bn" and "$9.4 billion")."""
    title: str
    """Its article's title."""
    date: str | None
    """Its article's date, when known."""
    outlet: str | None
    """Its article's outlet, when known."""
    confidence: float = Field(ge=0.0, le=1.0)
    """The answerer's confidence in it."""
    resolved_dates: list[ResolvedDate] = []
    """Relative times in its sentence resolved against its article's date."""


class TimelineEntry(_Model):
    """One dated sentence of a timeline."""

    text: str
    """The sentence, verbatim."""
    source: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    title: str
    outlet: str | None
    article_date: str | None
    """The article's date."""
    when: str | None
    """The date the timeline places it at: the first date the sentence names (resolved against the
    article's date), else the article's date; None when neither is known (listed last)."""
    when_from: Literal["sentence", "article"] | None
    """Where ``when`` came from."""
    n: int | None = None
    """The number of its citation, when it is among the citations."""

class Citation(_Model):
    """A retrieved passage as shown to the user, numbered in rank order."""

    n: int = Field(ge=1)
    """Citation number, 1 for the answer's passage."""
    source: str
    """The article's path relative to the corpus folder."""
    title: str
    """The article's title."""
    date: str | None
    """The article's date (ISO) when known."""
    outlet: str | None
    """The article's outlet when known."""
    url: str | None = None
    """The article's address when the page or the record states it."""
    text_of: TextOf = "file"
    """What ``start``/``end`` point into: "file" (the file's decoded text) or "extracted" (the
    article text taken out of an HTML page or an export record; ``qa show SOURCE:START-END``
    prints it)."""
    passage_id: str
    """The passage's identifier."""
    start: int
    """Offset of the passage in the article's stored text."""
    end: int
    """Offset one past the passage's last character."""
    text: str
    """The passage text, ``stored_text[start:end]``."""
    score: float
    """Its retrieval score. Citations are ordered by the answerer: the answer's passage, then the
    rest by this score (with the other articles' answers always among them)."""
    also_in: list[str] = []
    """Other articles that carry the same passage (wire copies), which are not cited again."""

    @property
    def byline(self) -> str:
        """Outlet and date, as far as they are known ("Jiji Press, 2026-01-03"), else empty."""
        return ", ".join(x for x in (self.outlet, self.date) if x)


class ReaderScores(_Model):
    """The reading model's scores behind an answer or an abstention (its best candidate)."""

    span_score: float
    """Start + end logit of the best span."""
    no_answer_score: float
    """Start + end logit of "no answer" for the same passage."""
    retrieval_score: float
    """The passage's retrieval score."""
    passages_read: int
    """How many passages the reader read."""


class AskResult(_Model):
    """What ``qa ask`` returns: the answer (or an abstention) and the passages behind it."""

    question: str
    """The question as asked."""
    abstained: bool
    """True when nothing in the articles answers the question."""
    answer: Answer | None
    """The answer; None exactly when ``abstained`` is true."""
    citations: list[Citation]
    """The retrieved passages in rank order, the answer's passage first."""
    resolved_question: str | None = None
    """For a follow-up, the self-contained question it was answered as."""
    followup_of: str | None = None
    """For a follow-up, the previous question it was resolved against."""
    reason: str | None = None
    """Why the answerer abstained or what limited its confidence, in a few words."""
    notices: list[str] = []
    """Things the user should know (question truncated, index stale, ...)."""
    reader: ReaderScores | None = None
    """The reader's scores for its best candidate; None when it read nothing."""
    alternatives: list[Alternative] = []
    """Other articles' answers the answer card shows: those that agree and those that differ."""
    timeline: list[TimelineEntry] | None = None
    """For a timeline question (or ``--timeline``), the relevant sentences in date order."""


class IndexedArticle(_Model):
    """An article as recorded in the index manifest."""

    article: Article
    """The article's metadata and content hash."""
    passages: int = Field(ge=0)
    """How many passages it was split into."""
    sentences: int = Field(ge=0)
    """How many sentences it was split into."""


class IndexSettings(_Model):
    """Everything that decides what an index contains; an index built otherwise is rebuilt."""

    model: str
    """Identity of the embedding model."""
    dim: int
    """Embedding dimension."""
    max_tokens: int
    """Word-piece limit of one passage with its title (the model's limit)."""
    passage_tokens: int
    """Target word pieces of a passage window."""
    overlap_sentences: int
    """Sentences shared by consecutive passages."""
    format: int
    """Version of the on-disk layout and of the ingest/chunking rules."""
    store: str = "local"
    """Where search lives: ``local`` (FAISS and BM25 files) or a Milvus (``milvus:PATH.db``,
    ``http://HOST:PORT``): see ``qa.search.milvus``."""


class SkippedFile(_Model):
    """A file of the corpus that holds no usable article, as it was when it was read."""

    source: str
    """Its path relative to the corpus folder."""
    size: int = Field(ge=0)
    mtime_ns: int
    why: str
    """The warning it gave ("skipped x.html: no article text was found in the page")."""


class IndexManifest(_Model):
    """The index folder's table of contents, written last and atomically."""

    settings: IndexSettings
    """How the index was built."""
    corpus: str
    """Absolute path of the corpus folder it was built from."""
    created: str
    """When this generation was written (ISO timestamp, UTC)."""
    articles: list[IndexedArticle]
    """The indexed articles, in passage order."""
    passages: int
    """Total passages."""
    sentences: int
    """Total sentences."""
    files: dict[str, str]
    """SHA-256 of every data file of this generation, checked on load."""
    index_type: str
    """The FAISS index type used for passages (e.g. ``Flat``)."""
    encoder: str
    """How the passage vectors were computed (e.g. ``torch-bf16``), for the record."""
    collection: str | None = None
    """The Milvus collection that searches this generation (the ``milvus`` store), else None."""
    skipped: list[SkippedFile] = []
    """Files that held no article when this generation was written: while their size and time
    stay the same, checking whether the index is current does not read them again."""


class EvalQuestion(_Model):
    """One line of a question file for ``qa eval``."""

    id: str
    """Identifier of the question."""
    question: str
    """The question."""
    answers: list[str]
    """Acceptable answer strings as they appear in the article text; empty if unanswerable."""
    sources: list[str]
    """Article paths that answer it; empty if unanswerable."""


EvalLabel = Literal[
    "retrieval miss",
    "wrong sentence",
    "span miss",
    "wrong abstention",
    "answered unanswerable",
]


class EvalResult(_Model):
    """One question's outcome in ``qa eval --json``."""

    id: str
    """The question's identifier."""
    question: str
    """The question."""
    abstained: bool
    """Whether the answerer abstained."""
    answer: Answer | None
    """The answer, exactly as in ``qa ask --json``."""
    citations: list[Citation]
    """The citations, exactly as in ``qa ask --json``."""
    alternatives: list[Alternative] = []
    """The other articles' answers, exactly as in ``qa ask --json``."""
    labels: list[EvalLabel]
    """What went wrong, if anything."""
