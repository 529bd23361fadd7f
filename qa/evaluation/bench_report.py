"""The text form of ``qa bench``'s results."""

from __future__ import annotations

from typing import Any


def render(r: dict[str, Any]) -> str:
    """The results as a few readable lines."""
    out = [f"qa bench — {r['when']}, {r['cpus']} CPUs, corpus {r['corpus']} ({r['passages']} passages)"]
    if "cold" in r:
        c = r["cold"]
        out += [
            "",
            "cold one-shot (fresh process, median of {} runs)".format(c["qa_ask"]["runs"]),
            f"  qa ask                           {c['qa_ask']['wall_s']:7.3f} s  {c['qa_ask']['peak_mb']:7.1f} MB peak",
            f"  plain sentence-transformers      {c['plain_script']['wall_s']:7.3f} s  "
            f"{c['plain_script']['peak_mb']:7.1f} MB peak",
            f"  ratio (qa / plain)               {c['ratio']:7.3f}",
            f"  qa --help                        {c['help_wall_s']:7.3f} s",
            f"  qa ask '' (argument error)       {c['argument_error_wall_s']:7.3f} s",
        ]
    if "warm" in r:
        w = r["warm"]
        out += [
            "",
            f"warm (one process, {w['questions']} questions)",
            f"  p50 {w['p50_ms']:.2f} ms   p95 {w['p95_ms']:.2f} ms   max {w['max_ms']:.2f} ms",
        ]
    if "indexing" in r:
        i = r["indexing"]
        out += [
            "",
            f"indexing ({i['passages']} passages, median of runs)",
            f"  plain sentence-transformers      {i['plain_passages_per_s']:7.1f} passages/s",
            f"  qa ({i['qa_encoder']:<10})            {i['qa_passages_per_s']:7.1f} passages/s   "
            f"x{i['speedup']}   min cosine to plain {i['min_cosine_to_plain']}",
        ]
        for name, q in i["quality"].items():
            out.append(
                f"  seed index built with {name:<10} R@1 {q['article_recall@1']:.3f}  MRR {q['mrr@10']:.3f}  "
                f"sentence {q['sentence_contains_gold']:.3f}  abstention {q['abstention_accuracy']:.3f}  "
                f"({q['build_s']} s)"
            )
        f = i["refresh_one_article"]
        out.append(
            f"  refresh after one article changed: {f['articles_embedded']} embedded again, "
            f"{f['unchanged']} articles reused, {f['seconds']} s"
        )
        g = i["folder"]
        kinds = ", ".join(f"{v:,} {k}" for k, v in g["formats"].items())
        out += [
            f"  generated folder: {g['articles']:,} articles ({kinds}), {g['passages']:,} passages, "
            f"{g['sentences']:,} sentences",
            f"    qa index: {g['total_s']} s in all, {g['articles_per_s']} articles/s, {g['texts_per_s']} texts/s "
            f"({g['encoder']})",
            f"    killed after {g['first_run_s']} s, the next run took up {g['resumed_articles']:,} articles "
            f"and finished in {g['second_run_s']} s"
            if g["interrupted"]
            else f"    (finished before it could be interrupted: {g['first_run_s']} s)",
            f"    refresh with nothing changed: {g['refresh_unchanged_s']} s",
        ]
    if "scale" in r:
        d, lx = r["scale"]["dense"], r["scale"]["lexical"]
        out += [
            "",
            f"scale: {d['passages']:,} synthetic passages",
            f"  dense {d['index_type']}: build {d['build_s']} s, index {d['index_mb']} MB, load {d['load_s']} s (mmap)",
            f"  single query p50 {d['p50_ms']:.2f} ms  p95 {d['p95_ms']:.2f} ms  "
            f"recall@10 vs exact {d['recall_at_10']:.4f}",
            f"  lexical BM25 (sparse, {lx['documents']:,} docs): build {lx['build_s']} s, "
            f"matrix {lx['sparse_matrix_mb']} MB, "
            f"load {lx['load_s']} s, query p50 {lx['p50_ms']:.2f} ms  p95 {lx['p95_ms']:.2f} ms",
        ]
        if "milvus" in r["scale"]:
            m = r["scale"]["milvus"]
            disk = f", disk {m['disk_mb']} MB" if m.get("disk_mb") is not None else ""
            out += [
                f"  {m['store']} (HNSW + BM25 function): build {m['build_s']} s, memory +{m['peak_rss_growth_mb']} MB"
                f"{disk}",
                f"  single query p50 {m['p50_ms']:.2f} ms  p95 {m['p95_ms']:.2f} ms  "
                f"recall@10 vs exact {m['recall_at_10']:.4f}",
            ]
    return "\n".join(out)
