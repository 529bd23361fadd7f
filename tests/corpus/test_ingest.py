"""Ingest: discovery, decoding, debris cleaning with offsets kept, and metadata, on the seeds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.corpus import ingest
from qa.errors import CorpusError
from qa.text.dates import parse_date
from tests.conftest import SEEDS


def load(path: Path, root: Path) -> ingest.LoadedArticle:
    file = ingest.ArticleFile(path, path.relative_to(root).as_posix())
    data, st = ingest.read_file(file)
    (loaded,), _ = ingest.load_articles(file, data, st)
    return loaded


def kept_text(loaded: ingest.LoadedArticle) -> str:
    return "\n".join(loaded.text[s:e] for s, e in loaded.article.kept)


@pytest.fixture(scope="module")
def seeds() -> dict[str, ingest.LoadedArticle]:
    return {f.source: load(f.path, SEEDS) for f in ingest.discover(SEEDS).files}


def test_discovers_the_five_seed_articles() -> None:
    found = ingest.discover(SEEDS)
    assert [f.source for f in found.files] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len(found.files) == 5


def test_kept_regions_are_offsets_into_the_original_text(seeds: dict[str, ingest.LoadedArticle]) -> None:
    for loaded in seeds.values():
        raw = (SEEDS / loaded.article.source).read_bytes().decode("utf-8")
        assert loaded.text == raw
        previous_end = 0
        for start, end in loaded.article.kept:
            assert previous_end <= start < end <= len(raw)
            assert raw[start:end] == raw[start:end].strip()
            previous_end = end


@pytest.mark.parametrize(
    "debris",
    [
        "LEAVE A REPLY",
        "Please enter your comment!",
        "Please enter your name here",
        "Most Popular",
        "Don't Miss",
        "RELATED ARTICLES",
        "Diese Website verwendet Cookies",
        "Wir verwenden Cookies",
        "Ablehnen",
        "HomeGlobal Relations",
        "[Copyright The Jiji Press, Ltd.]",
        "Bild generiert von KI",
        "Von KI berichtet",
        "INTERVIEW: Japan Biz Leader",  # a teaser for another article after the copyright trailer
    ],
)
def test_page_debris_is_removed(seeds: dict[str, ingest.LoadedArticle], debris: str) -> None:
    assert any(debris in loaded.text for loaded in seeds.values()), "the seed should contain it"
    assert not any(debris in kept_text(loaded) for loaded in seeds.values())


def test_article_text_and_german_paragraphs_are_kept(seeds: dict[str, ingest.LoadedArticle]) -> None:
    text = kept_text(seeds["002_4e2dab5310ce0896.txt"])
    assert "Die japanische Premierministerin Sanae Takaichi" in text
    assert "Im Jahr 2025 stieß Indien auf erhebliche Hürden" in text
    assert "Takaichi und Trump halten erstes Gipfeltreffen in Tokio ab" in text
    ending = "fully kicking off her multifaceted diplomacy."
    assert kept_text(seeds["000_50d2cdad97c7c4d1.txt"]).endswith(ending)
    # the headline appears twice in 003; the copy is dropped, the article keeps one
    assert kept_text(seeds["003_092c08207db673d3.txt"]).count("US Power Shift: A Crucial Moment") == 1


@pytest.mark.parametrize(
    ("source", "title", "date", "outlet"),
    [
        (
            "000_50d2cdad97c7c4d1.txt",
            "Japan to Seek Thaw with China as Key Diplomatic Theme in 2026",
            "2026-01-03",
            "Jiji Press",
        ),
        (
            "002_4e2dab5310ce0896.txt",
            "Japan's 2026 Diplomatic Tests: Trump, China Deal Fears, and Alliance Stability",
            None,
            None,
        ),
        (
            "003_092c08207db673d3.txt",
            "US Power Shift: A Crucial Moment for Japan to Rebuild Relations with China – Opinion",
            "2025-10-21",
            None,
        ),
        ("004_6e0a6a8466ff434c.txt", "Japan seeks better ties with China ahead of second Trump term", None, None),
    ],
)
def test_metadata_of_the_seeds(
    seeds: dict[str, ingest.LoadedArticle], source: str, title: str, date: str | None, outlet: str | None
) -> None:
    article = seeds[source].article
    assert (article.title, article.date, article.outlet) == (title, date, outlet)


def test_an_article_without_a_headline_is_titled_by_its_first_sentence(seeds: dict[str, ingest.LoadedArticle]) -> None:
    article = seeds["001_f1cc1f818dc810ca.txt"].article
    assert article.title.startswith("Japan’s foreign policy as 2026 begins")
    assert "TOKYO" not in article.title


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("3 Gennaio 2026", "2026-01-03"),
        ("Tuesday, October 21, 2025", "2025-10-21"),
        ("21. Oktober 2025", "2025-10-21"),
        ("Jan. 3, 2026", "2026-01-03"),
        ("2024-09-27", "2024-09-27"),
        ("31 December 2025", "2025-12-31"),
        ("no date here", None),
        ("31 February 2025", None),
    ],
)
def test_dates_in_several_languages_and_formats(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_dateline_without_a_year_takes_the_year_from_the_text() -> None:
    text = "A Headline About Things\n\nOsaka, Feb. 7 (Kyodo)–Something happened in 2025 and more.\n"
    kept = ingest.clean(text)
    meta = ingest.metadata(text, kept)
    assert (meta.date, meta.date_from, meta.outlet) == ("2025-02-07", "dateline (year from the text)", "Kyodo")


@pytest.mark.parametrize(
    ("text", "date", "date_from", "updated", "outlet"),
    [
        # a "Published" stamp beats the dateline; the "Updated" stamp is kept apart
        (
            "Big News Story Here\n\nPublished: 3 March 2026 | Updated: 4 March 2026\n\n"
            "Rome, March 2 (Wire)–Text of the story.\n",
            "2026-03-03",
            "published line",
            "2026-03-04",
            "Wire",
        ),
        # a byline with the outlet and the date
        (
            "Big News Story Here\n\nBy Tom Reyes | The Daily Ledger | January 6, 2026\n\nText of the story follows.\n",
            "2026-01-06",
            "byline",
            None,
            "The Daily Ledger",
        ),
        # the dateline is the publication date; a later "Updated" stamp at the bottom does not replace it
        (
            "Big News Story Here\n\nMilan, Feb. 20 (Northline News)–Text of the story.\n\nUpdated: February 21, 2026\n",
            "2026-02-20",
            "dateline (year from the text)",
            "2026-02-21",
            "Northline News",
        ),
        # only an "Updated" stamp: that is the best date there is
        (
            "Big News Story Here\n\nText of the story, which is long enough to be prose.\n\n"
            "Last updated on 5 May 2025\n",
            "2025-05-05",
            "updated line",
            "2025-05-05",
            None,
        ),
        # a date in the prose is not the article's date
        (
            "Big News Story Here\n\nThe treaty was signed on 5 May 2025 in Osaka by both ministers.\n",
            None,
            None,
            None,
            None,
        ),
    ],
)
def test_publication_dates_are_read_from_stamps_bylines_and_datelines(
    text: str, date: str | None, date_from: str | None, updated: str | None, outlet: str | None
) -> None:
    meta = ingest.metadata(text, ingest.clean(text))
    assert (meta.date, meta.date_from, meta.updated, meta.outlet) == (date, date_from, updated, outlet)


def test_invalid_utf8_is_replaced_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"A Title Of Some Length\n\nValid text \xff\xfe then more text.\n")
    loaded = load(path, tmp_path)
    assert "\ufffd" in loaded.text
    assert loaded.article.warnings and "UTF-8" in loaded.article.warnings[0]


def test_discovery_takes_txt_and_md_recursively_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "sub" / "b.MD").write_text("x")
    (tmp_path / "notes.pdf").write_text("x")
    (tmp_path / ".git" / "c.txt").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    assert [f.source for f in ingest.discover(tmp_path).files] == ["a.txt", "sub/b.MD"]


def test_symlink_loop_is_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    os.symlink(tmp_path, tmp_path / "loop")
    found = ingest.discover(tmp_path)
    assert [f.source for f in found.files] == ["a.txt"]
    assert any("loop" in w for w in found.warnings)


@pytest.mark.parametrize("make", ["missing", "file", "empty", "no-articles"])
def test_unusable_corpus_folders_are_named_in_the_error(tmp_path: Path, make: str) -> None:
    target = tmp_path / "corpus"
    if make == "file":
        target.write_text("x")
    elif make == "empty":
        target.mkdir()
    elif make == "no-articles":
        target.mkdir()
        (target / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(CorpusError, match=str(target)):
        ingest.discover(target)


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "empty"), (b"  \n\n", "empty"), (b"\x00\x01binary\x00", "binary")],
)
def test_files_that_cannot_be_articles_are_refused(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(ingest.SkipFile, match=why):
        ingest.read_file(ingest.ArticleFile(path, "x.txt"))
