"""qa: answers questions about a folder of news articles by quoting them.

The public surface: ``QAService`` (ask, index, sources), ``Settings``/``load_settings`` and the
models and errors it speaks in. Heavy libraries (torch, faiss, onnxruntime) load only when needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from qa.config import Settings, load_settings
    from qa.errors import QAError
    from qa.models import Answer, AskResult, Citation
    from qa.service import QAService

__all__ = ["Answer", "AskResult", "Citation", "QAError", "QAService", "Settings", "load_settings"]


def __getattr__(name: str) -> object:
    """Import the public names on first use, so that ``import qa`` stays instant."""
    modules = {
        "QAService": "qa.service", "Settings": "qa.config", "load_settings": "qa.config", "QAError": "qa.errors",
        "Answer": "qa.models", "AskResult": "qa.models", "Citation": "qa.models",
    }
    if name in modules:
        import importlib

        return getattr(importlib.import_module(modules[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
