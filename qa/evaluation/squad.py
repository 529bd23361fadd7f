"""SQuAD 2.0 files: reading them, and the official evaluation's metrics.

The metrics follow the official SQuAD 2.0 evaluation script (normalisation: lower case, no
punctuation, no articles a/an/the, single spaces; exact match and token F1 against the best gold
answer; an unanswerable question scores 1 when the system abstains, else 0) and report its keys
on its 0-100 scale, so that figures compare with published ones.
"""

from __future__ import annotations

import json
import os
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qa.errors import QuestionFileError
from qa.text.overlap import overlap_f1

SOURCE = "https://rajpurkar.github.io/SQuAD-explorer/"
"""Where SQuAD 2.0 is published (CC BY-SA 4.0)."""


def datasets_dir() -> Path:
    """The folder of the SQuAD 2.0 files: ``$QA_DATASETS/squad2``, by default ``squad2/`` in the
    folder ``shared/datasets`` beside the project."""
    from qa.config import PROJECT_ROOT

    return Path(os.environ.get("QA_DATASETS") or PROJECT_ROOT.parent / "shared" / "datasets") / "squad2"


class HasAnswers(Protocol):
    """Anything with gold answers: a SQuAD question, a question of the own set."""

    @property
    def answers(self) -> list[str]: ...


@dataclass(frozen=True)
class SquadQuestion:
    """One question of a SQuAD file, with its paragraph."""

    id: str
    question: str
    answers: list[str]
    """Gold answer texts (empty when unanswerable)."""
    starts: list[int]
    """Character offsets of the gold answers in the paragraph."""
    title: str
    """The Wikipedia article's title."""
    paragraph: int
    """The paragraph's number within the file (0, 1, ...), counted over all articles."""
    context: str


