"""The ``qa`` command: parse, call the service, print text or JSON.

Every ``QAError`` becomes one line on stderr (``qa: error: ...``) and exit status 2; so does a bad
argument. Heavy modules are imported inside the commands, so ``qa --help`` and argument errors
return at once.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from qa import __version__
from qa.errors import QAError, UsageError

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.indexer import IndexReport
    from qa.models import AskResult
    from qa.service import QAService


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"qa: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _iso_date(text: str) -> str:
    from qa.dates import parse_iso

    value = parse_iso(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", metavar="DIR", help="folder of articles (default: seeds/, or $QA_CORPUS)")
    common.add_argument("--index", metavar="DIR", help="folder of indexes (default: embeddings/, or $QA_INDEX)")
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--no-rebuild", dest="rebuild", action="store_false", default=None,
                         help="fail instead of building or refreshing a missing, stale or damaged index")
    ranking = argparse.ArgumentParser(add_help=False)
    ranking.add_argument("-k", type=_positive_int, metavar="N", help="how many passages to retrieve (default 5)")
    ranking.add_argument("--retriever", choices=["dense", "lexical", "hybrid"], help="how to rank passages (default hybrid)")
    ranking.add_argument("--since", type=_iso_date, metavar="DATE",
                         help="only articles dated on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD); undated ones are left out")
    ranking.add_argument("--until", type=_iso_date, metavar="DATE",
                         help="only articles dated on or before DATE (all of it: 2025 means to the end of 2025)")

    parser = _Parser(
        prog="qa",
        description="Ask a folder of news articles questions. Every answer is quoted from an article, with its source.",
        epilog="Run `qa COMMAND --help` for a command's options. Settings can also come from QA_* environment "
        "variables or a config file ($QA_CONFIG).",
    )
    parser.add_argument("--version", action="version", version=f"qa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ask = sub.add_parser("ask", parents=[common, reading, ranking], help="answer one question and exit",
                         description="Answer a question with a passage quoted from the articles, and cite it.")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument("--timeline", action="store_true",
                     help="list the relevant sentences of several articles in date order (automatic for "
                     "\"How did X change?\", \"timeline of X\" ...)")

    index = sub.add_parser("index", parents=[common], help="build or refresh the index",
                           description="Index the corpus: only added or changed articles are embedded again.")
    index.add_argument("--rebuild", action="store_true", help="rebuild from scratch instead of refreshing")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")

    sources = sub.add_parser("sources", parents=[common, reading], help="list the indexed articles",
                             description="List every article with its title, date, outlet and passage count.")
    sources.add_argument("--json", action="store_true", help="print JSON instead of a table")

    show = sub.add_parser("show", parents=[common, reading], help="print an article's stored text, or a part of it",
                          description="Print the text an article's answers and citations quote: the file's text "
                          "for .txt and .md, the extracted text for web pages and export records. "
                          "SOURCE:START-END prints that part only, as citations give it.")
    show.add_argument("source", metavar="SOURCE[:START-END]",
                      help="an article as `qa sources` lists it (or its path), optionally with a range")
    show.add_argument("--text", action="store_true", help="print only the text, nothing around it")
    show.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    chat = sub.add_parser("chat", parents=[common, reading], help="open the chat (the main way to use qa)",
                          description="Chat with the articles in a terminal UI: answers with highlighted "
                          "sentences, clickable citations, follow-up questions and saved history.")
    chat.add_argument("--resume", action="store_true", help="reopen the most recent conversation")

    bench = sub.add_parser("bench", parents=[common], help="measure speed, memory and scale",
                           description="Measure cold and warm question times, memory, indexing throughput and "
                           "search at scale; prints the figures and saves them as JSON.")
    bench.add_argument("--passages", type=_positive_int, default=1_000_000, metavar="N",
                       help="synthetic passages for the scale part (default 1,000,000)")
    bench.add_argument("--articles", type=_positive_int, default=10_000, metavar="N",
                       help="generated articles of every format for the indexing part (default 10,000)")
    bench.add_argument("--runs", type=_positive_int, default=5, metavar="N", help="runs per timing, medians reported (default 5)")
    bench.add_argument("--only", choices=["cold", "warm", "indexing", "scale"], action="append",
                       help="run only these parts (repeatable)")
    bench.add_argument("--json", action="store_true", help="print the results as JSON")

    ev = sub.add_parser("eval", parents=[common, reading, ranking], help="measure retrieval and answers on a question set",
                        description="Run a question set and report retrieval and answer metrics, with a "
                        "per-question table of failures.")
    ev.add_argument("--questions", metavar="FILE", help="JSON Lines question file (default tests/questions.jsonl)")
    ev.add_argument("--json", action="store_true", help="print metrics and per-question results as JSON")
    ev.add_argument("--compare", action="store_true", help="run dense, lexical and hybrid side by side")
    ev.add_argument("--calibrate", action="store_true",
                    help="fit the confidence model, show what each feature earns, sweep the abstention threshold, pick "
                    "the best one and show how reliable the confidence is (see --save); with --squad FILE, on the mix of "
                    "the question set and that SQuAD file")
    ev.add_argument("--save", action="store_true",
                    help="with --calibrate: store the fitted confidence weights and the chosen threshold in the config file")
    ev.add_argument("--failures", action="store_true", help="list only the questions that failed")
    ev.add_argument("--squad", metavar="FILE", help="a SQuAD 2.0 JSON file: one article per paragraph, official metrics "
                    "(with --calibrate: calibrate on it and the question set together)")
    ev.add_argument("--reader-only", action="store_true",
                    help="with --squad: read each question's own paragraph only (reading without retrieval)")
    return parser


# --------------------------------------------------------------------------- output helpers


def _colour(stream: Any) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _style(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on else text


def _display_path(settings: Settings, source: str) -> str:
    path = settings.corpus / source
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class _ProgressPrinter:
    """Indexing progress on stderr: a bar with the rate and the time left on a terminal; else a line
    when a stage starts and about every tenth of a long one."""

    def __init__(self) -> None:
        from qa.progress import Rate

        self._bar: Any = None
        self._task: Any = None
        self._stage = ""
        self._tty = sys.stderr.isatty()
        self._rate = Rate()
        self._shown = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        words = self._rate.update(stage, done, total)
        if not self._tty:
            tenth = (10 * done) // max(total, 1)
            if stage != self._stage:
                self._stage, self._shown = stage, tenth
                from qa.progress import counted

                sys.stderr.write(f"qa: {' '.join(filter(None, (stage, counted(stage, total))))}…\n")
            elif total >= 100 and tenth > self._shown:
                self._shown = tenth
                sys.stderr.write(f"qa: {words}\n")
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]indexing[/]"), BarColumn(), TextColumn("{task.description}"),
                TimeElapsedColumn(), console=Console(stderr=True), transient=True,
            )
            self._bar.start()
        if stage != self._stage:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(words, total=max(total, 1))
            self._stage = stage
        self._bar.update(self._task, completed=done, total=max(total, 1), description=words)

    def __enter__(self) -> _ProgressPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _waiting() -> None:
    sys.stderr.write("qa: another qa process is writing the index; waiting for it to finish…\n")


def _warn(lines: list[str]) -> None:
    from qa.safe_text import printable

    for line in lines:
        sys.stderr.write(f"qa: warning: {printable(line)}\n")


# --------------------------------------------------------------------------- commands


def _service(args: argparse.Namespace, **extra: Any) -> QAService:
    from qa.config import load_settings
    from qa.service import QAService

    overrides = {"corpus": getattr(args, "corpus", None), "index": getattr(args, "index", None),
                 "rebuild": getattr(args, "rebuild", None), **extra}
    return QAService(load_settings(overrides))


def _elide(text: str, start: int, end: int, width: int = 320) -> tuple[str, int, int, bool, bool]:
    """Cut a long sentence around [start, end) to about ``width`` characters."""
    if len(text) <= width:
        return text, start, end, False, False
    room = max(0, width - (end - start)) // 2
    lo = max(0, start - room)
    hi = min(len(text), end + room)
    if lo > 0:
        lo = text.find(" ", lo) + 1 or lo
    if hi < len(text):
        space = text.rfind(" ", 0, hi)
        hi = space if space > end else hi
    return text[lo:hi], start - lo, end - lo, lo > 0, hi < len(text)


def render_answer(result: AskResult, settings: Settings, colour: bool) -> str:
    """The text form of an answer: the answer, its sentence, its date, what other articles say,
    the timeline when asked for, and the citations."""
    from qa import present
    from qa.safe_text import counted, printable

    lines: list[str] = []
    if result.timeline is not None:
        lines.append(_style(f"Timeline ({len(result.timeline)} sentences, in date order):" if result.timeline
                            else "Timeline: no dated sentences found for this question.", "1", colour))
        for e in result.timeline:
            when = e.when or "undated"
            mark = "" if e.when_from != "sentence" else " (said in the text)"
            cite = f" [{e.n}]" if e.n else ""
            where = printable(present.byline(e.outlet, e.article_date))
            lines.append(f"  {when:<10}  \"{printable(e.text.strip())}\"{cite}")
            lines.append(_style(f"{'':12}— {printable(e.title)}, {where}{mark}", "2", colour))
    elif result.abstained:
        lines.append(_style("Not found in the articles.", "1;33", colour))
        if result.reason:
            lines.append(f"  ({printable(result.reason)}; the closest passages are below)")
    if not result.abstained and result.timeline is None:
        answer = result.answer
        assert answer is not None
        lines.append(_style(printable(answer.text), "1", colour))
        sentence = answer.sentence
        rel_s, rel_e = answer.start - sentence.start, answer.end - sentence.start
        text, s, e, cut_left, cut_right = _elide(sentence.text, rel_s, rel_e)
        shown = (
            printable(text[:s]) + _style(printable(text[s:e]), "1;4", colour) + printable(text[e:])
            if answer.kind != "sentence" else printable(text)
        )
        lines.append(f'  "{"…" if cut_left else ""}{shown}{"…" if cut_right else ""}" [1]')
        date = present.answer_date(result)
        lines.append(f"  {printable(present.byline(present.answer_outlet(result), date))}")
        note = present.resolved(answer.resolved_dates, date)
        if note:
            lines.append(f"  dates: {printable(note)}")
        scores = (f" (reader: span {result.reader.span_score:.1f}, no answer {result.reader.no_answer_score:.1f})"
                  if result.reader else "")
        lines.append(_style(f"  confidence {answer.confidence:.2f}{scores}", "2", colour))
        agreeing = [a for a in result.alternatives if a.agrees]
        differing = [a for a in result.alternatives if not a.agrees]
        if agreeing:
            refs = " ".join(f"[{n}]" for a in agreeing if (n := present.citation_number(result, a.source, a.start)))
            lines.append(f"Also in {counted(len(agreeing), 'other article')}: {refs}")
        if differing:
            lines.append(_style("Sources differ:", "1;33", colour))
            for a in [answer, *differing]:
                where = present.byline(*((present.answer_outlet(result), date) if a is answer else (a.outlet, a.date)))
                n = present.citation_number(result, a.source, a.start)
                ref = f" [{n}]" if n else ""
                lines.append(f"  {printable(a.text)} — {printable(where)}{ref}")
                at = a.start - a.sentence.start  # the sentence cut around the value, so that it stays in view
                cut, _, _, left, right = _elide(a.sentence.text, at, at + len(a.text), 160)
                lines.append(_style(f'      "{"…" if left else ""}{printable(cut)}{"…" if right else ""}"', "2", colour))
                if a is not answer:
                    note = present.resolved(a.resolved_dates, a.date)
                    if note:
                        lines.append(_style(f"      dates: {printable(note)}", "2", colour))
    for c in result.citations:
        meta = c.byline
        where = f"{_display_path(settings, c.source)}:{c.start}-{c.end}"
        if c.text_of == "extracted":
            where += " (extracted text)"
        parts = [printable(c.title)] + ([printable(meta)] if meta else []) + [printable(where)]
        lines.append(f"[{c.n}] " + " — ".join(parts) + _style(f"  (score {c.score:.2f})", "2", colour))
        if c.url:
            lines.append(_style(f"    {printable(c.url)}", "2", colour))
        if c.also_in:
            lines.append(_style(f"    also in: {printable(', '.join(c.also_in))} (the same text)", "2", colour))
    for notice in result.notices:
        lines.append(_style(f"note: {printable(notice)}", "2", colour))
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.questions import clean_question
    from qa.safe_text import safe_json

    clean_question(args.question)  # reject an empty question before loading anything
    service = _service(args, retriever=args.retriever)
    with _ProgressPrinter() as progress:
        result = service.ask(args.question, k=args.k, progress=progress, since=args.since, until=args.until,
                             timeline=True if args.timeline else None)
    if args.json:
        print(safe_json(result.model_dump(mode="json"), indent=None))
    else:
        print(render_answer(result, service.settings, _colour(sys.stdout)))
    return 0


def _report_dict(report: IndexReport) -> dict[str, Any]:
    return {
        "path": str(report.path), "articles": report.articles, "passages": report.passages,
        "sentences": report.sentences, "added": report.added, "changed": report.changed,
        "removed": report.removed, "unchanged": report.unchanged, "seconds": round(report.seconds, 3),
        "encoder": report.encoder, "rebuilt": report.rebuilt, "wrote": report.wrote, "resumed": report.resumed,
        "warnings": report.warnings,
    }


def cmd_index(args: argparse.Namespace) -> int:
    from qa.safe_text import counted, safe_json

    service = _service(args)
    with _ProgressPrinter() as progress:
        report = service.index(rebuild=args.rebuild, progress=progress, on_wait=_waiting)
    if args.json:
        print(safe_json(_report_dict(report)))
        return 0
    _warn(report.warnings)
    if not report.wrote:
        summary = "index is up to date"
    else:
        changes = [f"{len(x)} {name}" for x, name in ((report.added, "added"), (report.changed, "changed"),
                                                      (report.removed, "removed")) if x]
        if report.resumed:
            changes.append(f"{report.resumed} taken up from an interrupted run")
        summary = ("rebuilt index" if report.rebuilt else "refreshed index") + (f" ({', '.join(changes)})" if changes else "")
    print(f"{summary}: {counted(report.articles, 'article')}, {counted(report.passages, 'passage')}, "
          f"{counted(report.sentences, 'sentence')} "
          f"in {report.seconds:.1f} s → {report.path.parent}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from qa.safe_text import counted, printable, safe_json

    service = _service(args)
    with _ProgressPrinter() as progress:
        items = service.sources(progress=progress)
    if args.json:
        print(safe_json([asdict(s) for s in items], indent=1))
        return 0
    width = max((len(s.source) for s in items), default=6)
    origin = max((len(s.date_from or "") for s in items), default=0)
    origin = max(origin, len("DATE FROM"))
    kind = max(len("FORMAT"), max((len(s.format) for s in items), default=0))
    print(f"{'SOURCE':<{width}}  {'DATE':<10}  {'DATE FROM':<{origin}}  {'FORMAT':<{kind}}  {'PASSAGES':>8}  "
          "OUTLET / TITLE")
    for s in items:
        outlet = f"{s.outlet} — " if s.outlet else ""
        print(f"{printable(s.source):<{width}}  {s.date or '—':<10}  {s.date_from or 'not stated':<{origin}}  "
              f"{s.format:<{kind}}  {s.passages:>8}  {printable(outlet + s.title)}")
        if s.url:
            print(f"{'':<{width}}  {printable(s.url)}")
    dated = sum(s.date is not None for s in items)
    if dated < len(items):
        print(f"{len(items) - dated} of {counted(len(items), 'article')} state no date: time questions and "
              "--since/--until cannot place them")
    extracted = sum(s.text_of == "extracted" for s in items)
    if extracted:
        print(f"{extracted} of {counted(len(items), 'article')} come from web pages or exports: their offsets are "
              "into the extracted text, which `qa show SOURCE` prints")
    print(f"{counted(len(items), 'article')}, {counted(sum(s.passages for s in items), 'passage')}")
    return 0


_RANGE = re.compile(r"^(?P<source>.+):(?P<start>\d+)-(?P<end>\d+)$")


def cmd_show(args: argparse.Namespace) -> int:
    from qa import present
    from qa.safe_text import printable, safe_json

    service = _service(args)
    given, span = args.source, None
    m = _RANGE.match(given)
    with _ProgressPrinter() as progress:
        if m:
            try:
                article, text = service.article(m["source"], progress=progress)
                span = int(m["start"]), int(m["end"])
            except UsageError:  # a source whose name itself ends in ":N-M"
                article, text = service.article(given, progress=progress)
        else:
            article, text = service.article(given, progress=progress)
    start, end = span or (0, len(text))
    if not 0 <= start <= end <= len(text):
        raise UsageError(f"characters {start}-{end} are not in {article.source}, whose text has {len(text)} "
                         f"characters; give START-END within 0-{len(text)}")
    part = text[start:end]
    if args.json:
        print(safe_json({"source": article.source, "title": article.title, "date": article.date,
                         "outlet": article.outlet, "url": article.url, "author": article.author,
                         "format": article.format, "text_of": article.text_of, "start": start, "end": end,
                         "text": part}, indent=1))
        return 0
    if args.text:
        sys.stdout.write(printable(part) + ("" if part.endswith("\n") else "\n"))
        return 0
    colour = _colour(sys.stdout)
    print(_style(printable(article.title), "1", colour))
    facts = [x for x in (present.byline(article.outlet, article.date), article.author and f"by {article.author}",
                         article.url) if x]
    print(printable(" · ".join(facts)))
    of = ("the file's text" if article.text_of == "file" else
          "text extracted from the page" if article.format == "html" else "text of the export record")
    print(_style(f"{printable(article.source)} · {article.format} · {of} · characters {start}-{end} of {len(text)}",
                 "2", colour))
    print()
    print(printable(part))
    return 0


_METRIC_ROWS = [
    ("article_recall@1", "article Recall@1"), ("article_recall@3", "article Recall@3"),
    ("article_recall@5", "article Recall@5"), ("article_recall@10", "article Recall@10"),
    ("mrr@10", "MRR@10"), ("ndcg@10", "nDCG@10"),
    ("passage_recall@1", "passage Recall@1"), ("passage_recall@5", "passage Recall@5"),
    ("passage_recall@10", "passage Recall@10"),
    ("span_contains_gold", "span contains gold"), ("sentence_contains_gold", "sentence contains gold"),
    ("span_f1", "span token F1"), ("abstention_accuracy", "abstained on unanswerable"),
    ("wrong_abstentions", "wrong abstentions"),
]


def _clip(text: str | None, width: int) -> str:
    from qa.safe_text import printable

    text = printable(" ".join((text or "").split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_eval(args: argparse.Namespace) -> int:
    from qa import evaluate
    from qa.config import PROJECT_ROOT, save_setting
    from qa.safe_text import safe_json

    if args.save and not args.calibrate:
        raise UsageError("--save only goes with --calibrate")
    if args.compare and args.calibrate:
        raise UsageError("choose one of --compare and --calibrate")
    if args.reader_only and (not args.squad or args.calibrate):
        raise UsageError("--reader-only only goes with --squad FILE, without --calibrate")
    if args.squad and args.compare:
        raise UsageError("--squad FILE runs one retriever; choose it with --retriever instead of --compare")
    if args.squad and args.questions and not args.calibrate:
        raise UsageError("--squad FILE replaces --questions (only --calibrate uses both, as one mix)")
    if args.calibrate:
        return _calibrate(args)
    squad_questions = None
    if args.squad:
        from qa import squad

        squad_questions, paragraphs = squad.load(Path(args.squad))
        base = _service(args)
        if args.reader_only:
            return _squad_reader_only(base, squad_questions, args.json)
        folder = squad.corpus_folder(Path(args.squad), paragraphs, base.settings.cache_path())
        args.corpus = str(folder)
    service = _service(args)
    path = Path(args.questions) if args.questions else PROJECT_ROOT / "tests" / "questions.jsonl"
    with _ProgressPrinter() as progress:
        articles = service.ensure_index(progress=progress).manifest.articles
    if squad_questions is not None:
        questions = squad.as_eval_questions(squad_questions)
        path = Path(args.squad)
    else:
        questions = evaluate.load_questions(path, {a.article.source for a in articles})
    passages = {a.article.source: a.passages for a in articles}

    def relevant(q: evaluate.EvalQuestion) -> int:
        return sum(passages.get(s, 0) for s in q.sources)

    k = args.k or service.settings.top_k
    modes = ["dense", "lexical", "hybrid"] if args.compare else [args.retriever or service.settings.retriever]
    runs = {m: evaluate.run(service, questions, k, m, since=args.since, until=args.until) for m in modes}
    results = {m: evaluate.metrics(o, k, relevant) for m, o in runs.items()}

    if squad_questions is not None:
        return _squad_report(service, squad_questions, runs[modes[0]], results[modes[0]], k, args)

    if args.json:
        mode = modes[-1]
        payload = {"metrics": results[mode] if not args.compare else results, "retriever": mode if not args.compare else modes,
                   "questions": [{**o.result.model_dump(mode="json", exclude={"labels"}), "labels": o.result.labels}
                                 for o in runs[mode]]}
        print(safe_json(payload))
        return 0

    width = 28
    print(f"{len(questions)} questions ({int(results[modes[0]]['answerable'])} answerable, "
          f"{int(results[modes[0]]['unanswerable'])} unanswerable), top {k} passages, {path}")
    print(f"{'metric':<{width}}" + "".join(f"{m:>10}" for m in modes))
    for key, name in _METRIC_ROWS:
        cells = "".join(
            f"{int(results[m][key]):>10d}" if key == "wrong_abstentions" else f"{results[m][key]:>10.3f}" for m in modes
        )
        print(f"{name:<{width}}{cells}")
    if args.compare:
        return 0
    outcomes = runs[modes[0]]
    print()
    print(f"{'id':<6} {'result':<22} {'conf':>5}  question → answer")
    for o in outcomes:
        labels = ", ".join(o.result.labels) or "ok"
        if args.failures and labels == "ok":
            continue
        answer = "(abstained)" if o.result.abstained else o.result.answer.text  # type: ignore[union-attr]
        print(f"{o.question.id:<6} {labels:<22} {o.confidence:>5.2f}  {_clip(o.question.question, 60)} → {_clip(answer, 50)}")
    return 0


def _calibration_set(args: argparse.Namespace, squad_file: str | None) -> Any:
    """One question set run for calibration (threshold 0, every passage read): the own question
    set over the corpus, or a SQuAD file over its paragraphs."""
    from qa import evaluate
    from qa.config import PROJECT_ROOT

    service = _service(args)
    if squad_file:
        from qa import squad

        squad_questions, paragraphs = squad.load(Path(squad_file))
        folder = squad.corpus_folder(Path(squad_file), paragraphs, service.settings.cache_path())
        service = _service(argparse.Namespace(**{**vars(args), "corpus": str(folder)}))
    with _ProgressPrinter() as progress:
        articles = service.ensure_index(progress=progress).manifest.articles
    if squad_file:
        questions, name = squad.as_eval_questions(squad_questions), Path(squad_file).name
    else:
        path = Path(args.questions) if args.questions else PROJECT_ROOT / "tests" / "questions.jsonl"
        questions, name = evaluate.load_questions(path, {a.article.source for a in articles}), path.name
    k = args.k or service.settings.top_k
    outcomes = evaluate.run(service, questions, k, args.retriever or service.settings.retriever, threshold=0.0,
                            read_all=True, since=args.since, until=args.until)
    return evaluate.CalibrationSet(name, outcomes, official=bool(squad_file)), service.settings


def _calibrate(args: argparse.Namespace) -> int:
    """``qa eval --calibrate``: fit the confidence model on the own question set (and a SQuAD
    file with --squad, as one mix where each set weighs the same), show what each feature earns,
    choose one threshold for all sets and show how it does on each, and how reliable the
    confidence is."""
    from qa import evaluate
    from qa.answerer import FEATURE_NAMES, FEATURES
    from qa.config import save_setting
    from qa.safe_text import safe_json

    own, settings = _calibration_set(args, None)
    sets = [own] + ([_calibration_set(args, args.squad)[0]] if args.squad else [])
    keep, rounds = evaluate.select_features(sets, list(FEATURES))
    ablation = rounds[0]
    weights = evaluate.fit_weights(sets, keep)
    dropped = [f for i, f in enumerate(FEATURES) if i not in keep]
    agreement = evaluate.fit_agreement([o for s in sets for o in s.outcomes], weights)
    for s in sets:
        evaluate.rescore(s.outcomes, weights, agreement)
    rows = evaluate.operating_sweep(sets)
    chosen = evaluate.choose_operating_point(rows)
    tables = {s.name: evaluate.reliability(s.outcomes) for s in sets}
    if len(sets) > 1:
        tables["all"] = evaluate.reliability([o for s in sets for o in s.outcomes])
    if args.json:
        print(safe_json({
            "features": list(FEATURES), "weights": weights, "agreement_weights": agreement,
            "feature_ablation": [{"log_loss": r[""], "without": {f: v for f, v in r.items() if f}} for r in rounds],
            "features_dropped": dropped,
            "sweep": [r.__dict__ for r in rows], "chosen": chosen.__dict__,
            "reliability": {name: {"bins": [dict(zip(("low", "high", "questions", "confidence", "right"), b, strict=True))
                                            for b in bins], "ece": ece} for name, (bins, ece) in tables.items()},
        }))
    else:
        print(f"calibrated on {' + '.join(f'{s.name} ({len(s.outcomes)} questions)' for s in sets)}"
              + (", each set weighing the same" if len(sets) > 1 else ""))
        print(f"\nwhat each feature earns: cross-validated log loss {ablation['']:.4f} with all; without one of them:")
        for f in FEATURES:
            print(f"  {FEATURE_NAMES[f]:<24}{ablation[''] + ablation[f]:>8.4f}  ({ablation[f]:+.4f})")
        if dropped:
            print(f"left out (each earned less than {evaluate.EARNS:g} once the others were in; weight 0): "
                  + ", ".join(FEATURE_NAMES[f] for f in dropped))
        else:
            print(f"every feature earns at least {evaluate.EARNS:g}: all kept")
        print("\nconfidence weights (" + ", ".join(FEATURE_NAMES[f] for f in FEATURES) + ", bias): "
              + ", ".join(f"{w:g}" for w in weights) + f"\n  (now {', '.join(f'{w:g}' for w in settings.confidence_weights)})")
        print(f"agreement weights (per agreeing article, per differing article): {agreement[0]:g}, {agreement[1]:g} "
              f"(now {', '.join(f'{w:g}' for w in settings.agreement_weights)})")
        head = "".join(f"  | {s.name[:30]:<30}" for s in sets)
        print(f"\n{'':>9}  {'mean':>6}{head}")
        print(f"{'threshold':>9}  {'score':>6}" + "".join(f"  | {'score':>6} {'answ.':>6} {'abst.':>6} {'wrong':>5}  "
                                                       for _ in sets))
        for r in rows:
            if round(r.threshold * 100) % 5 == 0 or r is chosen:
                cells = "".join(f"  | {p['score']:>6.3f} {p['answered']:>6.2f} {p['abstained_unanswerable']:>6.2f} "
                                f"{int(p['wrong_abstentions']):>5}  " for p in r.sets.values())
                print(f"{r.threshold:>9.2f}  {r.score:>6.3f}{cells}" + ("← chosen" if r is chosen else ""))
        print("(score: share of questions handled right — an answerable one answered right (SQuAD: its F1), an "
              "unanswerable one abstained on; answ.: answerable answered; abst.: unanswerable abstained on; "
              "wrong: answerable abstained on)")
        for name, (bins, ece) in tables.items():
            print(f"\nreliability, {name}: confidence of the best answer against the share right "
                  f"(expected calibration error {ece:.3f})")
            print(f"  {'confidence':<11} {'questions':>9} {'mean':>6} {'right':>6}")
            for lo, hi, n, conf, right in bins:
                if n:
                    print(f"  {lo:.1f}–{hi:.1f}    {n:>9} {conf:>6.2f} {right:>6.2f}")
        print(f"\nchosen threshold {chosen.threshold:.2f} (now {settings.abstain_threshold:.2f})")
    if args.save:
        save_setting("confidence_weights", list(weights))
        save_setting("agreement_weights", list(agreement))
        where = save_setting("abstain_threshold", chosen.threshold)
        sys.stderr.write(f"qa: saved confidence_weights, agreement_weights and abstain_threshold = "
                         f"{chosen.threshold:.2f} in {where}\n")
    return 0


_SQUAD_ROWS = [("exact", "exact match"), ("f1", "F1"), ("HasAns_exact", "HasAns exact"), ("HasAns_f1", "HasAns F1"),
               ("NoAns_exact", "NoAns accuracy"), ("best_exact", "best exact"), ("best_f1", "best F1")]


def _squad_table(m: dict[str, float]) -> None:
    for key, name in _SQUAD_ROWS:
        if key in m:
            print(f"{name:<28}{m[key]:>10.2f}")
    if "best_f1_thresh" in m:
        print(f"{'best F1 threshold':<28}{m['best_f1_thresh']:>10.3f}")


def _squad_reader_only(service: QAService, questions: list, as_json: bool) -> int:
    from qa import squad
    from qa.safe_text import safe_json

    metrics, spans = squad.reader_only(questions, service.reader())
    if as_json:
        print(safe_json({"metrics": {"squad": metrics}, "reader_only": True,
                         "questions": [{"id": q.id, "question": q.question, "answer": spans[q.id][0],
                                        "no_answer_margin": round(spans[q.id][1], 4)} for q in questions]}))
        return 0
    print(f"{len(questions)} SQuAD questions, each read against its own paragraph (every question answered; "
          "best F1 thresholds the reader's no-answer margin)")
    _squad_table(metrics)
    return 0


def _squad_report(service: QAService, questions: list, outcomes: list, retrieval: dict, k: int,
                  args: argparse.Namespace) -> int:
    from qa import squad
    from qa.safe_text import safe_json

    threshold = service.settings.abstain_threshold
    official = squad.open_metrics(questions, outcomes, threshold)
    rows = squad.sweep(questions, outcomes)
    if args.json:
        print(safe_json({"metrics": {**retrieval, "squad": official}, "sweep": rows, "retriever": args.retriever
                         or service.settings.retriever, "questions": [
                             {**o.result.model_dump(mode="json", exclude={"labels"}), "labels": o.result.labels}
                             for o in outcomes]}))
        return 0
    print(f"{len(questions)} SQuAD questions over {len({q.paragraph for q in questions})} paragraphs "
          f"(one article each), top {k} passages, threshold {threshold:.2f}")
    for key in ("article_recall@1", "article_recall@5", "mrr@10"):
        print(f"{key:<28}{retrieval[key]:>10.3f}")
    _squad_table(official)
    print(f"\n{'threshold':>9}  {'F1':>6}  {'HasAns F1':>9}  {'NoAns':>6}")
    for r in rows:
        print(f"{r['threshold']:>9.2f}  {r['f1']:>6.2f}  {r['HasAns_f1']:>9.2f}  {r['NoAns_exact']:>6.2f}")
    if args.failures:
        for o in outcomes:
            if o.result.labels:
                answer = "(abstained)" if o.result.abstained else o.result.answer.text
                print(f"{o.question.id} {', '.join(o.result.labels):<22} {o.confidence:>5.2f}  "
                      f"{_clip(o.question.question, 60)} → {_clip(answer, 50)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from qa import bench
    from qa.safe_text import safe_json

    service = _service(args)
    parts = tuple(args.only or ("cold", "warm", "indexing", "scale"))
    say = (lambda line: None) if args.json else (lambda line: sys.stderr.write(f"qa: {line}\n"))
    results, path = bench.main(service.settings, args.passages, args.runs, parts, say, args.articles)
    if args.json:
        print(safe_json(results))
    else:
        print(bench.render(results))
        print(f"\nsaved {path}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from qa import ingest

    service = _service(args)
    ingest.discover(service.settings.corpus)  # a missing or empty corpus is reported before the UI opens
    from tui.app import create_app

    create_app(service, resume=args.resume).run()
    return 0


COMMANDS = {"ask": cmd_ask, "index": cmd_index, "sources": cmd_sources, "show": cmd_show, "eval": cmd_eval,
            "chat": cmd_chat, "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    """Run the ``qa`` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except QAError as exc:
        from qa.safe_text import printable

        sys.stderr.write(f"qa: error: {printable(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("qa: interrupted\n")
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `qa sources | head`); nothing left to say
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
