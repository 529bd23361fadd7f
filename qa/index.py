"""The persisted index: passages, sentences, their vectors, a FAISS index and a BM25 index.

Layout of one corpus's index folder (``<index>/<corpus name>-<hash of its path>/``)::

    CURRENT          name of the generation in use (replaced atomically, last)
    .lock            taken by whoever writes
    g-<time>-<pid>/  one complete generation, never modified once CURRENT names it
        manifest.json        IndexManifest: settings, corpus, articles, checksums of the files below
        texts.bin            the articles' decoded texts, UTF-8, one after the other
        text_offsets.npy     byte offsets of each article in texts.bin (n_articles + 1)
        sentences.npy        int64 (n_sentences, 3): article, start, end
        passages.npy         int64 (n_passages, 5): article, start, end, first sentence, last sentence + 1
        passage_vectors.npy  float32 (n_passages, dim), L2-normalised
        sentence_vectors.npy float16 (n_sentences, dim), L2-normalised
        passages.faiss       FAISS inner-product index over passage_vectors
        bm25/                bm25s sparse index over passage terms (JSON + .npy)

A writer builds a whole generation in a temporary folder, renames it into place and only then
points CURRENT at it, so a crash at any moment leaves the previous generation in use. Nothing is
loaded with pickle: arrays are read with ``allow_pickle=False`` and metadata is JSON.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import IndexLockedError, IndexReadOnlyError, IndexStoreError
from qa.lexical import LexicalIndex
from qa.models import Article, IndexedArticle, IndexManifest, IndexSettings, Passage, SkippedFile

FORMAT = 6
"""Bump when the layout or the ingest/chunking rules change: older indexes are rebuilt."""

DATA_FILES = (
    "texts.bin",
    "text_offsets.npy",
    "sentences.npy",
    "passages.npy",
    "passage_vectors.npy",
    "sentence_vectors.npy",
    "passages.faiss",
)


def corpus_key(corpus: Path) -> str:
    """Name of a corpus's index subfolder: the corpus folder name and a hash of its full path."""
    resolved = corpus.expanduser().resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in resolved.name) or "corpus"
    return f"{name}-{digest}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checkpoint(name: str) -> None:
    """A point where a crash is tested: with ``QA_TEST_PAUSE=<name>`` set, the process says it got
    here (in the file ``QA_TEST_PAUSE_FILE``) and waits to be killed. Does nothing otherwise."""
    if os.environ.get("QA_TEST_PAUSE") == name:
        Path(os.environ["QA_TEST_PAUSE_FILE"]).write_text(name)
        time.sleep(3600)


def _write_failure(root: Path, exc: OSError) -> IndexStoreError:
    """One line for an error while writing an index (disk full, read-only, too large ...)."""
    if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return IndexReadOnlyError(
            f"cannot write to the index folder {root} ({exc.strerror}); pass --index DIR with a writable folder"
        )
    reason = exc.strerror or (
        f"a write was cut short: {exc}; the disk may be full or a file-size limit reached" if str(exc) else "write failed"
    )
    return IndexStoreError(
        f"could not write the index in {root} ({reason}); the previous index is unchanged — "
        "free some space or fix the folder, then run `qa index` again"
    )


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------- terms for BM25