def load(path: Path) -> tuple[list[SquadQuestion], list[tuple[str, str]]]:
    """The questions of a SQuAD 2.0 file and its paragraphs as (article title, text)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        articles = raw["data"]
    except FileNotFoundError:
        raise QuestionFileError(f"SQuAD file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise QuestionFileError(f"{path} is not a SQuAD 2.0 JSON file ({type(exc).__name__}: {exc})") from None
    questions: list[SquadQuestion] = []
    paragraphs: list[tuple[str, str]] = []
    try:
        for article in articles:
            title = str(article.get("title", ""))
            for para in article["paragraphs"]:
                context = para["context"]
                n = len(paragraphs)
                paragraphs.append((title, context))
                for qa in para["qas"]:
                    answers = [] if qa.get("is_impossible") else qa["answers"]
                    questions.append(SquadQuestion(
                        id=str(qa["id"]), question=qa["question"], answers=[a["text"] for a in answers],
                        starts=[int(a["answer_start"]) for a in answers], title=title, paragraph=n, context=context,
                    ))
    except (KeyError, TypeError, ValueError) as exc:
        raise QuestionFileError(f"{path} is not a SQuAD 2.0 JSON file (missing or bad field: {exc})") from None
    if not questions:
        raise QuestionFileError(f"SQuAD file {path} holds no questions")
    return questions, paragraphs


# --------------------------------------------------------------------------- official metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the official normalisation)."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def exact(gold: str, pred: str) -> int:
    """1 when the normalised strings are equal."""
    return int(normalize_answer(gold) == normalize_answer(pred))


def f1(gold: str, pred: str) -> float:
    """Token F1 of the normalised strings (both empty: 1)."""
    g, p = normalize_answer(gold).split(), normalize_answer(pred).split()
    if not g or not p:
        return float(g == p)
    return overlap_f1(p, g)


def scores(question: HasAnswers, prediction: str) -> tuple[float, float]:
    """(exact, f1) of one prediction ("" for an abstention) against the best gold answer."""
    golds = [a for a in question.answers if normalize_answer(a)] or [""]
    return max(exact(g, prediction) for g in golds), max(f1(g, prediction) for g in golds)


def evaluate(
    questions: list[SquadQuestion], predictions: dict[str, str], no_answer_probs: dict[str, float] | None = None
) -> dict[str, float]:
    """The official metrics (0-100): exact, f1, total, HasAns_*, NoAns_*, and with
    ``no_answer_probs`` the best thresholds (best_exact, best_f1 and their thresholds), where a
    question is answered when its no-answer probability is at most the threshold."""
    ex, fs = {}, {}
    for q in questions:
        ex[q.id], fs[q.id] = scores(q, predictions.get(q.id, ""))
    has = [q.id for q in questions if q.answers]
    no = [q.id for q in questions if not q.answers]
    out: dict[str, float] = {
        "exact": 100.0 * sum(ex.values()) / len(questions),
        "f1": 100.0 * sum(fs.values()) / len(questions),
        "total": len(questions),
    }
    if has:
        out.update(HasAns_exact=100.0 * sum(ex[i] for i in has) / len(has),
                   HasAns_f1=100.0 * sum(fs[i] for i in has) / len(has), HasAns_total=len(has))
    if no:
        out.update(NoAns_exact=100.0 * sum(ex[i] for i in no) / len(no),
                   NoAns_f1=100.0 * sum(fs[i] for i in no) / len(no), NoAns_total=len(no))
    if no_answer_probs is not None:
        for name, raw in (("exact", ex), ("f1", fs)):
            best, thresh = _best_threshold(questions, predictions, raw, no_answer_probs)
            out[f"best_{name}"], out[f"best_{name}_thresh"] = best, thresh
        if has and no:
            probs = no_answer_probs
            out["noans_auc"] = auc([probs.get(i, 1.0) for i in no], [probs.get(i, 1.0) for i in has])
    return out


def auc(positives: list[float], negatives: list[float]) -> float:
    """The chance that a random positive scores above a random negative (ties count a half): how
    well a no-answer score tells the unanswerable questions from the answerable ones (0.5: not at all)."""
    import numpy as np

    pos, neg = np.asarray(positives, dtype=np.float64), np.asarray(negatives, dtype=np.float64)
    ranks = _ranks(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _ranks(values):  # numpy arrays
    """1-based ranks, ties given their mean rank."""
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    uniq, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def _best_threshold(
    questions: list[SquadQuestion], predictions: dict[str, str], raw: dict[str, float], na_probs: dict[str, float]
) -> tuple[float, float]:
    """The official script's sweep: start from abstaining everywhere, then answer questions in
    increasing order of no-answer probability, keeping the best score seen."""
    score = best = float(sum(1 for q in questions if not q.answers))
    thresh = 0.0
    for q in sorted(questions, key=lambda q: na_probs.get(q.id, 1.0)):
        if not predictions.get(q.id):
            continue
        if q.answers:
            diff = raw[q.id]
        else:
            diff = -1.0
        score += diff
        if score > best:
            best, thresh = score, na_probs.get(q.id, 1.0)
    return 100.0 * best / len(questions), thresh


# --------------------------------------------------------------------------- runs of qa


def corpus_folder(path: Path, paragraphs: list[tuple[str, str]], root: Path) -> Path:
    """A corpus of one article file per paragraph (``p0000.txt`` ...), written once under ``root``
    (the cache) and reused while the SQuAD file is unchanged."""
    import hashlib

    from qa.text.files import write_atomic

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    folder = root / "squad" / f"{Path(path).stem}-{digest}"
    done = folder / ".complete"
    if not done.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for n, (_, text) in enumerate(paragraphs):
            write_atomic(folder / source_name(n), text.encode("utf-8"))
        done.write_text(str(len(paragraphs)))
    return folder


def source_name(paragraph: int) -> str:
    """The article file of paragraph number ``paragraph``."""
    return f"p{paragraph:04d}.txt"


def as_eval_questions(questions: list[SquadQuestion]):  # list[EvalQuestion]
    """The questions in ``qa eval``'s form, each answerable one sourced to its paragraph's file."""
    from qa.models import EvalQuestion

    return [
        EvalQuestion(
            id=q.id,
            question=q.question,
            answers=list(dict.fromkeys(q.answers)),
            sources=[source_name(q.paragraph)] if q.answers else [],
        )
        for q in questions
    ]


def open_metrics(questions: list[SquadQuestion], outcomes: list, threshold: float) -> dict[str, float]:
    """Official metrics of ``qa eval`` outcomes: answered at ``threshold`` (the calibrated operating
    point), and the official best-threshold sweep over the confidence (no-answer probability =
    1 - confidence)."""
    by_id = {o.question.id: o for o in outcomes}
    preds = {q.id: (by_id[q.id].best_span or "") if by_id[q.id].confidence >= threshold else "" for q in questions}
    result = evaluate(questions, preds)
    always = {q.id: by_id[q.id].best_span or "" for q in questions}
    na = {q.id: 1.0 - by_id[q.id].confidence for q in questions}
    swept = evaluate(questions, always, na)
    for key in ("best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"):
        result[key] = swept[key]
    result["threshold"] = threshold
    return result


def sweep(questions: list[SquadQuestion], outcomes: list, steps: int = 20) -> list[dict[str, float]]:
    """HasAns F1, NoAns accuracy and overall F1 at thresholds from 0 to 1."""
    by_id = {o.question.id: o for o in outcomes}
    rows = []
    for i in range(steps + 1):
        t = i / steps
        m = evaluate(
            questions, {q.id: (by_id[q.id].best_span or "") if by_id[q.id].confidence >= t else "" for q in questions}
        )
        rows.append(
            {
                "threshold": t,
                "f1": m["f1"],
                "HasAns_f1": m.get("HasAns_f1", 0.0),
                "NoAns_exact": m.get("NoAns_exact", 0.0),
                "exact": m["exact"],
            }
        )
    return rows


def reader_only(
    questions: list[SquadQuestion], reader: object
) -> tuple[dict[str, float], dict[str, tuple[str, float]]]:
    """Each question read against its own paragraph only: the official metrics with every
    question answered (threshold 0) and the best no-answer threshold on the reader's margin
    (null score - span score); also each question's (span, margin)."""
    spans = {}
    for q in questions:
        s = reader.read(q.question, [q.context])[0]  # type: ignore[attr-defined]
        spans[q.id] = (q.context[s.start : s.end], s.null - s.score)
    preds = {i: span for i, (span, _) in spans.items()}
    return evaluate(questions, preds, {i: m for i, (_, m) in spans.items()}), spans


