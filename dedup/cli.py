"""The ``dedup`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from dedup.config import Config, config_from_dict, load_config
from dedup.errors import DedupError

__all__ = ["main"]

EXIT_USAGE = 2


class RichProgress:
    """A progress bar on stderr, one task per stage."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, stage: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)
        self._task = self._progress.add_task(stage, total=max(total, 1))
        if total == 0:
            self._progress.update(self._task, completed=1)

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)


def _write_atomically(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` so that a failure never leaves a half-written file."""
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config) if args.config else Config()
    if args.model:
        config = config_from_dict({"embed": {"model": args.model}}, config)
    return config


def _analyze(args: argparse.Namespace) -> int:
    from dedup.inputs import read_articles
    from dedup.pipeline import Detector, NullProgress
    from dedup.report import render_json, render_text

    config = _config(args)
    if args.out is not None:
        out_dir = Path(args.out).resolve().parent
        if not out_dir.is_dir():
            raise DedupError(f"cannot write {args.out}: folder {out_dir} does not exist")
    articles = read_articles(args.path)
    detector = Detector(config)
    show = not args.quiet and sys.stderr.isatty()
    if show:
        with RichProgress() as progress:
            analysis = detector.analyze(articles, progress)
    else:
        analysis = detector.analyze(articles, NullProgress())
    if args.format == "json":
        rendered = render_json(analysis)
    else:
        rendered = render_text(analysis, {a.id: a.text for a in articles})
    if args.out:
        _write_atomically(Path(args.out), rendered)
    else:
        sys.stdout.write(rendered)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup", description="Find reuse between news articles: who copied whom, where, and how much."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    analyze = sub.add_parser(
        "analyze",
        help="analyse a folder of .txt articles or a JSONL file",
        description="Find shared passages, story clusters and derivation in a set of articles.",
    )
    analyze.add_argument(
        "path", help="a folder of .txt files (id = file name) or a JSONL file (id, text, ...)"
    )
    analyze.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    analyze.add_argument("--out", help="write the result to this file instead of standard output")
    analyze.add_argument("--config", help="a TOML or JSON file of threshold overrides")
    analyze.add_argument("--model", help="embedding model: 'packaged' (default), a local path or a hub name")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    analyze.set_defaults(func=_analyze)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DedupError as exc:
        print(f"dedup: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dedup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
