"""qa eval: the question set, its validation, the metrics, the CLI, and a guard against regressions."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from qa.errors import QuestionFileError
from qa.evaluation import calibration, evaluate
from qa.models import Answer, EvalQuestion, EvalResult, Span
from qa.service import QAService
from tests.conftest import ROOT, SEEDS, SMALL_SQUAD, run_qa

QUESTIONS = ROOT / "tests" / "questions.jsonl"


@pytest.fixture(scope="module")
def questions() -> list[EvalQuestion]:
    return evaluate.load_questions(QUESTIONS, {p.name for p in SEEDS.glob("*.txt")})


# --------------------------------------------------------------------------- the question set


def test_every_gold_answer_appears_verbatim_in_one_of_its_sources(questions: list[EvalQuestion]) -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for q in questions:
        for answer in q.answers:
            assert any(answer in texts[s] for s in q.sources), (q.id, answer)


def test_question_set_covers_the_articles_and_the_question_kinds(questions: list[EvalQuestion]) -> None:
    answerable = [q for q in questions if q.answers]
    unanswerable = [q for q in questions if not q.answers]
    assert len(answerable) >= 60 and len(unanswerable) >= 10
    assert {s for q in answerable for s in q.sources} == {p.name for p in SEEDS.glob("*.txt")}
    per_article = Counter(q.sources[0] for q in answerable)
    assert min(per_article.values()) >= 10
    openers = Counter(q.question.split()[0].lower() for q in answerable)
    for word in ("who", "when", "where", "why", "how", "which", "what"):
        assert openers[word] >= 1, word
    assert sum(openers[w] for w in ("is", "has", "will", "does")) >= 2  # yes/no-style
    assert len({q.id for q in questions}) == len(questions)


def test_questions_are_paraphrased_not_copied(questions: list[EvalQuestion]) -> None:
    texts = [p.read_text(encoding="utf-8").lower() for p in SEEDS.glob("*.txt")]
    for q in questions:
        words = q.question.lower().rstrip("?").split()
        # no run of 8 consecutive question words is copied from an article
        for i in range(len(words) - 7):
            assert not any(" ".join(words[i : i + 8]) in t for t in texts), q.id


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "question": "Q?", "answers": [], "sources": []}\n{oops\n', "line 2: invalid JSON"),
        ('{"id": "a", "answers": [], "sources": []}\n', "line 1: field 'question': missing"),
        ('{"id": "a", "question": "Q?", "answers": "x", "sources": []}\n', "line 1: field 'answers'"),
        ('{"id": "a", "question": "Q?", "answers": ["x"], "sources": ["nope.txt"]}\n', "unknown source 'nope.txt'"),
        ('{"id": "a", "question": "Q?", "answers": ["x"], "sources": []}\n', "line 1: field 'sources'"),
        (
            '{"id": "a", "question": "Q?", "answers": [], "sources": []}\n'
            '{"id": "a", "question": "R?", "answers": [], "sources": []}\n',
            "line 2: field 'id': 'a' is used twice",
        ),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ("\n\n", "holds no questions"),
        ('{"id": "a", "question": "Q?", "answers": [], "sources": [], "extra": 1}\n', "line 1: field 'extra'"),
    ],
)
def test_bad_question_files_name_the_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        evaluate.load_questions(path, {"000.txt"})


def test_bad_question_file_on_the_command_line(tmp_path: Path, seed_index: Path, qa_env: dict[str, str]) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "Q?", "answers": ["x"], "sources": ["missing.txt"]}\n')
    result = run_qa(["eval", "--questions", str(path), "--index", str(seed_index)], qa_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "line 1: field 'sources': unknown source 'missing.txt'" in result.stderr
    missing = run_qa(["eval", "--questions", str(tmp_path / "none.jsonl"), "--index", str(seed_index)], qa_env)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# --------------------------------------------------------------------------- metrics (logic)


def test_matching_ignores_case_typographic_quotes_and_spacing() -> None:
    assert evaluate.contains_any("Japan’s  exports FELL", ["japan's exports fell"])
    assert evaluate.contains_any("the “survival-threatening situation”", ['"survival-threatening situation"'])
    assert not evaluate.contains_any(None, ["x"])
    assert evaluate.token_f1("about 45%", ["45%"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert evaluate.token_f1("nothing", ["45%"]) == 0.0


def _result(answer_text: str | None, sentence: str = "") -> EvalResult:
    answer = None
    if answer_text is not None:
        answer = Answer(
            text=answer_text,
            source="a.txt",
            start=0,
            end=len(answer_text),
            confidence=0.9,
            sentence=Span(text=sentence or answer_text, start=0, end=len(sentence or answer_text)),
        )
    return EvalResult(id="x", question="q", abstained=answer is None, answer=answer, citations=[], labels=[])


@pytest.mark.parametrize(
    ("answers", "result", "ranked", "labels"),
    [
        (["March"], _result("March", "ends in March."), ["a.txt"], []),
        (["March"], _result("April", "ends in March, or April."), ["a.txt"], ["span miss"]),
        (["March"], _result("April", "in April."), ["a.txt"], ["wrong sentence"]),
        (["March"], _result(None), ["b.txt"], ["retrieval miss", "wrong abstention"]),
        ([], _result("April"), ["b.txt"], ["answered unanswerable"]),
        ([], _result(None), ["b.txt"], []),
    ],
)
def test_failure_labels(answers: list[str], result: EvalResult, ranked: list[str], labels: list[str]) -> None:
    q = EvalQuestion(id="x", question="q", answers=answers, sources=["a.txt"] if answers else [])
    assert evaluate.label(q, result, ranked, 5) == labels


def test_questions_without_results_count_as_misses() -> None:
    q = EvalQuestion(id="x", question="q", answers=["March"], sources=["a.txt"])
    outcome = evaluate.Outcome(q, _result(None), ranked_sources=[], ranked_texts=[], confidence=0.0, best_sentence=None)
    m = evaluate.metrics([outcome], 5)
    assert m["answerable"] == 1 and m["article_recall@1"] == 0 and m["mrr@10"] == 0 and m["sentence_contains_gold"] == 0


# --------------------------------------------------------------------------- the real thing


@pytest.fixture(scope="module")
def hybrid_metrics(service: QAService, questions: list[EvalQuestion]) -> dict[str, float]:
    outcomes = evaluate.run(service, questions, 5, "hybrid")
    return evaluate.metrics(outcomes, 5)


# The floors sit just below what this version measures (see README, "Answer quality"); a change
# that lowers quality fails here. The targets still above them: sentence 0.85, Recall@1
# 0.95, wrong abstentions 5% (reader v2 at the one operating point chosen for this set and SQuAD
# together refuses 23 of the 139 answerable questions).
FLOORS = {
    "article_recall@1": 0.90,
    "article_recall@5": 0.99,  # 1.0 before other articles were read: see README, "News across articles"
    "mrr@10": 0.94,
    "passage_recall@5": 0.95,
    "sentence_contains_gold": 0.75,
    "span_contains_gold": 0.61,
    "span_f1": 0.65,
    "abstention_accuracy": 0.74,
}


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_quality_does_not_regress(hybrid_metrics: dict[str, float], metric: str) -> None:
    assert hybrid_metrics[metric] >= FLOORS[metric]


def test_wrong_abstentions_do_not_grow(hybrid_metrics: dict[str, float]) -> None:
    assert hybrid_metrics["wrong_abstention_rate"] <= 0.19  # 0.165 measured; the target is 0.05


def test_hybrid_beats_dense_and_lexical_alone(
    service: QAService, questions: list[EvalQuestion], hybrid_metrics: dict[str, float]
) -> None:
    for mode in ("dense", "lexical"):
        single = evaluate.metrics(evaluate.run(service, questions, 5, mode), 5)
        assert hybrid_metrics["mrr@10"] > single["mrr@10"]


def test_eval_json_has_the_ask_json_shape(seed_index: Path, qa_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "t1", "question": "When does the host-nation support accord expire?", "answers": ["March"], '
        '"sources": ["000_50d2cdad97c7c4d1.txt"]}\n'
        '{"id": "t2", "question": "How do you bake sourdough bread?", "answers": [], "sources": []}\n'
    )
    out = run_qa(["eval", "--questions", str(path), "--json", "--index", str(seed_index)], qa_env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"metrics", "questions"}
    assert data["metrics"]["answerable"] == 1 and data["metrics"]["unanswerable"] == 1
    first, second = data["questions"]
    assert set(first) >= {"id", "question", "abstained", "answer", "citations", "labels"}
    ask = json.loads(run_qa(["ask", first["question"], "--json", "--index", str(seed_index)], qa_env).stdout)
    assert first["answer"] == ask["answer"] and first["citations"] == ask["citations"]
    assert first["labels"] == [] and second["abstained"] is True and second["labels"] == []


def test_compare_and_calibrate_print_their_tables(seed_index: Path, qa_env: dict[str, str], tmp_path: Path) -> None:
    compare = run_qa(["eval", "--compare", "--index", str(seed_index)], qa_env)
    assert compare.returncode == 0
    header = next(line for line in compare.stdout.splitlines() if line.startswith("metric"))
    assert header.split()[1:] == ["dense", "lexical", "hybrid"]
    config = tmp_path / "config.toml"
    config.write_text("top_k = 5\n")
    # one operating point for the own set and a SQuAD file together
    calibrate = run_qa(
        [
            "eval",
            "--calibrate",
            "--save",
            "--questions",
            str(_small_own_set(tmp_path)),
            "--squad",
            str(SMALL_SQUAD / "dev.json"),
            "--index",
            str(seed_index),
        ],
        {**qa_env, "QA_CONFIG": str(config)},
    )
    assert calibrate.returncode == 0, calibrate.stderr
    out = calibrate.stdout
    assert "← chosen" in out and "what each feature earns" in out and "margin over no answer" in out
    assert "reliability, questions.jsonl" in out and "reliability, dev.json" in out and "reliability, all" in out
    assert "expected calibration error" in out
    saved = config.read_text()
    assert "abstain_threshold = " in saved and "top_k = 5" in saved  # other keys are kept
    assert "confidence_weights = [" in saved
    from qa.config import load_settings

    fitted = load_settings(env={"QA_CONFIG": str(config)})
    assert len(fitted.confidence_weights) == 7 and fitted.confidence_weights[0] > 0  # the margin counts for the answer


def _small_own_set(tmp_path: Path) -> Path:
    """The first 30 answerable and 8 unanswerable questions of the own set (a quick calibration)."""
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    answerable = [x for x in lines if json.loads(x)["answers"]][:30]
    unanswerable = [x for x in lines if not json.loads(x)["answers"]][:8]
    path = tmp_path / "small" / "questions.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(answerable + unanswerable) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- calibration logic


def _outcome(
    qid: str,
    answers: list[str],
    confidence: float,
    span: str,
    candidates: list[tuple[tuple[float, ...], str]] | None = None,
) -> evaluate.Outcome:
    q = EvalQuestion(id=qid, question="?", answers=answers, sources=["a.txt"] if answers else [])
    result = EvalResult(id=qid, question="?", abstained=False, answer=None, citations=[], labels=[])
    cands = [(f, sp, sp, 0, 0, True) for f, sp in (candidates or [])]
    return evaluate.Outcome(
        question=q,
        result=result,
        ranked_sources=[],
        ranked_texts=[],
        confidence=confidence,
        best_sentence=span,
        best_span=span,
        candidates=cands,
    )


def test_reliability_bins_and_expected_calibration_error() -> None:
    outcomes = [
        _outcome("a", ["Rollo"], 0.95, "Rollo"),
        _outcome("b", ["Rollo"], 0.92, "Charles"),
        _outcome("c", [], 0.15, "France"),
        _outcome("d", ["1887"], 0.12, "1887"),
    ]
    bins, ece = calibration.reliability(outcomes)
    top, low = bins[9], bins[1]
    assert top[2] == 2 and top[3] == pytest.approx(0.935) and top[4] == 0.5  # one of the two is right
    assert low[2] == 2 and low[4] == 0.5  # an answer to the unanswerable question is never right
    assert ece == pytest.approx((2 * abs(0.935 - 0.5) + 2 * abs(0.135 - 0.5)) / 4)


def test_the_operating_point_weighs_each_set_the_same_and_scores_squad_by_f1() -> None:
    own = calibration.CalibrationSet("own", [_outcome("a", ["March"], 0.8, "March"), _outcome("b", [], 0.3, "May")])
    squad_set = calibration.CalibrationSet(
        "squad",
        [_outcome("c", ["in the 10th century"], 0.6, "10th century"), _outcome("d", [], 0.5, "Rollo")],
        official=True,
    )
    assert squad_set.credit(squad_set.outcomes[0], answered=True) == pytest.approx(0.8)  # official F1, not 0/1
    rows = calibration.operating_sweep([own, squad_set])
    chosen = calibration.choose_operating_point(rows)
    # above 0.5 and up to 0.6 both unanswerable questions are refused and both answers kept
    assert 0.5 < chosen.threshold <= 0.6
    assert chosen.sets["own"]["score"] == 1.0 and chosen.sets["squad"]["score"] == pytest.approx(0.9)
    assert chosen.score == pytest.approx(0.95)
    assert chosen.sets["squad"]["abstained_unanswerable"] == 1.0 and chosen.sets["own"]["wrong_abstentions"] == 0


def test_feature_ablation_finds_the_feature_that_tells_right_from_wrong() -> None:
    import random

    rng = random.Random(5)
    outcomes = []
    for i in range(300):
        right = i % 2 == 0
        useful, noise = (1.0 if right else -1.0) + rng.gauss(0, 0.8), rng.gauss(0, 1)
        outcomes.append(
            _outcome(f"q{i}", ["yes"], 0.5, "yes" if right else "no", [((useful, noise), "yes" if right else "no")])
        )
    ablation = calibration.feature_ablation([calibration.CalibrationSet("s", outcomes)], ["useful", "noise"])
    assert ablation["useful"] > 0.1 and abs(ablation["noise"]) < 0.01
    keep, rounds = calibration.select_features([calibration.CalibrationSet("s", outcomes)], ["useful", "noise"])
    assert keep == [0] and len(rounds) == 1  # the noise is left out; the useful feature stays
    weights = calibration.fit_weights([calibration.CalibrationSet("s", outcomes)], keep)
    assert weights[0] > 1 and weights[1] == 0
