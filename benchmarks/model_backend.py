"""The ``--backend`` option of the quality benchmarks: what runs dedup's model (``embed.backend``), so
that each backend's answers are scored on the same data."""

from __future__ import annotations

import argparse

from dedup.config import Config, EmbedConfig
from dedup.pipeline import Detector


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=EmbedConfig.BACKENDS,
        default=EmbedConfig.backend,
        help="what runs dedup's model (embed.backend; default %(default)s)",
    )


def backend_detector(backend: str) -> Detector:
    """A detector with the default settings, its model run by ``backend``."""
    return Detector(Config(embed=EmbedConfig(backend=backend)))
