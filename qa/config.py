"""One settings object, resolved as: defaults < config file < ``QA_*`` environment < CLI flags.

The config file is TOML, read from ``$QA_CONFIG`` if set, else from ``<user config dir>/qa/config.toml``
when it exists. Its keys are the field names below (``top_k = 8``). Environment variables are the
upper-cased field names with a ``QA_`` prefix (``QA_CORPUS``, ``QA_INDEX``, ``QA_TOP_K`` ...).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qa.errors import UsageError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding ``qa/``, ``seeds/`` and ``embeddings/``."""

Retriever = Literal["dense", "lexical", "hybrid"]


def _user_dir(kind: str) -> Path:
    import platformdirs

    if kind == "config":
        return Path(platformdirs.user_config_dir("qa", appauthor=False))
    if kind == "cache":
        return Path(platformdirs.user_cache_dir("qa", appauthor=False))
    return Path(platformdirs.user_data_dir("qa", appauthor=False))


CONFIDENCE_FEATURES = {
    "margin": "margin over no answer",
    "span_score": "span score",
    "retrieval": "retrieval score",
    "sentence_coverage": "sentence coverage",
    "passage_coverage": "passage coverage",
    "similarity": "sentence similarity",
}
"""What the answerer's confidence model weighs (``qa.answer.answerer.Candidate``), in the order of
``confidence_weights`` (the bias comes last)."""


@dataclass(frozen=True)
class StoreSpec:
    """Where an index's search lives: ``local`` files, a Milvus Lite file, or a Milvus server."""

    kind: str
    """"local", "lite" or "server"."""
    uri: str = ""
    """The Lite file (absolute) or the server's URI."""

    @property
    def name(self) -> str:
        """The spec as a user writes it (and as a manifest records it)."""
        return {"local": "local", "lite": f"milvus:{self.uri}", "server": self.uri}[self.kind]


_SERVER = re.compile(r"^(?:milvus|https?)://[^\s/]+(?::\d+)?/?$")


def parse_store(value: str) -> StoreSpec:
    """``local``, ``milvus:PATH`` (Milvus Lite; PATH ends in .db), ``milvus://HOST[:PORT]`` or
    ``http(s)://HOST[:PORT]`` (a Milvus server); ValueError otherwise."""
    value = value.strip()
    if value == "local":
        return StoreSpec("local")
    if _SERVER.match(value):
        uri = "http://" + value[len("milvus://") :] if value.startswith("milvus://") else value
        return StoreSpec("server", uri.rstrip("/"))
    if value.startswith("milvus:") and not value.startswith("milvus://"):
        path = value[len("milvus:") :]
        if not path.endswith(".db"):
            raise ValueError("a Milvus Lite file's name ends in .db")
        return StoreSpec("lite", str(Path(path).expanduser().resolve()))
    raise ValueError("expected local, milvus:PATH.db, milvus://HOST:PORT or https://HOST:PORT")



