"""The reading model through the real shipped weights: spans, no-answer, assembly, training."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.neural.reader import features as F
from qa.neural.reader.model import WEIGHTS, OnnxReader
from tests.conftest import ROOT, SMALL_SQUAD, run_qa

PASSAGE = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, under "
    "their leader Rollo, agreed to swear fealty to King Charles III of West Francia."
)
OTHER = (
    "Southern California is home to many major business districts. The region's largest city is Los Angeles, "
    "and its ports handle a large share of the country's container traffic."
)


@pytest.fixture(scope="module")
def reader(cache_dir: Path) -> OnnxReader:
    return OnnxReader(cache_dir)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did the Normans give their name to Normandy?", "10th and 11th centuries"),
        ("Who was the leader of the Norse raiders?", "Rollo"),
        ("To which king did they swear fealty?", "Charles III"),
    ],
)
def test_the_reader_finds_the_span_in_a_passage(reader: OnnxReader, question: str, expected: str) -> None:
    span = reader.read(question, [PASSAGE])[0]
    assert expected in PASSAGE[span.start : span.end]
    assert span.score > span.null  # it says the passage answers


def test_the_reader_says_no_answer_for_a_passage_that_does_not_answer(reader: OnnxReader) -> None:
    question = "Who was the leader of the Norse raiders?"
    answering, other = reader.read(question, [PASSAGE, OTHER])
    assert other.null > other.score  # the no-answer side wins there
    assert answering.score - answering.null > other.score - other.null


def test_long_passages_are_read_in_windows_and_offsets_stay_exact(reader: OnnxReader) -> None:
    filler = " ".join(f"Sentence number {i} says nothing of interest here." for i in range(80))
    text = filler + " " + PASSAGE
    span = reader.read("Who was the leader of the Norse raiders?", [text])[0]
    assert text[span.start : span.end].strip() == "Rollo"


def test_windows_share_the_question_and_cover_the_whole_passage() -> None:
    from qa.neural.onnx import model_dir

    tok = F.load_reader_tokenizer(str(model_dir() / "tokenizer.json"), 64, 16)
    text = " ".join(f"word{i}" for i in range(200))
    wins = F.windows(tok, "Which word?", [text])
    assert len(wins) > 1 and all(w.ids[0] == wins[0].ids[0] for w in wins)
    covered = {o for w in wins for o in w.offsets if o is not None}
    assert min(s for s, _ in covered) == 0 and max(e for _, e in covered) == len(text)
    for w in wins:
        assert len(w.ids) <= 64
    # a target outside a window is [CLS]; inside it is the right word piece
    start = text.index("word150")
    targets = [F.token_targets(w, start, start + 7) for w in wins]
    assert (0, 0) in targets and any(t != (0, 0) for t in targets)


def test_a_damaged_weights_file_is_one_clear_error(tmp_path: Path, qa_env: dict[str, str]) -> None:
    bad = tmp_path / "reader.fp16.safetensors"
    bad.write_bytes(WEIGHTS.read_bytes()[:5000])
    with pytest.raises(ModelError, match="damaged"):
        OnnxReader(tmp_path / "cache", weights=bad)
    env = {**qa_env, "QA_READER_WEIGHTS": str(bad)}
    # reported before any indexing: a fresh index folder stays empty
    proc = run_qa(["ask", "Who is Japan's prime minister?", "--index", str(tmp_path / "index")], env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("qa: error: the reader's weights") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not any((tmp_path / "index").glob("*/*"))


def test_a_missing_weights_file_is_one_clear_error(tmp_path: Path, qa_env: dict[str, str]) -> None:
    env = {**qa_env, "QA_READER_WEIGHTS": str(tmp_path / "gone.safetensors")}
    proc = run_qa(["ask", "Who is Japan's prime minister?", "--index", str(tmp_path / "index")], env)
    assert proc.returncode == 2 and "are missing" in proc.stderr and "Traceback" not in proc.stderr


def test_the_shipped_weights_are_small_and_have_a_model_card() -> None:
    assert WEIGHTS.stat().st_size < 30 * 2**20
    card = (WEIGHTS.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in card and "SQuAD 2.0" in card
    record = json.loads((WEIGHTS.parent / "training.json").read_text())
    assert record["dev_reader_only_fp16"]["HasAns_f1"] > 79 and record["train_unanswerable"] > 17_000


def _train(args: list[str], env: dict[str, str]):  # subprocess.CompletedProcess
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "qa.training", "--data", str(SMALL_SQUAD / "train.json"),
         "--dev", str(SMALL_SQUAD / "dev.json"), "--max-length", "128", "--stride", "32", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )


def test_training_runs_on_a_tiny_slice(tmp_path: Path, qa_env: dict[str, str]) -> None:
    proc = _train(
        [
            "--limit",
            "12",
            "--epochs",
            "1",
            "--batch",
            "4",
            "--negatives",
            "1",
            "--perturbed",
            "1",
            "--curve",
            "0.5",
            "--out",
            str(tmp_path),
            "--checkpoint",
            str(tmp_path / "ckpt"),
        ],
        qa_env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "training.json").read_text())
    assert record["train_questions"] == 12 and record["negatives"] > 0 and record["name_swapped"] > 0
    assert record["device"] == "cpu"
    assert set(record["dev_reader_only_fp16"]) >= {"exact", "f1", "HasAns_f1", "NoAns_exact", "best_f1", "noans_auc"}
    assert len(record["learning_curve"]) == 1 and 0.3 < record["learning_curve"][0]["share"] < 0.7
    assert (tmp_path / WEIGHTS.name).stat().st_size > 1_000_000
    assert not (tmp_path / "ckpt" / "checkpoint.pt").exists()  # a finished run leaves no checkpoint behind
    # the weights it wrote load as a reader
    reader = OnnxReader(tmp_path / "cache", weights=tmp_path / WEIGHTS.name)
    assert len(reader.read("Who?", [PASSAGE])) == 1


# One thread: with two, this CPU's kernels round a little differently from run to run (seen in
# 3 of 76 stopped-and-resumed pairs, once before any resume), so a resumed run could not be told
# from one that takes up its checkpoint wrongly. With one, every pair matched bit for bit.
RESUMABLE = ["--epochs", "2", "--batch", "4", "--negatives", "0.5", "--dev-limit", "4", "--curve", "", "--threads", "1"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, qa_env: dict[str, str]) -> dict:
    """The weights of a tiny run that nothing interrupted."""
    from safetensors.numpy import load_file

    out = tmp_path_factory.mktemp("whole")
    proc = _train([*RESUMABLE, "--out", str(out), "--checkpoint", str(out / "ckpt")], qa_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return load_file(str(out / WEIGHTS.name))


def _same_weights(a: dict, path: Path) -> bool:
    from safetensors.numpy import load_file

    b = load_file(str(path))
    return a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_a_stopped_training_run_resumes_to_the_same_weights(
    uninterrupted: dict, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    ckpt = ["--out", str(tmp_path), "--checkpoint", str(tmp_path / "ckpt")]
    # stopped after batch 9 (in the second epoch), right after a checkpoint
    part = _train([*RESUMABLE, *ckpt, "--stop-after", "9"], qa_env)
    assert part.returncode == 0 and (tmp_path / "ckpt" / "checkpoint.pt").is_file()
    assert not (tmp_path / WEIGHTS.name).exists()
    # another recipe refuses the checkpoint in one line
    other = _train([*RESUMABLE, "--lr", "3e-4", *ckpt], qa_env)
    assert other.returncode == 2 and "belongs to another recipe" in other.stderr and "--fresh" in other.stderr
    assert "Traceback" not in other.stderr
    resumed = _train([*RESUMABLE, *ckpt], qa_env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "taking up the checkpoint" in resumed.stdout and "at batch 9 of" in resumed.stdout
    assert _same_weights(uninterrupted, tmp_path / WEIGHTS.name)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_training_run_resumes_to_the_same_weights(
    uninterrupted: dict, tmp_path: Path, qa_env: dict[str, str], how: signal.Signals
) -> None:
    import subprocess
    import sys

    ckpt = tmp_path / "ckpt" / "checkpoint.pt"
    args = [*RESUMABLE, "--out", str(tmp_path), "--checkpoint", str(ckpt.parent)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qa.training",
            "--data",
            str(SMALL_SQUAD / "train.json"),
            "--dev",
            str(SMALL_SQUAD / "dev.json"),
            "--max-length",
            "128",
            "--stride",
            "32",
            *args,
            "--checkpoint-minutes",
            "0",
        ],  # a checkpoint after every batch
        env=qa_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not ckpt.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(how)
    _, err = proc.communicate(timeout=120)
    if how == signal.SIGTERM:  # the checkpoint is written on the way out, and the run says how to go on
        assert proc.returncode == 130 and "takes it up" in err and "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert ckpt.is_file() and not (tmp_path / WEIGHTS.name).exists()
    resumed = _train(args, qa_env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "taking up the checkpoint" in resumed.stdout
    assert _same_weights(uninterrupted, tmp_path / WEIGHTS.name)


def test_training_without_its_data_is_one_clear_error(tmp_path: Path, qa_env: dict[str, str]) -> None:
    env = {**qa_env, "QA_DATASETS": str(tmp_path / "nowhere")}
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "qa.training"], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "train-442-articles.json does not exist" in proc.stderr and "QA_DATASETS" in proc.stderr
