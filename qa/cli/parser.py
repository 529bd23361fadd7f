"""The ``qa`` command line's arguments: one parser, and argument errors in one line."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from qa import __version__


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"qa: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def iso_date(text: str) -> str:
    from qa.text.dates import parse_iso

    value = parse_iso(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}")
    return value


def _shared_options() -> tuple[Parser, Parser, Parser]:
    """Options several commands take: which corpus and index, whether to build, how to rank."""
    common = Parser(add_help=False)
    common.add_argument("--corpus", metavar="DIR", help="folder of articles (default: seeds/, or $QA_CORPUS)")
    common.add_argument("--index", metavar="DIR", help="folder of indexes (default: embeddings/, or $QA_INDEX)")
    common.add_argument(
        "--store",
        metavar="STORE",
        help="where search lives: local (default), milvus:PATH.db (Milvus Lite) or milvus://HOST:19530 "
        "(a Milvus server; token in $QA_MILVUS_TOKEN), or $QA_STORE",
    )
    reading = Parser(add_help=False)
    reading.add_argument("--no-rebuild", dest="rebuild", action="store_false", default=None,
                         help="fail instead of building or refreshing a missing, stale or damaged index")
    ranking = Parser(add_help=False)
    ranking.add_argument("-k", type=positive_int, metavar="N", help="how many passages to retrieve (default 5)")
    ranking.add_argument(
        "--retriever", choices=["dense", "lexical", "hybrid"], help="how to rank passages (default hybrid)"
    )
    ranking.add_argument(
        "--since",
        type=iso_date,
        metavar="DATE",
        help="only articles dated on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD); undated ones are left out",
    )
    ranking.add_argument(
        "--until",
        type=iso_date,
        metavar="DATE",
        help="only articles dated on or before DATE (all of it: 2025 means to the end of 2025)",
    )
    return common, reading, ranking


def _add_ask(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa ask``: answer one question."""
    ask = sub.add_parser(
        "ask",
        parents=[common, reading, ranking],
        help="answer one question and exit",
        description="Answer a question with a passage quoted from the articles, and cite it.",
    )
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument(
        "--timeline",
        action="store_true",
        help="list the relevant sentences of several articles in date order (automatic for "
        '"How did X change?", "timeline of X" ...)',
    )


def _add_index(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa index``: build or refresh the index."""
    index = sub.add_parser(
        "index",
        parents=[common],
        help="build or refresh the index",
        description="Index the corpus: only added or changed articles are embedded again.",
    )
    index.add_argument("--rebuild", action="store_true", help="rebuild from scratch instead of refreshing")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")


def _add_sources(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa sources``: list the articles."""
    sources = sub.add_parser(
        "sources",
        parents=[common, reading],
        help="list the indexed articles",
        description="List every article with its title, date, outlet and passage count.",
    )
    sources.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_show(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa show``: print an article."""
    show = sub.add_parser(
        "show",
        parents=[common, reading],
        help="print an article's stored text, or a part of it",
        description="Print the text an article's answers and citations quote: the file's text "
        "for .txt and .md, the extracted text for web pages and export records. "
        "SOURCE:START-END prints that part only, as citations give it.",
    )
    show.add_argument(
        "source",
        metavar="SOURCE[:START-END]",
        help="an article as `qa sources` lists it (or its path), optionally with a range",
    )
    show.add_argument("--text", action="store_true", help="print only the text, nothing around it")
    show.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _add_chat(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa chat``: the chat."""
    chat = sub.add_parser(
        "chat",
        parents=[common, reading],
        help="open the chat (the main way to use qa)",
        description="Chat with the articles in a terminal UI: answers with highlighted "
        "sentences, clickable citations, follow-up questions and saved history.",
    )
    chat.add_argument("--resume", action="store_true", help="reopen the most recent conversation")


def _add_bench(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa bench``: speed, memory and scale."""
    bench = sub.add_parser(
        "bench",
        parents=[common],
        help="measure speed, memory and scale",
        description="Measure cold and warm question times, memory, indexing throughput and "
        "search at scale; prints the figures and saves them as JSON.",
    )
    bench.add_argument(
        "--passages",
        type=positive_int,
        default=1_000_000,
        metavar="N",
        help="synthetic passages for the scale part (default 1,000,000)",
    )
    bench.add_argument(
        "--articles",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="generated articles of every format for the indexing part (default 10,000)",
    )
    bench.add_argument(
        "--runs", type=positive_int, default=5, metavar="N", help="runs per timing, medians reported (default 5)"
    )
    bench.add_argument(
        "--only",
        choices=["cold", "warm", "indexing", "scale"],
        action="append",
        help="run only these parts (repeatable)",
    )
    bench.add_argument("--json", action="store_true", help="print the results as JSON")


def _add_eval(sub, common: Parser, reading: Parser, ranking: Parser) -> None:
    """``qa eval``: question sets and calibration."""
    ev = sub.add_parser(
        "eval",
        parents=[common, reading, ranking],
        help="measure retrieval and answers on a question set",
        description="Run a question set and report retrieval and answer metrics, with a "
        "per-question table of failures.",
    )
    ev.add_argument("--questions", metavar="FILE", help="JSON Lines question file (default tests/questions.jsonl)")
    ev.add_argument("--json", action="store_true", help="print metrics and per-question results as JSON")
    ev.add_argument("--compare", action="store_true", help="run dense, lexical and hybrid side by side")
    ev.add_argument(
        "--calibrate",
        action="store_true",
        help="fit the confidence model, show what each feature earns, sweep the abstention threshold, pick "
        "the best one and show how reliable the confidence is (see --save); with --squad FILE, on the mix of "
        "the question set and that SQuAD file",
    )
    ev.add_argument(
        "--save",
        action="store_true",
        help="with --calibrate: store the fitted confidence weights and the chosen threshold in the config file",
    )
    ev.add_argument("--failures", action="store_true", help="list only the questions that failed")
    ev.add_argument(
        "--squad",
        metavar="FILE",
        help="a SQuAD 2.0 JSON file: one article per paragraph, official metrics "
        "(with --calibrate: calibrate on it and the question set together)",
    )
    ev.add_argument(
        "--reader-only",
        action="store_true",
        help="with --squad: read each question's own paragraph only (reading without retrieval)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common, reading, ranking = _shared_options()
    parser = Parser(
        prog="qa",
        description="Ask a folder of news articles questions. Every answer is quoted from an article, with its source.",
        epilog="Run `qa COMMAND --help` for a command's options. Settings can also come from QA_* environment "
        "variables or a config file ($QA_CONFIG).",
    )
    parser.add_argument("--version", action="version", version=f"qa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in (_add_ask, _add_index, _add_sources, _add_show, _add_chat, _add_bench, _add_eval):
        add(sub, common, reading, ranking)
    return parser


# --------------------------------------------------------------------------- output helpers
