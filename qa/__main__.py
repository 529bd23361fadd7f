"""``python -m qa``: the same as the ``qa`` command."""

from qa.cli.main import main

raise SystemExit(main())
