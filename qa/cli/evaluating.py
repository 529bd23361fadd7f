"""``qa eval``: the own question set or a SQuAD file, the retrievers compared, calibration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.cli.common import ProgressPrinter, service_for, settings_for
from qa.errors import UsageError

if TYPE_CHECKING:
    from qa.service import QAService


_METRIC_ROWS = [
    ("article_recall@1", "article Recall@1"),
    ("article_recall@3", "article Recall@3"),
    ("article_recall@5", "article Recall@5"),
    ("article_recall@10", "article Recall@10"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
    ("passage_recall@1", "passage Recall@1"),
    ("passage_recall@5", "passage Recall@5"),
    ("passage_recall@10", "passage Recall@10"),
    ("span_contains_gold", "span contains gold"),
    ("sentence_contains_gold", "sentence contains gold"),
    ("span_f1", "span token F1"),
    ("abstention_accuracy", "abstained on unanswerable"),
    ("wrong_abstentions", "wrong abstentions"),
]


def clip(text: str | None, width: int) -> str:
    from qa.text.safe import printable

    text = printable(" ".join((text or "").split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def _check_options(args: argparse.Namespace) -> None:
    """Reject the combinations of ``qa eval`` options that mean nothing."""
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


def _squad_service(args: argparse.Namespace, file: str) -> tuple[QAService, list]:
    """The service over a SQuAD file's paragraphs (one article each), and its questions."""
    from qa.evaluation import squad
    from qa.service import QAService

    questions, paragraphs = squad.load(Path(file))
    settings = settings_for(args)
    folder = squad.corpus_folder(Path(file), paragraphs, settings.cache_path())
    return QAService(settings.model_copy(update={"corpus": folder})), questions


def _own_questions(args: argparse.Namespace, service: QAService) -> tuple[list, Path, list]:
    """The own question set (``--questions``, default tests/questions.jsonl), and the indexed
    articles (indexing first)."""
    from qa.config import PROJECT_ROOT
    from qa.evaluation import evaluate

    path = Path(args.questions) if args.questions else PROJECT_ROOT / "tests" / "questions.jsonl"
    with ProgressPrinter() as progress:
        articles = service.ensure_index(progress=progress).manifest.articles
    return evaluate.load_questions(path, {a.article.source for a in articles}), path, articles


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluation import evaluate, squad

    _check_options(args)
    if args.calibrate:
        return _calibrate(args)
    if args.squad and args.reader_only:
        return _squad_reader_only(service_for(args), squad.load(Path(args.squad))[0], args.json)
    squad_questions = None
    if args.squad:
        service, squad_questions = _squad_service(args, args.squad)
        with ProgressPrinter() as progress:
            articles = service.ensure_index(progress=progress).manifest.articles
        questions, path = squad.as_eval_questions(squad_questions), Path(args.squad)
    else:
        service = service_for(args)
        questions, path, articles = _own_questions(args, service)
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
        _own_json(runs, results, modes, args.compare)
    else:
        _own_report(questions, runs, results, modes, k, path, args)
    return 0


def _own_json(runs: dict, results: dict, modes: list[str], compare: bool) -> None:
    from qa.text.safe import safe_json

    mode = modes[-1]
    payload = {
        "metrics": results[mode] if not compare else results,
        "retriever": mode if not compare else modes,
        "questions": [
            {**o.result.model_dump(mode="json", exclude={"labels"}), "labels": o.result.labels} for o in runs[mode]
        ],
    }
    print(safe_json(payload))


def _own_report(questions: list, runs: dict, results: dict, modes: list[str], k: int, path: Path,
                args: argparse.Namespace) -> None:
    """The metrics table (a column per retriever) and, for one retriever, a line per question."""
    width = 28
    print(
        f"{len(questions)} questions ({int(results[modes[0]]['answerable'])} answerable, "
        f"{int(results[modes[0]]['unanswerable'])} unanswerable), top {k} passages, {path}"
    )
    print(f"{'metric':<{width}}" + "".join(f"{m:>10}" for m in modes))
    for key, name in _METRIC_ROWS:
        cells = "".join(
            f"{int(results[m][key]):>10d}" if key == "wrong_abstentions" else f"{results[m][key]:>10.3f}" for m in modes
        )
        print(f"{name:<{width}}{cells}")
    if args.compare:
        return
    print()
    print(f"{'id':<6} {'result':<22} {'conf':>5}  question → answer")
    for o in runs[modes[0]]:
        labels = ", ".join(o.result.labels) or "ok"
        if args.failures and labels == "ok":
            continue
        answer = "(abstained)" if o.result.abstained else o.result.answer.text
        print(
            f"{o.question.id:<6} {labels:<22} {o.confidence:>5.2f}  "
            f"{clip(o.question.question, 60)} → {clip(answer, 50)}"
        )


