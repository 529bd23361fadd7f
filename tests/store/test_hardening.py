"""Bad input, broken or raced indexes, hostile text: one clear line, and nothing lost.

Processes here are real `qa` subprocesses. Tests run as root on the CI machines, where file
permissions do not apply; `without_root_powers` drops the two capabilities that let root ignore
them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) in the child, so that unreadable files and read-only
folders behave as they do for any user.
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.config import load_settings
from qa.corpus import ingest
from qa.errors import IndexStoreError
from qa.service import QAService
from qa.store.generations import current_generation, read_manifest, verify_files
from qa.store.refresh import index_root
from tests.conftest import QA, SEEDS, kill_when_paused, paused_qa, run_qa

CONTROL = set(range(0, 9)) | set(range(11, 32)) | {127} | set(range(128, 160))


def without_root_powers() -> None:
    """preexec_fn: keep uid 0 but let file permissions apply (drop DAC override capabilities)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop capabilities")


def qa_limited(args: list[str], env: dict[str, str], preexec=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(QA + args, env=env, capture_output=True, text=True, timeout=600, preexec_fn=preexec)


def one_error_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit status 2 and exactly one error line, the last thing said (progress lines may precede it)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("qa: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def no_control_characters(text: str) -> bool:
    return not any(ord(c) in CONTROL for c in text)


# --------------------------------------------------------------------------- questions


@pytest.fixture(scope="module")
def env_seeds(seed_index: Path, qa_env: dict[str, str]) -> dict[str, str]:
    return {**qa_env, "QA_INDEX": str(seed_index)}


def test_a_100000_character_question_is_cut_with_a_notice(env_seeds: dict[str, str]) -> None:
    question = "When does the host-nation support accord expire? " + "x" * 99_950
    result = run_qa(["ask", question, "--json"], env_seeds)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert any("only its first 2,000 were used" in n for n in out["notices"])
    assert out["question"] == question


@pytest.mark.parametrize(
    "question",
    [
        "日本と中国の関係はどうなっていますか？",
        "Wer ist Shigeru Ishiba?",
        "🇯🇵🤝🇨🇳 ???",
        "Who\x07 is \x1b[31mStephen Nagy\x1b[0m?",
        "\u202eWho is Ian Chong?",
        "’“”—…",
        "?" * 5000,
    ],
)
def test_odd_questions_are_answered_or_abstained(env_seeds: dict[str, str], question: str) -> None:
    result = run_qa(["ask", question], env_seeds)
    assert result.returncode == 0, result.stderr
    assert no_control_characters(result.stdout)
    assert result.stdout.strip()


# --------------------------------------------------------------------------- corpus


@pytest.fixture
def messy_corpus(tmp_path: Path) -> Path:
    """Good articles beside every kind of bad file."""
    corpus = tmp_path / "messy corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "004_6e0a6a8466ff434c.txt", corpus / "Ünïcode and spaces — VOA.txt")
    shutil.copy(SEEDS / "000_50d2cdad97c7c4d1.txt", corpus / "jiji.md")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(200))
    (corpus / "latin1.txt").write_bytes(
        "Tokyo Trade Fair Draws Visitors\n\nThe fair in Tokyo drew 12,000 visitors, organisers said. "
        "Caf\xe9 owners were"
        " pleased.\n".encode("latin-1")
    )
    (corpus / "empty.txt").write_bytes(b"")
    with (corpus / "huge.txt").open("w") as fh:
        block = "This sentence repeats to make a file far too large for one article. " * 1000
        while fh.tell() < 50 * 2**20:
            fh.write(block)
    (corpus / "locked.txt").write_text("A Locked Article\n\nNobody may read this one.\n")
    (corpus / "locked.txt").chmod(0o000)
    (corpus / "sub").mkdir()
    os.symlink(corpus, corpus / "sub" / "loop")
    os.symlink(corpus / "missing.txt", corpus / "dangling.txt")
    os.mkfifo(corpus / "pipe.txt")
    return corpus


def test_bad_files_are_skipped_with_warnings_and_the_rest_is_indexed(
    messy_corpus: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    env = {**qa_env, "QA_CORPUS": str(messy_corpus), "QA_INDEX": str(tmp_path / "index")}
    result = qa_limited(["index"], env, preexec=without_root_powers)
    assert result.returncode == 0, result.stderr
    warnings = result.stderr
    for name, why in [
        ("binary.txt", "binary"),
        ("empty.txt", "empty"),
        ("huge.txt", "50 MB is larger than"),
        ("locked.txt", "permission denied"),
        ("loop", "already visited"),
        ("dangling.txt", "broken symbolic link"),
        ("pipe.txt", "not a regular file"),
        ("latin1.txt", "not valid UTF-8"),
    ]:
        assert any(name in line and why in line for line in warnings.splitlines()), (name, warnings)
    assert result.stdout.startswith("rebuilt index (3 added): 3 articles")
    sources = json.loads(qa_limited(["sources", "--json"], env, preexec=without_root_powers).stdout)
    assert sorted(s["source"] for s in sources) == ["jiji.md", "latin1.txt", "Ünïcode and spaces — VOA.txt"]
    latin = next(s for s in sources if s["source"] == "latin1.txt")
    assert latin["warnings"] and "\ufffd" not in latin["title"]
    answer = json.loads(
        qa_limited(
            ["ask", "How many visitors did the Tokyo fair draw?", "--json"], env, preexec=without_root_powers
        ).stdout
    )
    assert answer["answer"]["source"] == "latin1.txt" and "12,000" in answer["answer"]["text"]
    file_text = (messy_corpus / "latin1.txt").read_bytes().decode("utf-8", errors="replace")
    assert file_text[answer["answer"]["start"] : answer["answer"]["end"]] == answer["answer"]["text"]
    (messy_corpus / "locked.txt").chmod(0o644)


# --------------------------------------------------------------------------- index integrity


@pytest.fixture
def built(corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]) -> dict[str, object]:
    env = {**qa_env, "QA_CORPUS": str(corpus_copy), "QA_INDEX": str(tmp_path / "index")}
    assert run_qa(["index"], env).returncode == 0
    settings = load_settings(env=env)
    root = index_root(settings)
    return {"env": env, "root": root, "generation": current_generation(root), "settings": settings}


def _damage(generation: Path, how: str) -> None:
    if how == "truncated":
        path = generation / "passages.faiss"
        path.write_bytes(path.read_bytes()[:100])
    elif how == "deleted":
        (generation / "sentences.npy").unlink()
    elif how == "garbled":
        path = generation / "texts.bin"
        data = bytearray(path.read_bytes())
        data[100:120] = b"#" * 20
        path.write_bytes(bytes(data))
    elif how == "other model":
        manifest = json.loads((generation / "manifest.json").read_text())
        manifest["settings"]["model"] = "some/other-model"
        (generation / "manifest.json").write_text(json.dumps(manifest))
    elif how == "bad manifest":
        (generation / "manifest.json").write_text("{not json")
    elif how == "bad pointer":
        (generation.parent / "CURRENT").write_text("../../etc")


@pytest.mark.parametrize("how", ["truncated", "deleted", "garbled", "other model", "bad manifest", "bad pointer"])
def test_a_broken_index_is_detected_and_rebuilt_or_refused(built: dict[str, object], how: str) -> None:
    env, generation = built["env"], built["generation"]
    _damage(generation, how)
    refused = run_qa(["ask", "Who is Stephen Nagy?", "--no-rebuild"], env)
    one_error_line(refused, "qa index")
    answered = run_qa(["ask", "Who is Stephen Nagy?", "--json"], env)
    assert answered.returncode == 0, answered.stderr
    out = json.loads(answered.stdout)
    assert any("rebuilding the index" in n for n in out["notices"]) or how == "bad pointer"
    assert out["answer"] is not None and "professor" in out["answer"]["text"]
    fresh = current_generation(built["root"])
    assert fresh != generation
    verify_files(fresh, read_manifest(fresh))


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_an_index_holding_pickled_objects_never_runs_them(built: dict[str, object], tmp_path: Path) -> None:
    env, generation = built["env"], built["generation"]
    marker = tmp_path / "code-ran"
    evil = np.empty(3, dtype=object)
    evil[:] = [_Payload(str(marker))] * 3
    path = generation / "passages.npy"
    np.save(path, evil, allow_pickle=True)
    assert pickle.dumps(evil)  # really a pickle payload
    # make the checksum agree, as someone handing over a crafted index folder would
    import hashlib

    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["files"]["passages.npy"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (generation / "manifest.json").write_text(json.dumps(manifest))
    (generation / "verified.json").unlink(missing_ok=True)
    refused = run_qa(["ask", "Who is Stephen Nagy?", "--no-rebuild"], env)
    one_error_line(refused, "cannot be loaded")
    assert not marker.exists()
    rebuilt = run_qa(["ask", "Who is Stephen Nagy?"], env)
    assert rebuilt.returncode == 0 and not marker.exists()


# --------------------------------------------------------------------------- crash safety


NEW_ARTICLE = """Osaka Expo Draws Record Crowds

Osaka, Oct. 14, 2025 (Test Wire)–The Osaka expo closed on Monday after drawing 25 million visitors,
organisers said, more than they had expected.
"""


@pytest.mark.parametrize("point", ["embedding", "writing", "renamed", "switched"])
def test_killing_qa_index_at_any_point_leaves_a_usable_index(
    built: dict[str, object], point: str, tmp_path: Path
) -> None:
    env, root, before = built["env"], built["root"], built["generation"]
    corpus = Path(env["QA_CORPUS"])
    (corpus / "osaka.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    paused = tmp_path / "paused"
    proc = subprocess.Popen(
        paused_qa(point, paused) + ["index", "--json"],
        env={**env, "QA_INDEX_ENCODER": "onnx"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when_paused(proc, paused, "the indexer never reached the point")
    # whatever the moment, CURRENT names a complete generation that passes every checksum
    current = current_generation(root)
    assert current == (before if point != "switched" else current) and current.exists()
    verify_files(current, read_manifest(current))
    sources = [a.article.source for a in read_manifest(current).articles]
    assert ("osaka.txt" in sources) == (point == "switched")
    reader = QAService(built["settings"].model_copy(update={"rebuild": False}))
    if point == "switched":
        assert reader.ask("How many visitors did the Osaka expo draw?").answer.source == "osaka.txt"
    # the next run finishes the job and clears what the killed one left behind
    again = run_qa(["index"], env)
    assert again.returncode == 0, again.stderr
    final = current_generation(root)
    assert "osaka.txt" in [a.article.source for a in read_manifest(final).articles]
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == [] and len([p for p in root.iterdir() if p.name.startswith("g-")]) <= 2
    answer = QAService(built["settings"]).ask("How many visitors did the Osaka expo draw?")
    assert answer.answer is not None and "25 million" in answer.answer.text


# --------------------------------------------------------------------------- concurrency


def test_two_writers_at_once_take_turns_and_readers_never_see_half_an_index(built: dict[str, object]) -> None:
    env = {**built["env"], "QA_INDEX_ENCODER": "onnx"}
    writers = [
        subprocess.Popen(
            QA + ["index", "--rebuild"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    readers_ok = 0
    while any(w.poll() is None for w in writers):
        r = run_qa(["ask", "Who is Stephen Nagy?", "--json", "--no-rebuild"], env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["citations"]
        readers_ok += 1
    outputs = [w.communicate() for w in writers]
    assert [w.returncode for w in writers] == [0, 0], outputs
    assert any("waiting for it to finish" in err for _, err in outputs)
    assert readers_ok >= 1
    current = current_generation(built["root"])
    verify_files(current, read_manifest(current))


def test_a_writer_that_cannot_wait_gets_a_clear_message(built: dict[str, object], tmp_path: Path) -> None:
    env = {**built["env"], "QA_INDEX_ENCODER": "onnx"}
    paused = tmp_path / "paused"
    holder = subprocess.Popen(
        paused_qa("writing", paused) + ["index", "--rebuild"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not paused.exists():
            assert holder.poll() is None
            time.sleep(0.05)
        impatient = run_qa(["index", "--rebuild"], {**env, "QA_LOCK_WAIT": "0.5"})
        one_error_line(impatient, "another qa process is writing the index")
        # a reader is not blocked by the writer's lock
        assert run_qa(["ask", "Who is Ian Chong?", "--no-rebuild"], env).returncode == 0
    finally:
        holder.kill()
        holder.wait()


# --------------------------------------------------------------------------- read-only and full disks


def test_a_read_only_index_folder_still_answers_but_cannot_refresh(built: dict[str, object]) -> None:
    env, root = built["env"], built["root"]
    # first load records the checksum stamp; then make every folder and file read-only
    assert run_qa(["ask", "Who is Ian Chong?"], env).returncode == 0
    folders = [root, *[p for p in root.rglob("*") if p.is_dir()]]
    for folder in folders:
        folder.chmod(0o555)
    try:
        answered = qa_limited(["ask", "Who is Ian Chong?"], env, preexec=without_root_powers)
        assert answered.returncode == 0, answered.stderr
        assert "political scientist" in answered.stdout
        # a change in the corpus cannot be indexed there: answered from the old index, with a note
        corpus = Path(env["QA_CORPUS"])
        (corpus / "osaka.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        stale = qa_limited(["ask", "Who is Ian Chong?", "--json"], env, preexec=without_root_powers)
        assert stale.returncode == 0, stale.stderr
        assert any("cannot be refreshed" in n for n in json.loads(stale.stdout)["notices"])
        refused = qa_limited(["index"], env, preexec=without_root_powers)
        one_error_line(refused, "cannot write to the index folder", "--index DIR")
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert run_qa(["index"], env).returncode == 0


def _small_files_only() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))


def test_a_failed_write_leaves_the_previous_index_intact(built: dict[str, object]) -> None:
    env, root, before = built["env"], built["root"], built["generation"]
    failed = qa_limited(["index", "--rebuild"], {**env, "QA_INDEX_ENCODER": "onnx"}, preexec=_small_files_only)
    one_error_line(failed, "could not write the index", "the previous index is unchanged")
    assert current_generation(root) == before
    verify_files(before, read_manifest(before))
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]
    assert run_qa(["ask", "Who is Ian Chong?", "--no-rebuild"], env).returncode == 0


def test_a_full_disk_is_reported_and_nothing_is_lost(built: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from qa.store import generations as index_module

    root, before = built["root"], built["generation"]
    real_save = np.save

    def save(path, *args, **kwargs):
        if str(path).endswith("passage_vectors.npy"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(index_module.np, "save", save)
    with pytest.raises(IndexStoreError, match="No space left on device.*previous index is unchanged"):
        QAService(built["settings"]).index(rebuild=True)
    assert current_generation(root) == before and not [p for p in root.iterdir() if p.name.startswith(".tmp-")]
    verify_files(before, read_manifest(before))


# --------------------------------------------------------------------------- hostile text

HOSTILE = (
    "Hostile [bold red]Markup[/] Headline\n\n"
    "Tokyo, Feb. 2 (Test Wire)–The minister [link=https://evil.example]Taro Kono[/link] said the summit "
    "would open on April 9, 2026. \x1b[2J\x1b[31mRed alert\x1b[0m text, a bell \x07, a CSI \x9b2J, a "
    "right-to-left override \u202e and [/] stray tags follow.\n"
)


def test_hostile_article_text_is_printed_literally(tmp_path: Path, qa_env: dict[str, str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    env = {**qa_env, "QA_CORPUS": str(corpus), "QA_INDEX": str(tmp_path / "index")}
    text = run_qa(["ask", "When would the summit open?"], env)
    assert text.returncode == 0, text.stderr
    assert no_control_characters(text.stdout) and "\u202e" not in text.stdout
    assert "April 9, 2026" in text.stdout and "[link=https://evil.example]" in text.stdout
    assert "[bold red]Markup[/]" in text.stdout
    raw = run_qa(["ask", "When would the summit open?", "--json"], env)
    assert no_control_characters(raw.stdout) and "\u202e" not in raw.stdout
    out = json.loads(raw.stdout)
    cited = out["citations"][0]["text"]
    assert "\x1b[2J" in cited and "\x9b2J" in cited  # the JSON still carries the exact text, escaped
    listing = run_qa(["sources"], env)
    assert no_control_characters(listing.stdout) and "[bold red]Markup[/]" in listing.stdout


# --------------------------------------------------------------------------- fuzzing

_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))
_pieces = st.one_of(
    st.text(alphabet=_chars, max_size=60),
    st.sampled_from(
        [
            "\n",
            "\n\n",
            "Jan. 3",
            "U.S.",
            ". ",
            "[bold]",
            "[/]",
            "\x1b[31m",
            "LEAVE A REPLY\n",
            "Most Popular\n",
            "Copyright 2026 Example Ltd.\n",
            "END",
            "©",
            "“",
            "3 Gennaio 2026\n",
            "\ufeff",
            "\r\n",
        ]
    ),
    st.text(alphabet="ab .,;", min_size=500, max_size=4000),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=3000))
def test_fuzz_ingest_never_raises_on_any_bytes(raw: bytes) -> None:
    text, warnings = ingest.decode(raw)
    kept = ingest.clean(text)
    for start, end in kept:
        assert 0 <= start < end <= len(text)
    meta = ingest.metadata(text, kept)
    assert meta.title is None or isinstance(meta.title, str)
    assert meta.date is None or meta.date_from is not None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    article=st.lists(_pieces, min_size=1, max_size=25).map("".join),
    question=st.text(alphabet=_chars, min_size=1, max_size=80),
)
def test_fuzz_indexing_and_answering_keep_offsets_exact(
    article: str, question: str, qa_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes(article.encode("utf-8"))
    service = QAService(
        load_settings({"corpus": corpus, "index": folder / "index", "index_encoder": "onnx"}, env=qa_env)
    )
    try:
        service.ensure_index()
    except Exception as exc:  # only "no article" is an acceptable refusal
        assert "could be read" in str(exc) or "holds no article" in str(exc), exc
        return
    text = article.encode("utf-8").decode("utf-8")
    data = service.ensure_index()
    for p in range(len(data.passages)):
        passage = data.passage(p)
        assert text[passage.start : passage.end] == passage.text
    try:
        result = service.ask(question)
    except Exception as exc:  # an empty question is the only refusal
        assert "empty" in str(exc)
        return
    if result.answer is not None:
        a = result.answer
        assert text[a.start : a.end] == a.text and text[a.sentence.start : a.sentence.end] == a.sentence.text
    for c in result.citations:
        assert text[c.start : c.end] == c.text