_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so some
    such than that the their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours yourself
    yourselves s t ll re ve d m don didn doesn isn wasn weren won wouldn shouldn couldn hasn haven hadn
    according
    der das und ist im den dem des ein eine einer eines zu mit von auf für sich nicht es an als auch
    wie bei nach aus um am zum zur sie er wir ihr ihre sein seine""".split()
)


# Irregular English verb forms, mapped to the base form before stemming so that "became" meets
# "become" and "took" meets "take" (Snowball stems only regular inflections).
_IRREGULAR = {
    form: base
    for base, forms in {
        "arise": "arose arisen", "be": "", "bear": "bore borne", "beat": "beaten", "become": "became",
        "begin": "began begun", "bend": "bent", "bind": "bound", "bite": "bit bitten", "bleed": "bled",
        "blow": "blew blown", "break": "broke broken", "bring": "brought", "build": "built", "buy": "bought",
        "catch": "caught", "choose": "chose chosen", "come": "came", "cost": "", "deal": "dealt",
        "dig": "dug", "do": "", "draw": "drew drawn", "drink": "drank drunk", "drive": "drove driven",
        "eat": "ate eaten", "fall": "fell fallen", "feed": "fed", "feel": "felt", "fight": "fought",
        "find": "found", "flee": "fled", "fly": "flew flown", "forbid": "forbade forbidden",
        "forget": "forgot forgotten", "forgive": "forgave forgiven", "freeze": "froze frozen",
        "get": "got gotten", "give": "gave given", "go": "went gone", "grow": "grew grown",
        "hang": "hung", "hear": "heard", "hide": "hid hidden", "hold": "held", "keep": "kept",
        "know": "knew known", "lay": "laid", "lead": "led", "leave": "left", "lend": "lent",
        "lie": "lain", "lose": "lost", "make": "made", "mean": "meant", "meet": "met", "pay": "paid",
        "rise": "rose risen", "ride": "rode ridden", "say": "said", "tell": "told", "ring": "rang rung", "run": "ran", "see": "saw seen",
        "seek": "sought", "sell": "sold", "send": "sent", "shake": "shook shaken", "shoot": "shot",
        "show": "shown", "shrink": "shrank shrunk", "sing": "sang sung", "sink": "sank sunk",
        "sit": "sat", "sleep": "slept", "speak": "spoke spoken", "spend": "spent", "stand": "stood",
        "steal": "stole stolen", "stick": "stuck", "strike": "struck stricken", "swear": "swore sworn",
        "swim": "swam swum", "take": "took taken", "teach": "taught", "tear": "tore torn",
        "think": "thought", "throw": "threw thrown", "understand": "understood", "wake": "woke woken",
        "wear": "wore worn", "win": "won", "withdraw": "withdrew withdrawn", "write": "wrote written",
        "undertake": "undertook undertaken", "overtake": "overtook overtaken", "forecast": "",
        "foresee": "foresaw foreseen", "uphold": "upheld", "withhold": "withheld", "overcome": "overcame",
    }.items()
    for form in forms.split()
}


# British spellings to American ones, so that "defence" meets "Defense" (whole words; -ise/-ize
# and -our/-or endings are handled by rule in TermAnalyzer).
_SPELLING = {
    "defence": "defense", "offence": "offense", "licence": "license", "pretence": "pretense",
    "centre": "center", "centres": "centers", "metre": "meter", "metres": "meters", "theatre": "theater",
    "programme": "program", "programmes": "programs", "catalogue": "catalog", "travelled": "traveled",
    "travelling": "traveling", "cancelled": "canceled", "labelled": "labeled", "modelling": "modeling",
    "fuelled": "fueled", "signalled": "signaled", "signalling": "signaling", "counselling": "counseling",
    "grey": "gray", "tyre": "tire", "cheque": "check", "plough": "plow", "aluminium": "aluminum",
    "analyse": "analyze", "analysed": "analyzed", "analysing": "analyzing", "paralyse": "paralyze",
}
_OUR_WORDS = ("labour", "favour", "honour", "neighbour", "colour", "behaviour", "harbour", "rumour", "vigour",
              "humour", "endeavour", "savour", "armour", "flavour", "valour", "odour")


def _american(word: str) -> str:
    if word in _SPELLING:
        return _SPELLING[word]
    for stem in _OUR_WORDS:
        if word.startswith(stem):
            return stem[:-2] + "r" + word[len(stem):]
    for ending, replacement in (("isation", "ization"), ("ising", "izing"), ("ised", "ized"), ("ises", "izes")):
        if word.endswith(ending) and len(word) > len(ending) + 3:
            return word[: -len(ending)] + replacement
    if word.endswith("ise") and len(word) > 6:
        return word[:-3] + "ize"
    return word


class TermAnalyzer:
    """Text -> BM25 terms: acronyms joined (U.S. -> us), lower case, stopwords out, irregular verbs
    to their base form, British spellings to American, Snowball-stemmed. Each distinct word is
    analysed once and remembered."""

    def __init__(self) -> None:
        import functools
        import re

        import Stemmer

        self._acronym = re.compile(r"\b(?:[A-Za-z]\.){2,}")
        self._token = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
        stemmer = Stemmer.Stemmer("english")

        @functools.lru_cache(maxsize=200_000)
        def term(word: str) -> str | None:
            word = word.lower()
            if word in _STOPWORDS or (len(word) < 2 and not word.isdigit()):
                return None
            return stemmer.stemWord(_IRREGULAR.get(word, _american(word)))

        self._term = term

    def term(self, word: str) -> str | None:
        """The term of a single word, or None for a stopword."""
        return self._term(word)

    def __call__(self, text: str) -> list[str]:
        """The terms of ``text``, in order."""
        text = self._acronym.sub(lambda m: m.group(0).replace(".", ""), text)
        terms = [self._term(w) for w in self._token.findall(text)]
        return [t for t in terms if t is not None]


# --------------------------------------------------------------------------- the loaded index


@dataclass
class IndexData:
    """Everything a generation holds, in memory (or memory-mapped)."""

    manifest: IndexManifest
    sentences: np.ndarray
    passages: np.ndarray
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    texts_blob: bytes | np.ndarray
    text_offsets: np.ndarray
    faiss_index: object
    bm25: LexicalIndex | None
    path: Path | None = None
    _texts: dict[int, str] = field(default_factory=dict)

    @property
    def articles(self) -> list[Article]:
        """The indexed articles, in index order."""
        return [a.article for a in self.manifest.articles]

    def text(self, article: int) -> str:
        """The decoded text of article number ``article``."""
        cached = self._texts.get(article)
        if cached is None:
            a, b = int(self.text_offsets[article]), int(self.text_offsets[article + 1])
            cached = bytes(self.texts_blob[a:b]).decode("utf-8")
            self._texts[article] = cached
        return cached

    def passage(self, i: int) -> Passage:
        """Passage number ``i`` as a model."""
        art, start, end = (int(x) for x in self.passages[i, :3])
        article = self.manifest.articles[art].article
        first = int(np.searchsorted(self.passages[:, 0], art, side="left"))
        return Passage(
            id=f"{article.source}#{i - first}",
            source=article.source,
            start=start,
            end=end,
            text=self.text(art)[start:end],
        )

    def sentence_text(self, n: int) -> str:
        """The text of sentence number ``n``."""
        article, start, end = (int(x) for x in self.sentences[n])
        return self.text(article)[start:end]

    def sentence_spans(self, i: int) -> list[tuple[int, int, int]]:
        """(sentence number, start, end) of the sentences of passage ``i``."""
        first, last = int(self.passages[i, 3]), int(self.passages[i, 4])
        return [(s, int(self.sentences[s, 1]), int(self.sentences[s, 2])) for s in range(first, last)]


# --------------------------------------------------------------------------- building


@dataclass
class ArticleParts:
    """One article's share of a generation."""

    article: Article
    text: str
    sentences: np.ndarray  # (n, 2) start, end
    passages: np.ndarray  # (m, 4) start, end, first sentence, last sentence + 1 (article-local)
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray


