"""Sentences and passages: offsets round-trip, abbreviations do not end sentences, passages fit."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.corpus import ingest
from qa.corpus import passages as chunking
from qa.neural.embedder import MAX_TOKENS, TokenCounter
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def count() -> TokenCounter:
    return TokenCounter()


def chunk_text(text: str, count: TokenCounter, title: str = "A Title", **kw: int) -> chunking.Chunked:
    params = {"max_tokens": MAX_TOKENS, "passage_tokens": 160, "overlap_sentences": 1} | kw
    return chunking.chunk(text, ingest.clean(text), title, count, **params)


@pytest.mark.parametrize(
    "sentence",
    [
        "Tokyo, Jan. 3 (Jiji Press)–The major focus is China.",
        "Mr. Abe met U.S. officials on Dec. 25 in Washington.",
        "Stabilizing the Japan-U.S. relationship is also important for the administration.",
        "Prof. Yan of Tsinghua Univ. wrote an op-ed, and Dr. Smith agreed.",
    ],
)
def test_abbreviations_do_not_end_a_sentence(sentence: str) -> None:
    text = f"Before that, a first sentence. {sentence} After that, a last one."
    spans = chunking.split_sentences(text, 0, len(text))
    assert sentence in [text[s:e] for s, e in spans]


def test_line_breaks_end_sentences() -> None:
    text = "Old History, New Pressure\nJapan and China have a long shared past."
    spans = chunking.split_sentences(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == ["Old History, New Pressure", "Japan and China have a long shared past."]


def test_seed_passages_round_trip_fit_the_model_and_cover_every_sentence(count: TokenCounter) -> None:
    for file in ingest.discover(SEEDS).files:
        data, st_ = ingest.read_file(file)
        (loaded,), _ = ingest.load_articles(file, data, st_)
        text, title = loaded.text, loaded.article.title
        pieces = chunking.chunk(text, loaded.article.kept, title, count,
                                max_tokens=MAX_TOKENS, passage_tokens=160, overlap_sentences=1)
        assert pieces.passages
        covered: set[int] = set()
        for start, end, first, last in pieces.passages:
            passage = text[start:end]
            assert passage == passage.strip() and passage
            # whole sentences only: the passage starts at its first sentence and ends at its last
            assert (start, end) == (pieces.sentences[first][0], pieces.sentences[last - 1][1])
            assert count([chunking.embedding_text(title, passage)])[0] + chunking.SPECIAL_TOKENS <= MAX_TOKENS
            covered.update(range(first, last))
        assert covered == set(range(len(pieces.sentences)))
        # passages never include removed debris
        for start, end, _, _ in pieces.passages:
            assert any(ks <= start and end <= ke for ks, ke in loaded.article.kept)


def test_consecutive_passages_overlap_by_a_sentence(count: TokenCounter) -> None:
    sentences = [f"Sentence number {i} says something fairly long about the economy of the region." for i in range(40)]
    pieces = chunk_text(" ".join(sentences), count, passage_tokens=60)
    assert len(pieces.passages) > 3
    for (_, _, _, last), (_, _, first, _) in itertools.pairwise(pieces.passages):
        assert first == last - 1


def test_a_sentence_longer_than_the_model_limit_is_cut_into_fitting_pieces(count: TokenCounter) -> None:
    long_sentence = ", ".join(f"clause {i} about trade and tariffs" for i in range(120)) + "."
    pieces = chunk_text(long_sentence, count, title="")
    assert len(pieces.sentences) > 1
    for start, end, _, _ in pieces.passages:
        assert count([long_sentence[start:end]])[0] + chunking.SPECIAL_TOKENS <= MAX_TOKENS
    joined = "".join(long_sentence[s:e] for s, e in pieces.sentences)
    assert joined.replace(" ", "") == long_sentence.replace(" ", "")


_alphabet = st.characters(codec="utf-8", exclude_categories=("Cs",))
_text = st.lists(
    st.one_of(
        st.text(alphabet=_alphabet, max_size=80),
        st.sampled_from(
            ["Jan. 3", "U.S.", "Mr. Abe", ". ", "\n", "\n\n", "[bold]", "\x1b[31m", "…", "“quote”", "LEAVE A REPLY\n"]
        ),
        st.text(alphabet="abc .,\n", min_size=200, max_size=3000),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_text)
def test_property_every_sentence_and_passage_round_trips(text: str) -> None:
    count = _COUNT
    kept = ingest.clean(text)
    for s, e in kept:
        assert 0 <= s < e <= len(text)
    pieces = chunking.chunk(text, kept, "Title", count, max_tokens=MAX_TOKENS, passage_tokens=120, overlap_sentences=1)
    for s, e in pieces.sentences:
        assert 0 <= s < e <= len(text)
        assert text[s:e].strip()
    for s, e, first, last in pieces.passages:
        assert (s, e) == (pieces.sentences[first][0], pieces.sentences[last - 1][1])
        assert count([chunking.embedding_text("Title", text[s:e])])[0] + chunking.SPECIAL_TOKENS <= MAX_TOKENS


_COUNT = TokenCounter()