# --------------------------------------------------------------------------- excerpts

DEV_3 = ("Normans", "Southern_California", "Sky_(United_Kingdom)")
"""The official dev-split articles of ``dev-3-articles.json``, the dev set the README reports."""


def excerpt(path: Path, titles: list[str]) -> dict:
    """The articles of a SQuAD file with these titles, in the file's format (in the order given)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        by_title = {str(a.get("title")): a for a in raw["data"]}
    except FileNotFoundError:
        raise QuestionFileError(f"SQuAD file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise QuestionFileError(f"{path} is not a SQuAD 2.0 JSON file ({type(exc).__name__}: {exc})") from None
    missing = [t for t in titles if t not in by_title]
    if missing:
        raise QuestionFileError(f"{path} has no article titled {missing[0]!r}")
    return {"version": raw.get("version", "v2.0"), "data": [by_title[t] for t in titles]}


def main(argv: list[str] | None = None) -> int:
    """``python -m qa.evaluation.squad excerpt FILE [TITLE ...] -o OUT``: a few articles of a SQuAD file (by
    default the three of the dev set the README reports, from the official dev-v2.0.json)."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m qa.evaluation.squad", description=(main.__doc__ or "").split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("excerpt", help="write some articles of a SQuAD file as a SQuAD file")
    ex.add_argument("file", type=Path)
    ex.add_argument("titles", nargs="*", default=list(DEV_3), help=f"article titles (default: {' '.join(DEV_3)})")
    ex.add_argument("-o", "--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        data = excerpt(args.file, args.titles)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    except QuestionFileError as exc:
        sys.stderr.write(f"python -m qa.evaluation.squad: error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"python -m qa.evaluation.squad: error: cannot write {args.out}: {exc.strerror or exc}\n")
        return 2
    questions = sum(len(para["qas"]) for a in data["data"] for para in a["paragraphs"])
    n = len(data["data"])
    print(f"{args.out}: {n} article{'s' if n != 1 else ''}, {questions} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
