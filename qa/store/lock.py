"""The index folder's write lock (one writer at a time; readers never wait) and the one-line
errors for a folder that cannot be written."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from qa.errors import IndexLockedError, IndexReadOnlyError, IndexStoreError


def write_failure(root: Path, exc: OSError) -> IndexStoreError:
    """One line for an error while writing an index (disk full, read-only, too large ...)."""
    if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return IndexReadOnlyError(
            f"cannot write to the index folder {root} ({exc.strerror}); pass --index DIR with a writable folder"
        )
    reason = exc.strerror or (
        f"a write was cut short: {exc}; the disk may be full or a file-size limit reached"
        if str(exc)
        else "write failed"
    )
    return IndexStoreError(
        f"could not write the index in {root} ({reason}); the previous index is unchanged — "
        "free some space or fix the folder, then run `qa index` again"
    )


def check_writable(root: Path) -> None:
    """Fail early, before any work, when the index folder cannot be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise write_failure(root, exc) from None


@contextlib.contextmanager
def write_lock(root: Path, wait: float = 600.0, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the index folder's write lock (``.lock``, an OS file lock that a crashed writer
    releases with its process); wait up to ``wait`` seconds for another writer, calling
    ``on_wait`` once when it has to wait."""
    from filelock import FileLock, Timeout

    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(root / ".lock", mode=0o644, preserve_lock_file=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait:
                on_wait()
            try:
                lock.acquire(timeout=wait, poll_interval=0.1)
            except Timeout:
                raise IndexLockedError(
                    f"another qa process is writing the index in {root}; try again when it has finished"
                ) from None
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise write_failure(root, exc) from None
        raise IndexStoreError(f"cannot open the index folder {root}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.release()
