"""Article folders of every format, through the real extractor (trafilatura), the real model, the
reader and the index: saved web pages with their chrome, Markdown with front matter, JSON Lines and
JSON exports. tests/fixtures/formats/ holds one invented story (a port expansion in Valmora) told
by pages, notes and export records written for these tests, plus files that must be skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from qa.config import load_settings
from qa.corpus import formats, ingest
from qa.service import QAService
from qa.store.generations import current_generation, read_manifest
from qa.store.resume import PENDING
from qa.text.progress import Rate
from tests.conftest import ROOT, kill_when_paused, paused_qa, run_qa

FORMATS = ROOT / "tests" / "fixtures" / "formats"
PAGE, APPEAL = "valmora_port_approved.html", "valmora_fishers_appeal.htm"
NOTES, WIRE, EXPORT, VOTE = (
    "berth_schedule_notes.md",
    "port_wire.jsonl",
    "courier_export.json",
    "valmora_council_vote.txt",
)

PAGE_CHROME = [
    "We use cookies",
    "Accept all",
    "Manage preferences",
    "Subscribe from",
    "Search the Courier",
    "Home",
    "Sign up for Business Daily",
    "Your email address",
    "Share on Facebook",
    "Related articles",
    "Shipping rates climb",
    "Ferry strike strands",
    "Comments (3)",
    "ruin the old harbour",
    "Leave a comment",
    "Finally some investment",
    "All rights reserved",
    "Privacy policy",
    "Photo: Courier archive",
    "Tags:",
]
APPEAL_CHROME = [
    "Log in",
    "Newsletters",
    "Front page",
    "This site uses cookies",
    "Support local journalism",
    "Join now",
    "Share this",
    "Most read",
    "Heatwave warning",
    "You may also like",
    "Mussel prices",
    "12 comments",
    "Good luck to them",
    "Registered at the Court",
    "Copyright 2026",
]
PAGE_TEXT = [
    "The city council of Valmora voted 31 to 9 on Wednesday to approve a €1.2 billion expansion of its container port",
    "Mayor Elena Sarto said construction would begin in April and take about five years.",
    "about 3,400 jobs during construction and 900 permanent ones",
    "The cooperative plans to appeal to the regional court.",
    "The European Investment Bank has agreed to lend €400 million of the cost, the council said.",
]
APPEAL_TEXT = [
    "filed an appeal at the regional administrative court on Tuesday",
    "The cooperative, which has 140 members,",
    "said Bruno Dalla Costa, the cooperative's president.",
    "A first hearing is set for 18 May.",
]


def _read(name: str) -> tuple[list[ingest.LoadedArticle], list[str]]:
    path = FORMATS / name
    file = ingest.ArticleFile(path, name)
    data, st = ingest.read_file(file)
    return ingest.load_articles(file, data, st)


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("formats-index")


@pytest.fixture(scope="module")
def mixed(formats_index: Path, qa_env: dict[str, str]) -> QAService:
    svc = QAService(load_settings({"corpus": FORMATS, "index": formats_index}, env=qa_env))
    svc.ensure_index()
    return svc


# --------------------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    ("name", "kept", "chrome"), [(PAGE, PAGE_TEXT, PAGE_CHROME), (APPEAL, APPEAL_TEXT, APPEAL_CHROME)]
)
def test_a_page_keeps_its_article_text_and_drops_its_chrome(name: str, kept: list[str], chrome: list[str]) -> None:
    (loaded,), warnings = _read(name)
    text = loaded.text
    assert warnings == []
    for sentence in kept:
        assert sentence in text
    for piece in chrome:
        assert piece not in text, piece
    assert loaded.article.text_of == "extracted" and loaded.article.format == "html"
    assert loaded.article.kept and all(0 <= s < e <= len(text) for s, e in loaded.article.kept)


def test_a_page_states_its_title_date_outlet_author_and_url() -> None:
    (page,), _ = _read(PAGE)
    a = page.article
    assert (a.title, a.date, a.date_from, a.outlet, a.author) == (
        "Valmora approves €1.2 billion port expansion",
        "2026-03-12",
        "page metadata",
        "The Adriatic Courier",
        "Marta Kovač",
    )
    assert a.url == "https://adriatic-courier.example/business/2026/03/12/valmora-port-expansion"
    (appeal,), _ = _read(APPEAL)  # metadata from JSON-LD only
    b = appeal.article
    assert (b.title, b.date, b.outlet, b.author) == (
        "Fishers take Valmora port plan to court",
        "2026-04-02",
        "Lagoon Post",
        "Paolo Rinaldi",
    )


def test_front_matter_is_metadata_and_not_article_text() -> None:
    (notes,), warnings = _read(NOTES)
    a, text = notes.article, notes.text
    assert warnings == [] and a.text_of == "file" and a.format == "markdown"
    assert text == (FORMATS / NOTES).read_text(encoding="utf-8")  # offsets are into the file itself
    assert (a.title, a.date, a.date_from, a.outlet, a.url, a.author) == (
        "Valmora port: the berth schedule",
        "2026-04-20",
        "front matter",
        "Harbour Notes",
        "https://harbour-notes.example/valmora-berths",
        "Ines Ferreira",
    )
    body = text.index("# Valmora port")
    assert a.kept[0][0] >= body
    kept = "".join(text[s:e] for s, e in a.kept)
    assert "title:" not in kept and "tags:" not in kept and "---" not in kept
    assert "due to open in 2028" in kept


def test_json_lines_records_are_articles_named_by_id_or_line() -> None:
    loaded, warnings = _read(WIRE)
    by_source = {x.article.source: x for x in loaded}
    assert list(by_source) == [f"{WIRE}#vw-101", f"{WIRE}#2", f"{WIRE}#vw-105"]
    lender = by_source[f"{WIRE}#vw-101"].article
    assert (lender.title, lender.date, lender.outlet, lender.url, lender.author, lender.file, lender.format) == (
        "Valmora port lender named",
        "2026-03-13",
        "Valmora Wire",
        "https://valmora-wire.example/vw-101",
        "Wire staff",
        WIRE,
        "jsonl",
    )
    union = by_source[f"{WIRE}#vw-105"].article
    assert union.date == "2026-03-23"  # an RFC 2822 date
    ferry = by_source[f"{WIRE}#2"]
    assert "<p>" not in ferry.text and "<strong>" not in ferry.text  # HTML in a record is extracted
    assert "ordered two hybrid ferries" in ferry.text
    assert [w.split(":")[0] for w in warnings] == [f"{WIRE} line 3", f"{WIRE} line 4"]
    assert "not valid JSON" in warnings[0] and "no text, content or body field" in warnings[1]


def test_a_news_api_export_is_read_from_its_list_of_articles() -> None:
    (mayor,), warnings = _read(EXPORT)
    a = mayor.article
    assert (a.source, a.title, a.date, a.outlet, a.author) == (
        f"{EXPORT}#1",
        "Valmora mayor defends port costs",
        "2026-04-08",
        "The Adriatic Courier",
        "Marta Kovač",
    )
    assert mayor.text.startswith("Mayor Elena Sarto told the council") and a.text_of == "extracted"
    assert warnings == [f"{EXPORT} item 2: no text, content or body field with text; skipped"]


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2026-03-12T09:15:00+01:00", "2026-03-12"),
        ("Mon, 23 Mar 2026 10:00:00 GMT", "2026-03-23"),
        ("March 23, 2026", "2026-03-23"),
        (1773999000, "2026-03-20"),
        (1773999000000, "2026-03-20"),
        ("soon", None),
        ("2026-02-30", None),
        (True, None),
    ],
)
def test_dates_of_records_and_front_matter(value: object, iso: str | None) -> None:
    assert formats.as_date(value) == iso


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("empty_page.html", None, "no article text was found in the page"),
        ("truncated.json", None, "not valid JSON"),
        ("list.json", '{"status": "ok", "total": 3}', "no article in it has a text, content or body field"),
        ("only_header.md", "---\ntitle: Nothing else\n---\n\n", "holds no text besides its front matter"),
        ("numbers.json", "[1, 2, 3]", "no article in it"),
    ],
)
def test_files_without_articles_are_refused_with_the_reason(
    tmp_path: Path, name: str, content: str | None, why: str
) -> None:
    path = FORMATS / name if content is None else tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    file = ingest.ArticleFile(path, name)
    data, st = ingest.read_file(file)
    with pytest.raises(ingest.SkipFile, match=why):
        ingest.load_articles(file, data, st)


# --------------------------------------------------------------------------- through the index


def test_bad_files_are_named_and_skipped_and_the_rest_is_indexed(formats_index: Path, qa_env: dict[str, str]) -> None:
    result = run_qa(["index", "--rebuild", "--corpus", str(FORMATS), "--index", str(formats_index)], qa_env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("qa: warning:")]
    for named in (
        "skipped empty_page.html: no article text",
        "skipped truncated.json: not valid JSON",
        f"{WIRE} line 3: not valid JSON",
        f"{WIRE} line 4:",
        f"{EXPORT} item 2:",
    ):
        assert any(named in w for w in warnings), (named, warnings)
    assert "rebuilt index (8 added): 8 articles" in result.stdout


def test_answers_quote_the_extracted_text_and_cite_the_url(mixed: QAService) -> None:
    result = mixed.ask("How many permanent jobs will the Valmora port expansion create?")
    a = result.answer
    assert a is not None and "900 permanent" in a.sentence.text
    article, stored = mixed.article(a.source)
    assert (
        article.source == a.source
        and stored[a.start : a.end] == a.text
        and stored[a.sentence.start : a.sentence.end] == a.sentence.text
    )
    for cite in result.citations:
        art, text = mixed.article(cite.source)
        assert text[cite.start : cite.end] == cite.text
        assert cite.text_of == art.text_of and cite.url == art.url
        if art.text_of == "extracted" and art.format == "html":
            assert not any(piece in cite.text for piece in PAGE_CHROME + APPEAL_CHROME)
    page = next(x for x in result.citations if x.source == PAGE)
    assert page.url == "https://adriatic-courier.example/business/2026/03/12/valmora-port-expansion"
    assert page.text_of == "extracted" and page.outlet == "The Adriatic Courier" and page.date == "2026-03-12"


@pytest.mark.parametrize(
    ("question", "source", "expected"),
    [
        ("When is the first new berth at Valmora due to open?", NOTES, "2028"),
        ("How much will the European Investment Bank lend toward the Valmora port?", None, "400 million"),
        ("How large is the reserve for cost overruns in the port budget?", f"{EXPORT}#1", "90 million euros"),
        ("When is the first hearing of the fishers' appeal?", APPEAL, "18 May"),
    ],
)
def test_every_format_answers(mixed: QAService, question: str, source: str | None, expected: str) -> None:
    result = mixed.ask(question)
    assert result.answer is not None and expected in result.answer.sentence.text
    if source:
        assert result.answer.source == source
    _, stored = mixed.article(result.answer.source)
    assert stored[result.answer.start : result.answer.end] == result.answer.text


def test_passages_of_text_and_markdown_files_are_offsets_into_the_files(mixed: QAService) -> None:
    data = mixed.ensure_index()
    for p in range(len(data.passages)):
        passage = data.passage(p)
        article = data.manifest.articles[int(data.passages[p, 0])].article
        if article.text_of == "file":
            assert (FORMATS / article.source).read_text(encoding="utf-8")[passage.start : passage.end] == passage.text
            assert "outlet: Harbour Notes" not in passage.text


def test_sources_list_format_url_and_what_offsets_point_into(formats_index: Path, qa_env: dict[str, str]) -> None:
    listed = run_qa(["sources", "--json", "--corpus", str(FORMATS), "--index", str(formats_index)], qa_env)
    assert listed.returncode == 0, listed.stderr
    rows = {r["source"]: r for r in json.loads(listed.stdout)}
    assert (rows[PAGE]["format"], rows[PAGE]["text_of"], rows[PAGE]["file"]) == ("html", "extracted", PAGE)
    assert (rows[NOTES]["format"], rows[NOTES]["text_of"]) == ("markdown", "file")
    assert (rows[VOTE]["format"], rows[VOTE]["text_of"], rows[VOTE]["url"]) == ("text", "file", None)
    assert rows[f"{WIRE}#vw-101"]["file"] == WIRE and rows[f"{WIRE}#vw-101"]["format"] == "jsonl"
    assert rows[NOTES]["url"] == "https://harbour-notes.example/valmora-berths"
    table = run_qa(["sources", "--corpus", str(FORMATS), "--index", str(formats_index)], qa_env)
    assert (
        "FORMAT" in table.stdout
        and "https://adriatic-courier.example/business/2026/03/12/valmora-port-expansion" in table.stdout
    )
    assert "come from web pages or exports" in table.stdout


def test_qa_show_prints_the_stored_text_a_citation_quotes(formats_index: Path, qa_env: dict[str, str]) -> None:
    base = ["--corpus", str(FORMATS), "--index", str(formats_index)]
    asked = run_qa(["ask", "How many jobs during construction will the Valmora port create?", "--json", *base], qa_env)
    assert asked.returncode == 0, asked.stderr
    cite = json.loads(asked.stdout)["citations"][0]
    shown = run_qa(["show", f"{cite['source']}:{cite['start']}-{cite['end']}", "--text", *base], qa_env)
    assert shown.returncode == 0 and shown.stdout == cite["text"] + ("" if cite["text"].endswith("\n") else "\n")
    whole = run_qa(["show", PAGE, "--json", *base], qa_env)
    page = json.loads(whole.stdout)
    assert page["text_of"] == "extracted" and page["start"] == 0 and page["end"] == len(page["text"])
    assert "The European Investment Bank has agreed" in page["text"] and "Accept all" not in page["text"]
    text = run_qa(["show", str(FORMATS / PAGE), *base], qa_env)  # a path works as well as a source
    assert text.returncode == 0 and "text extracted from the page" in text.stdout
    assert "https://adriatic-courier.example/business/2026/03/12/valmora-port-expansion" in text.stdout
    for bad, why in ((f"{PAGE}:10-99999", "are not in"), ("nothing.html", "no article 'nothing.html'")):
        result = run_qa(["show", bad, *base], qa_env)
        assert result.returncode == 2 and why in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr


def test_ask_text_shows_the_url_and_marks_extracted_offsets(formats_index: Path, qa_env: dict[str, str]) -> None:
    result = run_qa(
        [
            "ask",
            "How many permanent jobs will the Valmora port expansion create?",
            "--corpus",
            str(FORMATS),
            "--index",
            str(formats_index),
        ],
        qa_env,
    )
    assert result.returncode == 0, result.stderr
    assert f"{PAGE}:" in result.stdout and "(extracted text)" in result.stdout
    assert "https://adriatic-courier.example/business/2026/03/12/valmora-port-expansion" in result.stdout


# --------------------------------------------------------------------------- refresh and resume


def _copy(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(FORMATS, corpus)
    return corpus


def test_a_grown_export_embeds_only_its_new_records(tmp_path: Path, qa_env: dict[str, str]) -> None:
    corpus = _copy(tmp_path)
    settings = load_settings({"corpus": corpus, "index": tmp_path / "index"}, env=qa_env)
    QAService(settings).index()
    record = {
        "id": "vw-106",
        "title": "Dredging contract awarded",
        "published": "2026-05-02",
        "text": "The Valmora port authority awarded the dredging contract to a Dutch company for 65 million euros.",
    }
    with (corpus / WIRE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    embedded: list[int] = []
    report = QAService(settings).index(
        progress=lambda stage, done, total: embedded.append(total) if stage == "embedding" else None
    )
    assert report.added == [f"{WIRE}#vw-106"] and not report.changed and max(embedded) == 1
    answer = QAService(settings).ask("Who won the dredging contract at Valmora?").answer
    assert answer is not None and answer.source == f"{WIRE}#vw-106"


def test_an_interrupted_indexing_run_is_taken_up_where_it_stopped(tmp_path: Path, qa_env: dict[str, str]) -> None:
    corpus = _copy(tmp_path)
    for i in range(6):  # more articles, so that there are several batches
        (corpus / f"brief_{i}.txt").write_text(
            f"Valmora brief {i}\n\nThe harbour office answered {i + 10} calls about the port works on day {i + 1}.\n",
            encoding="utf-8",
        )
    index = tmp_path / "index"
    env = {
        **qa_env,
        "QA_CORPUS": str(corpus),
        "QA_INDEX": str(index),
        "QA_INDEX_BATCH": "3",
        "QA_INDEX_ENCODER": "onnx",
    }
    paused = tmp_path / "paused"
    proc = subprocess.Popen(
        paused_qa("batch", paused) + ["index"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    kill_when_paused(proc, paused, "the indexer never finished a batch", timeout=300)
    root = next(index.iterdir())
    assert current_generation(root) is None and len(list((root / PENDING).glob("batch-*.npz"))) == 1
    again = run_qa(["index", "--json"], env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["resumed"] == 3 and report["articles"] == 14 and not (root / PENDING).exists()
    # the same index as one uninterrupted run
    straight = tmp_path / "straight"
    assert run_qa(["index"], {**env, "QA_INDEX": str(straight)}).returncode == 0
    a = read_manifest(current_generation(root))
    b = read_manifest(current_generation(next(straight.iterdir())))
    assert [x.article.source for x in a.articles] == [x.article.source for x in b.articles]
    assert (a.passages, a.sentences) == (b.passages, b.sentences)
    va = np.load(current_generation(root) / "passage_vectors.npy")
    vb = np.load(current_generation(next(straight.iterdir())) / "passage_vectors.npy")
    assert np.allclose(va, vb, atol=1e-5)


def test_a_damaged_batch_is_embedded_again(tmp_path: Path, qa_env: dict[str, str]) -> None:
    corpus = _copy(tmp_path)
    index = tmp_path / "index"
    settings = load_settings({"corpus": corpus, "index": index}, env=qa_env)
    QAService(settings).index()
    root = next(index.iterdir())
    (root / PENDING).mkdir()
    (root / PENDING / "batch-1-1.npz").write_bytes(b"PK\x03\x04 not really a batch")
    (corpus / VOTE).write_text(
        (corpus / VOTE).read_text(encoding="utf-8") + "\nThe vote is on Wednesday.\n", encoding="utf-8"
    )
    report = QAService(settings).index()
    assert report.changed == [VOTE] and report.resumed == 0 and not (root / PENDING).exists()


def test_progress_words_give_the_rate_and_the_time_left() -> None:
    now = [0.0]
    rate = Rate(clock=lambda: now[0])
    assert rate.update("embedding", 0, 10_000) == "embedding 0/10,000 articles"
    now[0] = 10.0
    assert rate.update("embedding", 500, 10_000) == "embedding 500/10,000 articles · 50.0/s · about 3 min left"
    now[0] = 200.0
    assert rate.update("embedding", 10_000, 10_000) == "embedding 10,000/10,000 articles · 50.0/s"
    assert rate.update("writing", 0, 1) == "writing"
    resumed = Rate(clock=lambda: now[0])  # work done by an earlier run does not count toward the rate
    resumed.update("embedding", 4_000, 10_000)
    now[0] += 20.0
    assert resumed.update("embedding", 5_000, 10_000).endswith("· 50.0/s · about 2 min left")


def test_the_generated_benchmark_folder_has_every_format(tmp_path: Path) -> None:
    from qa.evaluation.bench import generate_folder

    sentences = [f"Sentence number {i} says that the harbour office opened {i} new desks this year." for i in range(80)]
    counts = generate_folder(tmp_path, 300, sentences)
    assert sum(counts.values()) == 300 and all(counts[k] > 0 for k in ("text", "markdown", "html", "jsonl"))
    found = ingest.discover(tmp_path)
    articles, warnings = [], []
    for file in found.files:
        data, st = ingest.read_file(file)
        loaded, w = ingest.load_articles(file, data, st)
        articles += loaded
        warnings += w
    assert len(articles) == 300 and warnings == []
    pages = [a for a in articles if a.article.format == "html"]
    assert all("Accept all" not in a.text and "Sign up" not in a.text and "More stories" not in a.text for a in pages)
    assert all(a.article.date and a.article.outlet and a.article.url for a in pages)


def test_record_sources_stay_unique_when_ids_repeat_or_clash_with_line_numbers() -> None:
    data = (
        b'{"id": "2", "text": "The first record has the id two and enough words."}\n'
        b'{"text": "The second record, on line two, has no id at all."}\n'
        b'{"id": "2", "text": "The third record repeats the id two of the first."}\n'
    )
    docs, warnings = formats.read("feed.jsonl", data)
    assert [d.source for d in docs] == ["feed.jsonl#2", "feed.jsonl#2'", "feed.jsonl#3"] and warnings == []


def test_a_file_without_articles_is_not_read_again_until_it_changes(
    tmp_path: Path, qa_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _copy(tmp_path)
    settings = load_settings({"corpus": corpus, "index": tmp_path / "index"}, env=qa_env)
    data = QAService(settings).ensure_index()
    assert {f.source for f in data.manifest.skipped} == {"empty_page.html", "truncated.json"}
    from qa.store import refresh as indexer

    read: list[str] = []
    real = ingest.load_articles
    monkeypatch.setattr(indexer.ingest, "load_articles", lambda file, *a: (read.append(file.source), real(file, *a))[1])
    checked = indexer.plan(corpus, data)
    assert checked.up_to_date and read == []
    assert any(w.startswith("skipped empty_page.html: no article text") for w in checked.skipped)
    page = corpus / "empty_page.html"
    page.write_text(page.read_text(encoding="utf-8").replace("Home", "Front page"), encoding="utf-8")
    indexer.plan(corpus, data)
    assert read == ["empty_page.html"]  # changed: read again