FLAT_MAX = 20_000
"""Up to this many passages, exact search (about 3 ms a question on 2 cores); above, IVF."""
NPROBE = 16
"""Inverted lists an IVF search visits (recall@10 0.99+ against exact search at 1M, see qa bench)."""


def ivf_lists(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: about 2 * sqrt(n), and at least 39 training vectors
    a list, as FAISS's k-means wants."""
    return max(1, min(int(2 * n**0.5), n // 39))


def build_faiss(vectors: np.ndarray) -> tuple[object, str]:
    """A FAISS inner-product index over ``vectors``, chosen by size: exact (Flat) while exact
    search is fast, then IVF with 8-bit scalar quantisation (a quarter of the memory). IVF only
    proposes candidates: the retriever rescores them exactly against the float32 vectors."""
    import faiss

    n, dim = vectors.shape
    if n <= FLAT_MAX:
        index = faiss.IndexFlatIP(dim)
        if n:
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index, "Flat"
    lists = ivf_lists(n)
    kind = f"IVF{lists},SQ8"
    index = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)  # a fixed sample: the same vectors give the same index
    sample = np.sort(rng.choice(n, size=min(n, max(40 * lists, 50_000)), replace=False))
    index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    for start in range(0, n, 100_000):
        index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
    index.nprobe = NPROBE
    return index, kind


def read_faiss(path: Path, kind: str) -> object:
    """Load a FAISS index written by ``build_faiss`` (IVF lists memory-mapped)."""
    import faiss

    if kind == "Flat":
        return faiss.read_index(str(path))
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    index.nprobe = NPROBE
    return index


def build_bm25(documents: list[list[str]]) -> object:
    """A sparse BM25 index over tokenised documents."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(documents, show_progress=False)
    return bm25


def bm25_document(title: str, passage: str, analyze: TermAnalyzer) -> list[str]:
    """The terms a passage is indexed under: its title's and its own."""
    return analyze(title) + analyze(passage)


def write_generation(
    root: Path,
    settings: IndexSettings,
    corpus: Path,
    parts: list[ArticleParts],
    encoder: str,
    analyze: TermAnalyzer,
    skipped: list[SkippedFile] | None = None,
) -> Path:
    """Write a complete generation from ``parts`` (and the files that held no article) and make
    it current; returns its folder."""
    dim = settings.dim
    name = f"g-{_dt.datetime.now(_dt.UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    tmp = root / f".tmp-{name}"
    try:
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise _write_failure(root, exc) from None
    try:
        blobs = [p.text.encode("utf-8") for p in parts]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(b) for b in blobs])
        sentences, passages, indexed = [], [], []
        sentence_base = 0
        for i, p in enumerate(parts):
            n_sent, n_pass = len(p.sentences), len(p.passages)
            if n_sent:
                sentences.append(np.column_stack([np.full(n_sent, i), p.sentences]))
            if n_pass:
                pas = p.passages.copy()
                pas[:, 2:] += sentence_base
                passages.append(np.column_stack([np.full(n_pass, i), pas]))
            sentence_base += n_sent
            indexed.append(IndexedArticle(article=p.article, passages=n_pass, sentences=n_sent))
        sent_arr = np.concatenate(sentences).astype(np.int64) if sentences else np.zeros((0, 3), np.int64)
        pass_arr = np.concatenate(passages).astype(np.int64) if passages else np.zeros((0, 5), np.int64)
        pvec = np.concatenate([p.passage_vectors for p in parts]) if parts else np.zeros((0, dim))
        svec = np.concatenate([p.sentence_vectors for p in parts]) if parts else np.zeros((0, dim))
        pvec = np.ascontiguousarray(pvec, dtype=np.float32).reshape(-1, dim)
        svec = np.ascontiguousarray(svec, dtype=np.float16).reshape(-1, dim)

        (tmp / "texts.bin").write_bytes(b"".join(blobs))
        np.save(tmp / "text_offsets.npy", offsets, allow_pickle=False)
        np.save(tmp / "sentences.npy", sent_arr, allow_pickle=False)
        np.save(tmp / "passages.npy", pass_arr, allow_pickle=False)
        np.save(tmp / "passage_vectors.npy", pvec, allow_pickle=False)
        np.save(tmp / "sentence_vectors.npy", svec, allow_pickle=False)

        import faiss

        index, index_type = build_faiss(pvec)
        faiss.write_index(index, str(tmp / "passages.faiss"))

        docs = []
        for p in parts:
            for start, end, _, _ in p.passages:
                docs.append(bm25_document(p.article.title, p.text[int(start) : int(end)], analyze))
        # bm25s divides by the mean document length: no terms at all would give NaN scores
        bm25 = build_bm25(docs) if any(docs) else None
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"), show_progress=False)
        checkpoint("writing")

        files = {}
        for path in sorted(tmp.rglob("*")):
            if path.is_file():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
                files[path.relative_to(tmp).as_posix()] = _sha256(path)
        manifest = IndexManifest(
            settings=settings,
            corpus=str(corpus.expanduser().resolve()),
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            articles=indexed,
            passages=len(pass_arr),
            sentences=len(sent_arr),
            files=files,
            index_type=index_type,
            encoder=encoder,
            skipped=skipped or [],
        )
        write_atomic(tmp / "manifest.json", manifest.model_dump_json(indent=1).encode())
        _fsync_dir(tmp)
        final = root / name
        os.rename(tmp, final)
        _fsync_dir(root)
        checkpoint("renamed")
        try:
            previous = current_generation(root)
        except IndexStoreError:  # a damaged pointer is what this write repairs
            previous = None
        write_atomic(root / "CURRENT", name.encode())
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_failure(root, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    checkpoint("switched")
    _remove_old_generations(root, keep={name, previous.name if previous else name})
    return final


def _remove_old_generations(root: Path, keep: set[str]) -> None:
    """Delete all generations but ``keep`` (the new one and the one before it, which a reader that
    has just read CURRENT may still be opening), and the leftovers of writers that crashed (the
    caller holds the write lock, so no other writer is at work)."""
    for child in root.iterdir():
        if child.name not in keep and (child.name.startswith("g-") or child.name.startswith(".tmp-")):
            shutil.rmtree(child, ignore_errors=True)


# --------------------------------------------------------------------------- resuming

PENDING = ".pending"
"""Folder of the batches an unfinished indexing run has embedded; the next run takes them up."""


def save_pending(root: Path, settings: IndexSettings, parts: list[ArticleParts], encoder: str) -> None:
    """Keep one embedded batch of articles, so that an interrupted run does not embed them again.
    Written to a temporary name and renamed: a batch file is whole or absent."""
    folder = root / PENDING
    folder.mkdir(parents=True, exist_ok=True)
    blobs = [p.text.encode("utf-8") for p in parts]
    meta = {"settings": settings.model_dump(mode="json"), "encoder": encoder,
            "articles": [p.article.model_dump(mode="json") for p in parts]}
    dim = settings.dim
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "texts": np.frombuffer(b"".join(blobs), dtype=np.uint8),
        "text_offsets": np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64),
        "counts": np.array([[len(p.sentences), len(p.passages)] for p in parts], dtype=np.int64).reshape(-1, 2),
        "sentences": np.concatenate([p.sentences.reshape(-1, 2) for p in parts]).astype(np.int64),
        "passages": np.concatenate([p.passages.reshape(-1, 4) for p in parts]).astype(np.int64),
        "passage_vectors": np.concatenate([p.passage_vectors.reshape(-1, dim) for p in parts]).astype(np.float32),
        "sentence_vectors": np.concatenate([p.sentence_vectors.reshape(-1, dim) for p in parts]).astype(np.float16),
    }
    name = f"batch-{time.time_ns()}-{os.getpid()}.npz"
    tmp = folder / f".{name}.tmp"
    try:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_failure(root, exc) from None


