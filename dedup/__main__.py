"""``python -m dedup`` is the ``dedup`` command."""

from dedup.cli import run

run()