def _calibration_set(args: argparse.Namespace, squad_file: str | None) -> Any:
    """One question set run for calibration (threshold 0, every passage read): the own question
    set over the corpus, or a SQuAD file over its paragraphs."""
    from qa.evaluation import calibration, squad

    if squad_file:
        service, squad_questions = _squad_service(args, squad_file)
        with ProgressPrinter() as progress:
            service.ensure_index(progress=progress)
        questions, name = squad.as_eval_questions(squad_questions), Path(squad_file).name
    else:
        service = service_for(args)
        questions, path, _ = _own_questions(args, service)
        name = path.name
    return calibration.collect(
        service,
        questions,
        name,
        bool(squad_file),
        args.k or service.settings.top_k,
        args.retriever or service.settings.retriever,
        args.since,
        args.until,
    ), service.settings


def _calibrate(args: argparse.Namespace) -> int:
    """``qa eval --calibrate``: fit the confidence model on the own question set (and a SQuAD
    file with --squad, as one mix where each set weighs the same), show what each feature earns,
    choose one threshold for all sets and show how it does on each, and how reliable the
    confidence is."""
    from qa.answer.answerer import FEATURES
    from qa.config import save_setting
    from qa.evaluation import calibration
    from qa.text.safe import safe_json

    own, settings = _calibration_set(args, None)
    sets = [own] + ([_calibration_set(args, args.squad)[0]] if args.squad else [])
    fit = calibration.calibrate(sets, list(FEATURES))
    if args.json:
        print(safe_json(_calibration_json(fit)))
    else:
        print(
            f"calibrated on {' + '.join(f'{s.name} ({len(s.outcomes)} questions)' for s in sets)}"
            + (", each set weighing the same" if len(sets) > 1 else "")
        )
        _print_features(fit, settings)
        _print_sweep(fit, sets)
        _print_reliability(fit)
        print(f"\nchosen threshold {fit.chosen.threshold:.2f} (now {settings.abstain_threshold:.2f})")
    if args.save:
        save_setting("confidence_weights", list(fit.weights))
        save_setting("agreement_weights", list(fit.agreement))
        where = save_setting("abstain_threshold", fit.chosen.threshold)
        sys.stderr.write(
            f"qa: saved confidence_weights, agreement_weights and abstain_threshold = "
            f"{fit.chosen.threshold:.2f} in {where}\n"
        )
    return 0


def _calibration_json(fit: Any) -> dict:
    from qa.answer.answerer import FEATURES

    return {
        "features": list(FEATURES),
        "weights": fit.weights,
        "agreement_weights": fit.agreement,
        "feature_ablation": [{"log_loss": r[""], "without": {f: v for f, v in r.items() if f}} for r in fit.rounds],
        "features_dropped": fit.dropped,
        "sweep": [r.__dict__ for r in fit.sweep],
        "chosen": fit.chosen.__dict__,
        "reliability": {
            name: {
                "bins": [dict(zip(("low", "high", "questions", "confidence", "right"), b, strict=True)) for b in bins],
                "ece": ece,
            }
            for name, (bins, ece) in fit.reliability.items()
        },
    }


def _print_features(fit: Any, settings: Any) -> None:
    """What each feature earns, which were left out, and the fitted weights against today's."""
    from qa.config import CONFIDENCE_FEATURES as FEATURES
    from qa.evaluation import calibration

    ablation, dropped, weights, agreement = fit.rounds[0], fit.dropped, fit.weights, fit.agreement
    print(f"\nwhat each feature earns: cross-validated log loss {ablation['']:.4f} with all; without one of them:")
    for f in FEATURES:
        print(f"  {FEATURES[f]:<24}{ablation[''] + ablation[f]:>8.4f}  ({ablation[f]:+.4f})")
    if dropped:
        print(
            f"left out (each earned less than {calibration.EARNS:g} once the others were in; weight 0): "
            + ", ".join(FEATURES[f] for f in dropped)
        )
    else:
        print(f"every feature earns at least {calibration.EARNS:g}: all kept")
    print(
        "\nconfidence weights ("
        + ", ".join(FEATURES[f] for f in FEATURES)
        + ", bias): "
        + ", ".join(f"{w:g}" for w in weights)
        + f"\n  (now {', '.join(f'{w:g}' for w in settings.confidence_weights)})"
    )
    print(
        f"agreement weights (per agreeing article, per differing article): {agreement[0]:g}, {agreement[1]:g} "
        f"(now {', '.join(f'{w:g}' for w in settings.agreement_weights)})"
    )