def load_pending(root: Path, settings: IndexSettings) -> tuple[dict[tuple[str, str], ArticleParts], str | None]:
    """The articles embedded by an unfinished run with the same settings, by (source, content
    hash), and the encoder that embedded them. A batch that cannot be read whole is dropped."""
    found: dict[tuple[str, str], ArticleParts] = {}
    encoder = None
    folder = root / PENDING
    if not folder.is_dir():
        return found, None
    wanted = settings.model_dump(mode="json")
    for path in sorted(folder.glob("batch-*.npz")):
        try:
            with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                if meta.get("settings") != wanted:
                    raise ValueError("other settings")
                texts, offsets, counts = bytes(z["texts"]), z["text_offsets"], z["counts"]
                sentences, passages = z["sentences"], z["passages"]
                pvec, svec = z["passage_vectors"], z["sentence_vectors"]
                articles = [Article.model_validate(a) for a in meta["articles"]]
                n_sent, n_pass = int(counts[:, 0].sum()), int(counts[:, 1].sum())
                if len(articles) != len(counts) or len(offsets) != len(articles) + 1 \
                        or not n_sent == len(sentences) == len(svec) or not n_pass == len(passages) == len(pvec):
                    raise ValueError("inconsistent batch")
                s_at = p_at = 0
                for i, article in enumerate(articles):
                    n_s, n_p = (int(x) for x in counts[i])
                    text = texts[int(offsets[i]) : int(offsets[i + 1])].decode("utf-8")
                    found[(article.source, article.sha256)] = ArticleParts(
                        article=article, text=text, sentences=np.array(sentences[s_at : s_at + n_s]),
                        passages=np.array(passages[p_at : p_at + n_p]),
                        passage_vectors=np.array(pvec[p_at : p_at + n_p]),
                        sentence_vectors=np.array(svec[s_at : s_at + n_s]),
                    )
                    s_at += n_s
                    p_at += n_p
                encoder = meta.get("encoder") or encoder
        except Exception:  # a damaged or foreign batch is embedded again, never trusted
            path.unlink(missing_ok=True)
    return found, encoder


