"""The shipped reader: its weights, their assembly into an ONNX model, and running it.

The committed file holds every trained weight except the word embeddings (frozen during
training), in fp16. On first use they are joined with the packaged model's word embeddings,
exported to ONNX into the cache folder and checked against torch; afterwards questions run with
onnxruntime and tokenizers only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.neural.onnx import export_checked, model_dir, quiet_offline, session
from qa.neural.reader import features as F

WEIGHTS = Path(__file__).resolve().parent / "weights" / "reader.fp16.safetensors"


def save(state: dict, out: Path) -> Path:
    """Write a trained state dict (without the frozen word embeddings) as fp16 safetensors."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    path = out / WEIGHTS.name
    tmp = path.with_name(f".{path.name}.tmp")
    save_file({k: v.detach().half().contiguous() for k, v in state.items()}, str(tmp))
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- assembly

MAX_LENGTH = 384
"""Word pieces of one window at question time: a passage (about 160 word pieces, never more than
256 with its title) and the question always fit in one."""
STRIDE = 128
EXPORT_MAX_DIFF = 1e-3
"""Largest difference of a logit between the ONNX model and torch that the export accepts."""
_CHECK = [
    (
        "When were the Normans in Normandy?",
        "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
        "a region in France.",
    ),
    (
        "When does the accord expire?",
        "The bilateral accord on host-nation support is set to expire at the end of March.",
    ),
]


def _missing_weights() -> ModelError:
    return ModelError(
        f"the reader's weights {WEIGHTS} are missing; restore them with `git checkout -- {WEIGHTS.name}` "
        "in qa/neural/reader/weights/ or retrain with `make reader`"
    )


def weights_id(path: Path = WEIGHTS) -> str:
    """SHA-256 (first 16 hex digits) of the weights file."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise _missing_weights() from None
    except OSError as exc:
        raise ModelError(f"cannot read the reader's weights {path}: {exc.strerror or exc}") from None
    return digest[:16]


def onnx_dir(cache: Path) -> Path:
    """The cache folder of the assembled reader."""
    return cache / "models" / "reader"


def _torch_reader(weights: Path = WEIGHTS):  # transformers model
    """The reader as a torch model: the packaged encoder, its word embeddings, the shipped weights."""
    quiet_offline()
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    if not weights.is_file():
        raise _missing_weights()
    try:
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(
            f"the reader's weights {weights} are damaged ({exc}); restore them with git or retrain with `make reader`"
        ) from None
    config = AutoConfig.from_pretrained(str(model_dir()), local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(model_dir()), config=config, attn_implementation="eager", local_files_only=True
    )
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"bert.embeddings.word_embeddings.weight"}:
        raise ModelError(
            f"the reader's weights {weights} do not fit the model (missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(unexpected)[:3]}); retrain with `make reader`"
        )
    return model.eval()


def export_onnx(folder: Path, weights: Path = WEIGHTS) -> float:
    """Assemble the reader into ``folder/reader.onnx`` (atomically); returns the largest logit
    difference from torch on check inputs and refuses a model above EXPORT_MAX_DIFF."""
    import torch

    wid = weights_id(weights)
    model = _torch_reader(weights)

    class _Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    # the reference logits come first: the export leaves the model in training mode (dropout on)
    tok = F.load_reader_tokenizer(str(model_dir() / "tokenizer.json"), MAX_LENGTH, STRIDE)
    batch = F.batch_arrays([w for q, p in _CHECK for w in F.windows(tok, q, [p])])
    with torch.no_grad():
        want = model(**{k: torch.from_numpy(v) for k, v in batch.items()})
    real = batch["attention_mask"].astype(bool)  # padding positions carry no meaning

    def difference(staged: Path) -> float:
        got = session(staged, what="the reader model").run(None, batch)
        return max(
            float(np.abs(want.start_logits.numpy() - got[0])[real].max()),
            float(np.abs(want.end_logits.numpy() - got[1])[real].max()),
        )

    stat = weights.stat()
    return export_checked(
        _Logits(model),
        ("start", "end"),
        folder / "reader.onnx",
        difference,
        lambda d: d <= EXPORT_MAX_DIFF,
        "the assembled ONNX reader disagrees with torch (logit difference {score:.5f})",
        folder / "reader.json",
        {"weights": wid, "weights_size": stat.st_size, "weights_mtime_ns": stat.st_mtime_ns},
    )


def _ready(folder: Path, weights: Path) -> bool:
    """Whether the cache holds a complete model assembled from these weights (the weights file's
    size and time are compared first; its hash only when they differ)."""
    try:
        meta = json.loads((folder / "reader.json").read_text())
        if (folder / "reader.onnx").stat().st_size != meta["bytes"] or (
            folder / "reader.onnx.data"
        ).stat().st_size != meta["weights_bytes"]:
            return False
        stat = weights.stat()
        if stat.st_size == meta["weights_size"] and stat.st_mtime_ns == meta["weights_mtime_ns"]:
            return True
        return weights_id(weights) == meta["weights"]
    except FileNotFoundError as exc:
        if Path(exc.filename or "") == weights:
            raise _missing_weights() from None
        return False
    except (OSError, ValueError, KeyError, TypeError):
        return False


# --------------------------------------------------------------------------- question time


class OnnxReader:
    """Reads passages for a question with the assembled ONNX model (no torch)."""

    def __init__(self, cache: Path, weights: Path = WEIGHTS, threads: int | None = None) -> None:
        folder = onnx_dir(cache)
        if not weights.is_file():
            raise _missing_weights()
        if not _ready(folder, weights):
            self._assemble(folder, weights)
        try:
            self._run = session(folder / "reader.onnx", threads, "the reader model")
        except ModelError:
            # a damaged file in the cache: assemble it again, once
            (folder / "reader.json").unlink(missing_ok=True)
            self._assemble(folder, weights)
            self._run = session(folder / "reader.onnx", threads, "the reader model")
        self._tok = F.load_reader_tokenizer(str(model_dir() / "tokenizer.json"), MAX_LENGTH, STRIDE)
        self._lock = threading.Lock()

    @staticmethod
    def _assemble(folder: Path, weights: Path) -> None:
        try:
            export_onnx(folder, weights)
        except OSError as exc:
            raise ModelError(
                f"cannot write the reader model to {folder} ({exc.strerror or exc}); "
                "set QA_CACHE_DIR to a writable folder"
            ) from None

    def read(self, question: str, passages: list[str], batch_size: int = 8) -> list[F.SpanScore]:
        """For each passage, its best span (offsets into that passage's text) and its no-answer
        score (the lowest of its windows': a window that does not see the answer says "none")."""
        wins = F.windows(self._tok, question, passages)
        best: dict[int, F.SpanScore] = {}
        order = sorted(range(len(wins)), key=lambda i: len(wins[i].ids))
        for i in range(0, len(order), batch_size):
            chunk = [wins[j] for j in order[i : i + batch_size]]
            with self._lock:  # one session serves one call at a time
                starts, ends = self._run.run(None, F.batch_arrays(chunk))
            for w, s, e in zip(chunk, starts, ends, strict=True):
                best[w.passage] = F.merge(best.get(w.passage), F.best_span(w, s, e))
        return [best.get(n, F.SpanScore(n, 0, 0, float("-inf"), float("inf"))) for n in range(len(passages))]
