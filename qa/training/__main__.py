"""``python -m qa.training`` (``make reader``): train the reader."""

from qa.training.train import run

raise SystemExit(run())
