"""The persisted index with the real model and real FAISS: build, reload, refresh, rebuild, damage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qa.config import load_settings
from qa.service import QAService
from qa.store.generations import current_generation, read_manifest
from qa.store.refresh import index_root

NEW_ARTICLE = """Seoul and Tokyo Agree on Shuttle Diplomacy

Seoul, March 2, 2026 (Example Wire)–South Korea and Japan agreed on Monday to resume shuttle diplomacy,
with leaders visiting each other's capitals twice a year. The agreement covers fisheries and tourism.
"""


def make_service(corpus: Path, index: Path, env: dict[str, str], **overrides: object) -> QAService:
    return QAService(load_settings({"corpus": corpus, "index": index, **overrides}, env=env))


class Recorder:
    """Records how many articles each indexing run embedded."""

    def __init__(self) -> None:
        self.embedded = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            self.embedded = total


def test_index_is_saved_with_manifest_vectors_and_checksums(seed_index: Path, qa_env: dict[str, str]) -> None:
    settings = load_settings({"index": seed_index}, env=qa_env)
    generation = current_generation(index_root(settings))
    assert generation is not None and generation.parent.parent == seed_index
    manifest = read_manifest(generation)
    assert manifest.settings.model.startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert manifest.settings.dim == 384 and manifest.settings.max_tokens == 256
    assert len(manifest.articles) == 5 and all(len(a.article.sha256) == 64 for a in manifest.articles)
    assert {"passages.faiss", "passage_vectors.npy", "sentence_vectors.npy", "manifest.json"} - set(manifest.files) == {
        "manifest.json"
    }
    vectors = np.load(generation / "passage_vectors.npy", allow_pickle=False)
    assert vectors.shape == (manifest.passages, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    import faiss

    index = faiss.read_index(str(generation / "passages.faiss"))
    assert index.ntotal == manifest.passages


def test_passage_offsets_round_trip_against_the_files(service: QAService) -> None:
    data = service.ensure_index()
    for p in range(len(data.passages)):
        passage = data.passage(p)
        file_text = (service.settings.corpus / passage.source).read_bytes().decode("utf-8")
        assert file_text[passage.start : passage.end] == passage.text


def test_refresh_embeds_only_added_changed_and_removed_articles(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    index = tmp_path / "index"
    first = make_service(corpus_copy, index, qa_env).index()
    assert first.rebuilt and first.articles == 5
    before = make_service(corpus_copy, index, qa_env).ensure_index()
    old_vectors = {
        a.article.source: np.array(before.passage_vectors[before.passages[:, 0] == i])
        for i, a in enumerate(before.manifest.articles)
    }

    # nothing changed: nothing written
    again = make_service(corpus_copy, index, qa_env).index()
    assert not again.wrote and again.unchanged == 5

    # added
    (corpus_copy / "sub").mkdir()
    (corpus_copy / "sub" / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    recorder = Recorder()
    added = make_service(corpus_copy, index, qa_env).index(progress=recorder)
    assert added.added == ["sub/new.md"] and added.unchanged == 5 and not added.rebuilt
    assert recorder.embedded == 1

    # changed: only that article is embedded again
    target = corpus_copy / "004_6e0a6a8466ff434c.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\nA closing sentence was added later.\n", encoding="utf-8")
    recorder = Recorder()
    changed = make_service(corpus_copy, index, qa_env).index(progress=recorder)
    assert changed.changed == ["004_6e0a6a8466ff434c.txt"] and changed.unchanged == 5
    assert recorder.embedded == 1

    # removed
    (corpus_copy / "001_f1cc1f818dc810ca.txt").unlink()
    removed = make_service(corpus_copy, index, qa_env).index()
    assert removed.removed == ["001_f1cc1f818dc810ca.txt"] and removed.articles == 5

    # unchanged articles kept their vectors bit for bit
    data = make_service(corpus_copy, index, qa_env).ensure_index()
    for i, a in enumerate(data.manifest.articles):
        if a.article.source in ("000_50d2cdad97c7c4d1.txt", "002_4e2dab5310ce0896.txt"):
            assert np.array_equal(
                np.array(data.passage_vectors[data.passages[:, 0] == i]), old_vectors[a.article.source]
            )
    # and the new article is searchable
    result = make_service(corpus_copy, index, qa_env).ask(
        "How often will the leaders of South Korea and Japan visit each other?"
    )
    assert result.citations[0].source == "sub/new.md"


def test_a_touched_but_unchanged_file_is_not_embedded_again(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    index = tmp_path / "index"
    make_service(corpus_copy, index, qa_env).index()
    path = corpus_copy / "000_50d2cdad97c7c4d1.txt"
    path.write_bytes(path.read_bytes())  # new mtime, same content
    recorder = Recorder()
    report = make_service(corpus_copy, index, qa_env).index(progress=recorder)
    assert recorder.embedded == 0 and report.unchanged == 5 and not report.changed


def test_other_passage_settings_rebuild_the_index(corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]) -> None:
    index = tmp_path / "index"
    base = make_service(corpus_copy, index, qa_env).index()
    other = make_service(corpus_copy, index, qa_env, passage_tokens=80).index()
    assert other.rebuilt and other.passages > base.passages


def test_each_corpus_gets_its_own_index_folder(corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]) -> None:
    index = tmp_path / "index"
    second = tmp_path / "second"
    second.mkdir()
    (second / "only.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    make_service(corpus_copy, index, qa_env).index()
    make_service(second, index, qa_env).index()
    assert len([p for p in index.iterdir() if p.is_dir()]) == 2
    assert [s.source for s in make_service(second, index, qa_env).sources()] == ["only.txt"]
    assert len(make_service(corpus_copy, index, qa_env).sources()) == 5


def test_a_damaged_index_file_is_detected_and_rebuilt(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    index = tmp_path / "index"
    svc = make_service(corpus_copy, index, qa_env)
    svc.index()
    generation = current_generation(index_root(svc.settings))
    vectors = generation / "passage_vectors.npy"
    blob = bytearray(vectors.read_bytes())
    blob[-10:] = b"\x00" * 10
    vectors.write_bytes(bytes(blob))
    report = make_service(corpus_copy, index, qa_env).index()
    assert report.rebuilt
    assert any("damaged" in w for w in report.warnings)
    assert make_service(corpus_copy, index, qa_env).ask("Who is Stephen Nagy?").citations


def test_manifest_is_json_and_nothing_is_pickled(seed_index: Path, qa_env: dict[str, str]) -> None:
    settings = load_settings({"index": seed_index}, env=qa_env)
    generation = current_generation(index_root(settings))
    json.loads((generation / "manifest.json").read_text())
    for path in generation.rglob("*.npy"):
        np.load(path, allow_pickle=False)  # raises on any pickled (object) array
    assert not [p for p in generation.rglob("*") if p.suffix in (".pkl", ".pickle")]