class Settings(BaseModel):
    """Everything a run of qa can be told."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    corpus: Path = PROJECT_ROOT / "seeds"
    """Folder of articles: every .txt, .md, .html or .htm file under it is one article, and every
    object of a .jsonl or .json export with a text, content or body field."""
    index: Path = PROJECT_ROOT / "embeddings"
    """Folder of indexes; each corpus gets its own subfolder there."""
    top_k: int = Field(default=5, ge=1, le=100)
    """How many passages to retrieve and cite."""
    retriever: Retriever = "hybrid"
    """Which retriever ranks passages: dense (embeddings), lexical (BM25) or hybrid (both fused)."""
    abstain_threshold: float = Field(default=0.28, ge=0.0, le=1.0)
    """Answers whose confidence is below this are withheld ("not found in the articles"). The default is
    the value `qa eval --calibrate --squad` chose on tests/questions.jsonl and SQuAD 2.0 dev (3 articles)
    together."""
    confidence_weights: tuple[float, ...] = (0.3326, 0.0, 0.0, 0.0, 0.0, 0.0, -0.9748)
    """The confidence model (logistic): weights of the reader's span margin over its no-answer
    score, of its span score, of the passage's retrieval score, of the share of the question's
    terms in the answer's sentence and in its passage, of the sentence's similarity to the
    question, then the bias. The default is what `qa eval --calibrate --squad` fitted on
    tests/questions.jsonl and SQuAD 2.0 dev (3 articles) together: with reader v2 only the margin
    earned its weight (the others are 0)."""
    agreement_weights: tuple[float, float] = (0.5995, -0.2916)
    """How the confidence (on the logistic scale) moves for each other independent article whose
    answer agrees, and for each whose answer of the same kind differs (counted up to 3 each).
    The default is what `qa eval --calibrate --squad` fitted with the confidence weights."""
    passages_read: int = Field(default=4, ge=1, le=50)
    """How many of the top passages the reader reads."""
    reader_weights: Path | None = None
    """The reader's weights file (default: the one shipped in qa/neural/reader/weights/)."""
    passage_tokens: int = Field(default=160, ge=32, le=250)
    """Target word pieces of a passage window (the title and the model's limit of 256 come on top)."""
    overlap_sentences: int = Field(default=1, ge=0, le=5)
    """Sentences shared by consecutive passages of an article."""
    rebuild: bool = True
    """Build or refresh the index by itself when it is missing, out of date or damaged; when
    false (--no-rebuild), such an index is an error instead."""
    lock_wait: float = Field(default=600.0, ge=0.0)
    """Seconds to wait for another qa process that is writing the same index (0: fail at once)."""
    max_article_mb: float = Field(default=20.0, gt=0.0)
    """Larger files are skipped with a warning (one would take many minutes to embed)."""
    index_batch: int = Field(default=256, ge=1, le=100_000)
    """Articles embedded and kept on disk together while indexing: an interrupted run resumes
    after the last whole batch."""
    index_encoder: Literal["auto", "onnx", "torch"] = "auto"
    """How passages are embedded: auto picks ONNX for small jobs and torch (bfloat16 where the CPU
    has it) for large ones."""
    cache_dir: Path | None = None
    """Where the exported ONNX model is kept (default: the user's cache folder)."""
    data_dir: Path | None = None
    """Where chat history is saved (default: the user's data folder)."""
    store: str = "local"
    """Where the index's search lives: ``local`` (FAISS and BM25 files beside the index, the
    default), ``milvus:PATH.db`` (a Milvus Lite file, one user) or ``milvus://HOST:19530`` /
    ``https://HOST`` (a Milvus server or cluster); the last two need the ``milvus`` extra."""
    milvus_token: str | None = Field(default=None, repr=False)
    """A Milvus server's token ("user:password" or an API key): from QA_MILVUS_TOKEN or the config
    file, never the command line."""
    milvus_database: str | None = None
    """The Milvus database (default: the server's default one)."""

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        return parse_store(value).name

    @field_validator("confidence_weights", "agreement_weights", mode="before")
    @classmethod
    def _weights_from_text(cls, value: Any) -> Any:
        """``QA_CONFIDENCE_WEIGHTS="0.5,0,0,-1"`` from the environment."""
        if isinstance(value, str):
            return tuple(x.strip() for x in value.strip("()[] ").split(","))
        return value

    @field_validator("confidence_weights")
    @classmethod
    def _one_weight_per_feature(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != len(CONFIDENCE_FEATURES) + 1:
            raise ValueError(f"needs {len(CONFIDENCE_FEATURES) + 1} numbers, a weight for each of "
                             f"{', '.join(CONFIDENCE_FEATURES)}, then the "
                             "bias; `qa eval --calibrate --save` writes them")
        return value

    def cache_path(self) -> Path:
        """The cache folder, resolved."""
        return self.cache_dir or _user_dir("cache")

    def data_path(self) -> Path:
        """The data folder, resolved."""
        return self.data_dir or _user_dir("data")


_FIELDS = tuple(Settings.model_fields)


def _config_path(env: dict[str, str]) -> Path:
    """Where the config file is: ``$QA_CONFIG``, else the user's config folder."""
    if env.get("QA_CONFIG"):
        return Path(env["QA_CONFIG"]).expanduser()
    return _user_dir("config") / "config.toml"


def _config_file(env: dict[str, str]) -> Path | None:
    """The config file to read: ``$QA_CONFIG`` (which must exist), else the user's if it exists."""
    path = _config_path(env)
    return path if env.get("QA_CONFIG") or path.is_file() else None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist; create it or unset QA_CONFIG") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise UsageError(
            f"config file {path}: unknown key {unknown[0]!r}; known keys: {', '.join(_FIELDS)}"
        )
    return data


def _describe(error: ValidationError, origin: dict[str, str]) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    msg = str(first["msg"])
    # our own validators' words stand as written; pydantic's are lowercased to follow the colon
    msg = msg.removeprefix("Value error, ") if msg.startswith("Value error, ") else msg.lower()
    return f"{origin.get(field, field)}: {msg} (got {first.get('input')!r})"


def load_settings(overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Resolve settings from defaults, the config file, ``QA_*`` variables and ``overrides`` (CLI flags)."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path = _config_file(env)
    if path is not None:
        for key, value in _read_config_file(path).items():
            values[key] = value
            origin[key] = f"config file {path}, key {key}"
    for key in _FIELDS:
        name = f"QA_{key.upper()}"
        if env.get(name, "") != "":
            values[key] = env[name]
            origin[key] = f"environment variable {name}"
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            origin[key] = "--" + key.replace("_", "-")
    for key in ("corpus", "index", "cache_dir", "data_dir", "reader_weights"):
        if isinstance(values.get(key), (str, Path)):
            values[key] = Path(values[key]).expanduser()
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise UsageError(_describe(exc, origin)) from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def save_setting(key: str, value: Any, env: dict[str, str] | None = None) -> Path:
    """Write ``key = value`` into the config file (``$QA_CONFIG`` or the user's), keeping its
    other keys; the file is replaced atomically. Returns the file's path."""
    from qa.text.files import write_atomic

    if key not in _FIELDS:
        raise UsageError(f"unknown setting {key!r}")
    env = dict(os.environ if env is None else env)
    path = _config_path(env)
    data = _read_config_file(path) if path.is_file() else {}
    data[key] = value
    Settings(**data)  # refuse to write an invalid file
    text = "".join(f"{k} = {_toml_value(v)}\n" for k, v in data.items())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, ("# qa settings (see README)\n" + text).encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write config file {path}: {exc.strerror or exc}") from None
    return path
