"""The resumable state of a training run: weights, optimiser, schedule, data order position and
random state, written atomically, so that a run taken up again ends as an uninterrupted one."""

from __future__ import annotations

import os
from pathlib import Path

from qa.errors import QAError


class Checkpoint:
    """The state of a run, saved atomically every few minutes, on Ctrl+C and on SIGTERM, so that
    ``make reader`` takes it up where it stopped: the trained weights, the optimizer and schedule,
    the step, torch's random state (dropout), the time spent and the learning curve so far. The
    order of the data depends only on the seed and the epoch, so a resumed run computes what an
    uninterrupted one would."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "checkpoint.pt"

    def load(self, recipe: dict) -> dict | None:
        import torch

        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a damaged file: start over rather than crash
            print(f"note: the checkpoint {self.path} is unreadable ({type(exc).__name__}); starting over", flush=True)
            return None
        if state.get("recipe") != recipe:
            raise QAError(
                f"the checkpoint {self.path} belongs to another recipe ({differences(state.get('recipe'), recipe)}); "
                "pass --fresh to start over, or --checkpoint DIR to keep both"
            )
        return state

    def save(self, state: dict) -> None:
        import torch

        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(state, tmp)
            os.replace(tmp, self.path)
        except (OSError, RuntimeError) as exc:  # a full disk: keep training, keep the last checkpoint
            tmp.unlink(missing_ok=True)
            print(f"\nnote: could not write the checkpoint {self.path} ({exc}); the last one is kept", flush=True)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def differences(old: dict | None, new: dict) -> str:
    old = old or {}
    return ", ".join(f"{k} {old.get(k)!r} -> {v!r}" for k, v in new.items() if old.get(k) != v) or "unknown"
