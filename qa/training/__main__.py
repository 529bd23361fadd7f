"""``python -m qa.training``: the same as ``python -m qa.training.train`` (``make reader``)."""

from qa.training.train import main

main()