def _print_sweep(fit: Any, sets: list) -> None:
    """The abstention thresholds every 0.05 (and the chosen one), with each set's figures."""
    head = "".join(f"  | {s.name[:30]:<30}" for s in sets)
    print(f"\n{'':>9}  {'mean':>6}{head}")
    print(
        f"{'threshold':>9}  {'score':>6}"
        + "".join(f"  | {'score':>6} {'answ.':>6} {'abst.':>6} {'wrong':>5}  " for _ in sets)
    )
    for r in fit.sweep:
        if round(r.threshold * 100) % 5 == 0 or r is fit.chosen:
            cells = "".join(
                f"  | {p['score']:>6.3f} {p['answered']:>6.2f} {p['abstained_unanswerable']:>6.2f} "
                f"{int(p['wrong_abstentions']):>5}  "
                for p in r.sets.values()
            )
            print(f"{r.threshold:>9.2f}  {r.score:>6.3f}{cells}" + ("← chosen" if r is fit.chosen else ""))
    print(
        "(score: share of questions handled right — an answerable one answered right (SQuAD: its F1), an "
        "unanswerable one abstained on; answ.: answerable answered; abst.: unanswerable abstained on; "
        "wrong: answerable abstained on)"
    )


def _print_reliability(fit: Any) -> None:
    """Each set's reliability table and expected calibration error."""
    for name, (bins, ece) in fit.reliability.items():
        print(
            f"\nreliability, {name}: confidence of the best answer against the share right "
            f"(expected calibration error {ece:.3f})"
        )
        print(f"  {'confidence':<11} {'questions':>9} {'mean':>6} {'right':>6}")
        for lo, hi, n, conf, right in bins:
            if n:
                print(f"  {lo:.1f}–{hi:.1f}    {n:>9} {conf:>6.2f} {right:>6.2f}")


_SQUAD_ROWS = [
    ("exact", "exact match"),
    ("f1", "F1"),
    ("HasAns_exact", "HasAns exact"),
    ("HasAns_f1", "HasAns F1"),
    ("NoAns_exact", "NoAns accuracy"),
    ("best_exact", "best exact"),
    ("best_f1", "best F1"),
]


def _squad_table(m: dict[str, float]) -> None:
    for key, name in _SQUAD_ROWS:
        if key in m:
            print(f"{name:<28}{m[key]:>10.2f}")
    if "best_f1_thresh" in m:
        print(f"{'best F1 threshold':<28}{m['best_f1_thresh']:>10.3f}")


def _squad_reader_only(service: QAService, questions: list, as_json: bool) -> int:
    from qa.evaluation import squad
    from qa.text.safe import safe_json

    metrics, spans = squad.reader_only(questions, service.reader())
    if as_json:
        print(
            safe_json(
                {
                    "metrics": {"squad": metrics},
                    "reader_only": True,
                    "questions": [
                        {
                            "id": q.id,
                            "question": q.question,
                            "answer": spans[q.id][0],
                            "no_answer_margin": round(spans[q.id][1], 4),
                        }
                        for q in questions
                    ],
                }
            )
        )
        return 0
    print(
        f"{len(questions)} SQuAD questions, each read against its own paragraph (every question answered; "
        "best F1 thresholds the reader's no-answer margin)"
    )
    _squad_table(metrics)
    return 0


def _squad_report(
    service: QAService, questions: list, outcomes: list, retrieval: dict, k: int, args: argparse.Namespace
) -> int:
    from qa.evaluation import squad
    from qa.text.safe import safe_json

    threshold = service.settings.abstain_threshold
    official = squad.open_metrics(questions, outcomes, threshold)
    rows = squad.sweep(questions, outcomes)
    if args.json:
        print(
            safe_json(
                {
                    "metrics": {**retrieval, "squad": official},
                    "sweep": rows,
                    "retriever": args.retriever or service.settings.retriever,
                    "questions": [
                        {**o.result.model_dump(mode="json", exclude={"labels"}), "labels": o.result.labels}
                        for o in outcomes
                    ],
                }
            )
        )
        return 0
    print(
        f"{len(questions)} SQuAD questions over {len({q.paragraph for q in questions})} paragraphs "
        f"(one article each), top {k} passages, threshold {threshold:.2f}"
    )
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
                print(
                    f"{o.question.id} {', '.join(o.result.labels):<22} {o.confidence:>5.2f}  "
                    f"{clip(o.question.question, 60)} → {clip(answer, 50)}"
                )
    return 0
