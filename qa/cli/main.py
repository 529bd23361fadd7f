"""The ``qa`` command: parse, call the service, print text or JSON.

Every ``QAError`` becomes one line on stderr (``qa: error: ...``) and exit status 2; so does a bad
argument. Heavy modules are imported inside the commands, so ``qa --help`` and argument errors
return at once.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING, Any

from qa.cli.common import ProgressPrinter, colour_on, render_answer, service_for, style, waiting, warn
from qa.cli.evaluating import cmd_eval
from qa.cli.parser import build_parser
from qa.errors import QAError, UsageError

if TYPE_CHECKING:
    from qa.store.refresh import IndexReport


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer.questions import clean_question
    from qa.text.safe import safe_json

    clean_question(args.question)  # reject an empty question before loading anything
    service = service_for(args, retriever=args.retriever)
    with ProgressPrinter() as progress:
        result = service.ask(
            args.question,
            k=args.k,
            progress=progress,
            since=args.since,
            until=args.until,
            timeline=True if args.timeline else None,
        )
    if args.json:
        print(safe_json(result.model_dump(mode="json"), indent=None))
    else:
        print(render_answer(result, service.settings, colour_on(sys.stdout)))
    return 0


def _report_dict(report: IndexReport) -> dict[str, Any]:
    return {
        "path": str(report.path),
        "articles": report.articles,
        "passages": report.passages,
        "sentences": report.sentences,
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "seconds": round(report.seconds, 3),
        "encoder": report.encoder,
        "rebuilt": report.rebuilt,
        "wrote": report.wrote,
        "resumed": report.resumed,
        "warnings": report.warnings,
    }


def cmd_index(args: argparse.Namespace) -> int:
    from qa.text.safe import counted, safe_json

    service = service_for(args)
    with ProgressPrinter() as progress:
        report = service.index(rebuild=args.rebuild, progress=progress, on_wait=waiting)
    if args.json:
        print(safe_json(_report_dict(report)))
        return 0
    warn(report.warnings)
    if not report.wrote:
        summary = "index is up to date"
    else:
        changes = [
            f"{len(x)} {name}"
            for x, name in ((report.added, "added"), (report.changed, "changed"), (report.removed, "removed"))
            if x
        ]
        if report.resumed:
            changes.append(f"{report.resumed} taken up from an interrupted run")
        summary = ("rebuilt index" if report.rebuilt else "refreshed index") + (
            f" ({', '.join(changes)})" if changes else ""
        )
    print(
        f"{summary}: {counted(report.articles, 'article')}, {counted(report.passages, 'passage')}, "
        f"{counted(report.sentences, 'sentence')} "
        f"in {report.seconds:.1f} s → {report.path.parent}"
    )
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from qa.text.safe import counted, printable, safe_json

    service = service_for(args)
    with ProgressPrinter() as progress:
        items = service.sources(progress=progress)
    if args.json:
        print(safe_json([asdict(s) for s in items], indent=1))
        return 0
    width = max((len(s.source) for s in items), default=6)
    origin = max((len(s.date_from or "") for s in items), default=0)
    origin = max(origin, len("DATE FROM"))
    kind = max(len("FORMAT"), max((len(s.format) for s in items), default=0))
    print(
        f"{'SOURCE':<{width}}  {'DATE':<10}  {'DATE FROM':<{origin}}  {'FORMAT':<{kind}}  {'PASSAGES':>8}  "
        "OUTLET / TITLE"
    )
    for s in items:
        outlet = f"{s.outlet} — " if s.outlet else ""
        print(
            f"{printable(s.source):<{width}}  {s.date or '—':<10}  {s.date_from or 'not stated':<{origin}}  "
            f"{s.format:<{kind}}  {s.passages:>8}  {printable(outlet + s.title)}"
        )
        if s.url:
            print(f"{'':<{width}}  {printable(s.url)}")
    dated = sum(s.date is not None for s in items)
    if dated < len(items):
        print(
            f"{len(items) - dated} of {counted(len(items), 'article')} state no date: time questions and "
            "--since/--until cannot place them"
        )
    extracted = sum(s.text_of == "extracted" for s in items)
    if extracted:
        print(
            f"{extracted} of {counted(len(items), 'article')} come from web pages or exports: their offsets are "
            "into the extracted text, which `qa show SOURCE` prints"
        )
    print(f"{counted(len(items), 'article')}, {counted(sum(s.passages for s in items), 'passage')}")
    return 0


_RANGE = re.compile(r"^(?P<source>.+):(?P<start>\d+)-(?P<end>\d+)$")


def cmd_show(args: argparse.Namespace) -> int:
    from qa.text.safe import printable, safe_json

    service = service_for(args)
    given, span = args.source, None
    m = _RANGE.match(given)
    with ProgressPrinter() as progress:
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
        raise UsageError(
            f"characters {start}-{end} are not in {article.source}, whose text has {len(text)} "
            f"characters; give START-END within 0-{len(text)}"
        )
    part = text[start:end]
    if args.json:
        print(
            safe_json(
                {
                    "source": article.source,
                    "title": article.title,
                    "date": article.date,
                    "outlet": article.outlet,
                    "url": article.url,
                    "author": article.author,
                    "format": article.format,
                    "text_of": article.text_of,
                    "start": start,
                    "end": end,
                    "text": part,
                },
                indent=1,
            )
        )
        return 0
    if args.text:
        sys.stdout.write(printable(part) + ("" if part.endswith("\n") else "\n"))
        return 0
    _print_article(article, part, start, end, len(text))
    return 0


def _print_article(article, part: str, start: int, end: int, length: int) -> None:
    """An article's title, byline, where its text comes from, then the part asked for."""
    from qa import present
    from qa.text.safe import printable

    colour = colour_on(sys.stdout)
    print(style(printable(article.title), "1", colour))
    facts = [
        x
        for x in (present.byline(article.outlet, article.date), article.author and f"by {article.author}", article.url)
        if x
    ]
    print(printable(" · ".join(facts)))
    of = (
        "the file's text"
        if article.text_of == "file"
        else "text extracted from the page"
        if article.format == "html"
        else "text of the export record"
    )
    print(
        style(
            f"{printable(article.source)} · {article.format} · {of} · characters {start}-{end} of {length}",
            "2",
            colour,
        )
    )
    print()
    print(printable(part))


def cmd_bench(args: argparse.Namespace) -> int:
    from qa.evaluation import bench, bench_report
    from qa.text.safe import safe_json

    service = service_for(args)
    parts = tuple(args.only or ("cold", "warm", "indexing", "scale"))
    def say(line: str) -> None:
        if not args.json:
            sys.stderr.write(f"qa: {line}\n")

    results, path = bench.main(service.settings, args.passages, args.runs, parts, say, args.articles)
    if args.json:
        print(safe_json(results))
    else:
        print(bench_report.render(results))
        print(f"\nsaved {path}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from qa.corpus import ingest

    service = service_for(args)
    ingest.discover(service.settings.corpus)  # a missing or empty corpus is reported before the UI opens
    from tui.app import create_app

    create_app(service, resume=args.resume).run()
    return 0


COMMANDS = {
    "ask": cmd_ask,
    "index": cmd_index,
    "sources": cmd_sources,
    "show": cmd_show,
    "eval": cmd_eval,
    "chat": cmd_chat,
    "bench": cmd_bench,
}


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
        from qa.text.safe import printable

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
