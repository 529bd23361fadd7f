"""``python tests/pause_at.py POINT FLAG ARGS...``: run ``qa ARGS``, but stop at a named point of
an index write, say so (the file FLAG appears) and wait to be killed. The crash tests kill it there
and check that nothing is lost. The points are reached by wrapping the library's own functions
here, so the product carries no test hook:

- ``embedding``: the first texts of a batch are embedded, the batch is not done;
- ``batch``: one embedded batch is kept in ``.pending/``;
- ``writing``: a new generation's files are written, not yet checked or named in a manifest;
- ``renamed``: the new generation is in place, CURRENT still names the old one;
- ``switched``: CURRENT names the new one, the old ones are not yet removed;
- ``milvus-deleted``: a refresh with the milvus store deleted the changed articles' rows from its
  collection and has not written their new ones.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _wrap(owner: Any, name: str, *, before: bool = False, after: bool = False,
          when: Callable[..., bool] = lambda *a, **k: True, pause: Callable[[], None]) -> None:
    real = getattr(owner, name)

    @functools.wraps(real)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        hit = when(*args, **kwargs)
        if before and hit:
            pause()
        out = real(*args, **kwargs)
        if after and hit:
            pause()
        return out

    setattr(owner, name, wrapped)


def main() -> int:
    point, flag, *args = sys.argv[1:]

    def pause() -> None:
        Path(flag).write_text(point)
        time.sleep(3600)

    from qa.cli.main import main as qa_main
    from qa.neural.embedder import Embedder
    from qa.store import generations, refresh

    if point == "embedding":
        real = Embedder.encode_documents

        def encode(self: Embedder, texts: Any, tokens: int, progress: Any = None, force: str | None = None) -> Any:
            def step(n: int) -> None:
                if progress:
                    progress(n)
                pause()

            return real(self, texts, tokens, progress=step, force=force)

        Embedder.encode_documents = encode  # type: ignore[method-assign]
    elif point == "batch":
        _wrap(refresh, "save_pending", after=True, pause=pause)
    elif point == "writing":
        _wrap(generations, "_sha256", before=True, pause=pause)
    elif point == "renamed":
        _wrap(os, "rename", after=True, when=lambda src, dst: Path(src).name.startswith(".tmp-g-"), pause=pause)
    elif point == "switched":
        _wrap(generations, "_remove_old_generations", before=True, pause=pause)
    elif point == "milvus-deleted":
        from qa.search.milvus import Milvus

        _wrap(Milvus, "delete_articles", after=True, pause=pause)
    else:
        raise SystemExit(f"unknown point {point!r}")
    return qa_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