def clear_pending(root: Path) -> None:
    """Drop the kept batches once a generation holding them is current."""
    shutil.rmtree(root / PENDING, ignore_errors=True)


# --------------------------------------------------------------------------- loading


def current_generation(root: Path) -> Path | None:
    """The generation folder CURRENT names, or None when there is no index."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexStoreError(f"cannot read {root / 'CURRENT'}: {exc.strerror or exc}") from None
    if not name.startswith("g-") or "/" in name:
        raise IndexStoreError(f"{root / 'CURRENT'} is damaged; run `qa index --rebuild`")
    return root / name


def read_manifest(generation: Path) -> IndexManifest:
    """The manifest of a generation, validated."""
    try:
        return IndexManifest.model_validate_json((generation / "manifest.json").read_bytes())
    except FileNotFoundError:
        raise IndexStoreError(f"{generation} has no manifest.json; run `qa index --rebuild`") from None
    except OSError as exc:
        raise IndexStoreError(f"cannot read {generation / 'manifest.json'}: {exc.strerror or exc}") from None
    except ValueError:
        raise IndexStoreError(f"{generation / 'manifest.json'} is damaged; run `qa index --rebuild`") from None


STAMP = "verified.json"
"""Size and modification time of each file when its checksum last matched."""


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def verify_files(generation: Path, manifest: IndexManifest) -> None:
    """Check every data file against the checksum the manifest recorded.

    Hashing gigabytes on every question would be slow, so a full check is made the first time
    and again whenever a file's size, modification time or inode changes; the stamp of the last
    good check is kept beside the files (when the folder is writable).
    """
    missing = [n for n in DATA_FILES if n not in manifest.files]
    if missing:
        raise IndexStoreError(f"the manifest in {generation} does not list {missing[0]}; run `qa index --rebuild`")
    try:
        stamp = json.loads((generation / STAMP).read_text())
    except (OSError, ValueError):
        stamp = {}
    checked = {}
    for name, digest in manifest.files.items():
        path = generation / name
        try:
            key = _stat_key(path)
            if stamp.get(name) == key:
                checked[name] = key
                continue
            actual = _sha256(path)
        except OSError:
            raise IndexStoreError(f"index file {path} is missing or unreadable; run `qa index --rebuild`") from None
        if actual != digest:
            raise IndexStoreError(f"index file {path} is damaged (checksum mismatch); run `qa index --rebuild`")
        checked[name] = key
    if checked != stamp:
        with contextlib.suppress(OSError):
            write_atomic(generation / STAMP, json.dumps(checked).encode())


def load_generation(generation: Path, manifest: IndexManifest | None = None, verify: bool = True) -> IndexData:
    """Load a generation (arrays memory-mapped, never unpickled)."""
    manifest = manifest or read_manifest(generation)
    if verify:
        verify_files(generation, manifest)
    try:
        def arr(name: str) -> np.ndarray:
            return np.load(generation / name, mmap_mode="r", allow_pickle=False)

        bm25 = LexicalIndex(generation / "bm25") if (generation / "bm25").is_dir() else None
        texts_size = (generation / "texts.bin").stat().st_size
        texts = (
            np.memmap(generation / "texts.bin", dtype=np.uint8, mode="r") if texts_size else b""
        )
        data = IndexData(
            manifest=manifest,
            sentences=arr("sentences.npy"),
            passages=arr("passages.npy"),
            passage_vectors=arr("passage_vectors.npy"),
            sentence_vectors=arr("sentence_vectors.npy"),
            texts_blob=texts,
            text_offsets=np.load(generation / "text_offsets.npy", allow_pickle=False),
            faiss_index=read_faiss(generation / "passages.faiss", manifest.index_type),
            bm25=bm25,
            path=generation,
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise IndexStoreError(f"the index in {generation} cannot be loaded ({exc}); run `qa index --rebuild`") from None
    if len(data.passages) != manifest.passages or len(data.sentences) != manifest.sentences:
        raise IndexStoreError(f"the index in {generation} does not match its manifest; run `qa index --rebuild`")
    return data


# --------------------------------------------------------------------------- locking


def check_writable(root: Path) -> None:
    """Fail early, before any work, when the index folder cannot be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _write_failure(root, exc) from None


@contextlib.contextmanager
def write_lock(root: Path, wait: float = 600.0, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the index folder's write lock; wait up to ``wait`` seconds for another writer."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise _write_failure(root, exc) from None
        raise IndexStoreError(f"cannot open the index folder {root}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"another qa process is writing the index in {root}; try again when it has finished"
                    ) from None
                if not told and on_wait:
                    on_wait()
                    told = True
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
