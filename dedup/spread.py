"""Ingest spread over several servers that share one store (`dedup serve` replicas on one Redis).

    from dedup.client import DedupClient
    from dedup.spread import ingest_spread

    clients = [DedupClient(t) for t in ("10.0.0.1:50051", "10.0.0.2:50051")]
    for position, server, reply in ingest_spread(clients, articles):
        ...  # articles[position] is stored (durable), by clients[server]

One stream goes to each server, and every stream takes its articles from one queue, the next one
whenever its server has fewer than ``window`` unanswered, as ingest workers take from one queue: a
server that is given longer articles, or runs on a slower machine, is given fewer, and none waits for
another. One stream to a load balancer would keep one replica busy: a stream's articles all go where the
stream went. The articles are stored in about the order given, not exactly: two sent to different
servers at once are committed in whichever order their writes finish (each answer is what the store
held when it was committed), except that versions of one article (one id) are stored in the order given.

The servers must share one store: each is asked which (GetStore) before anything is sent, and servers
that report different stores are refused (INVALID_ARGUMENT), since each would keep only what it was
given. A server that goes away (UNAVAILABLE) or turns the stream down for want of room
(RESOURCE_EXHAUSTED) gives its unanswered articles back to the queue, and the others store them: ingest
is idempotent, so an article the lost server stored without answering is found unchanged. Any other
error (an article that cannot be stored, a refused token) ends the whole ingest, raised to the caller,
after the articles already answered; when no server is left, the last one's error is raised, saying how
many were answered.

Needs nothing but the client (no model, no numpy).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from dedup.article import Article
from dedup.errors import DedupError, InvalidArgument, ResourceExhausted, Unavailable

if TYPE_CHECKING:
    from dedup.client import DedupClient, IngestReply

__all__ = ["UNANSWERED", "SpreadReply", "ingest_spread"]

UNANSWERED = 64
"""Articles a stream may have sent and not yet had answered, by default: two of a server's stream
batches (``server.servicer.STREAM_BATCH``), so that a server has the next batch to embed while it
matches one."""

_FAIL_OVER = (Unavailable, ResourceExhausted)
"""Errors that say the server, not the article, failed: its unanswered articles go to the others."""


class SpreadReply(NamedTuple):
    """An article stored: its position in the articles given, the server that stored it (its position
    in the clients given) and that server's reply."""

    position: int
    server: int
    reply: IngestReply


@dataclass(frozen=True)
class _Ended:
    """A stream has ended, broken by ``error`` or not."""

    stream: int
    error: BaseException | None


class _Shared:
    """The queue the streams take articles from, and each stream's articles sent and not answered, under
    one lock: an article is either waiting in the queue or unanswered on exactly one live stream until
    its reply comes, so none is lost when a stream breaks and none is stored twice by design."""

    def __init__(self, articles: Iterable[Article], streams: int) -> None:
        self._source = enumerate(articles)
        self._source_done = False
        self._returned: deque[tuple[int, Article]] = deque()
        self._sent: list[deque[tuple[int, Article]]] = [deque() for _ in range(streams)]
        self._live = set(range(streams))
        self._stopped = False
        self._changed = threading.Condition()

    def take(self, k: int) -> Article | None:
        """The next article for stream ``k``, or None when none will come: the queue is empty and no other
        live stream has an unanswered article that could come back to it, or stream ``k`` is gone, or
        the ingest was stopped. Waits while another stream's unanswered articles may still come back, and
        while the next article's id is unanswered on another stream: two versions of one article are
        stored in the order given (the later replaces the earlier), as on one stream."""
        with self._changed:
            while not self._stopped and k in self._live:
                if not self._returned and not self._source_done:
                    try:
                        self._returned.append(next(self._source))
                    except StopIteration:
                        self._source_done = True
                    continue
                if self._returned:
                    head = self._returned[0][1].id
                    if any(a.id == head for j in self._live if j != k for _, a in self._sent[j]):
                        self._changed.wait()
                        continue
                    item = self._returned.popleft()
                elif any(self._sent[j] for j in self._live if j != k):
                    self._changed.wait()
                    continue
                else:
                    return None
                self._sent[k].append(item)
                return item[1]
            return None

    def answered(self, k: int) -> int:
        """The reply to stream ``k``'s oldest unanswered article came (replies come in order): its index."""
        with self._changed:
            index, _ = self._sent[k].popleft()
            self._changed.notify_all()
            return index

    def lost(self, k: int) -> bool:
        """Stream ``k`` has ended: its unanswered articles (none, unless it broke) go back to the front of
        the queue, in order, for the other streams. False when no stream is left to take them (and some
        remain)."""
        with self._changed:
            self._live.discard(k)
            self._returned.extendleft(reversed(self._sent[k]))
            self._sent[k].clear()
            self._changed.notify_all()
            return bool(self._live) or self.finished()

    def finished(self) -> bool:
        """Nothing is left to send (under the lock, or once every stream has ended)."""
        return self._source_done and not self._returned

    def stop(self) -> None:
        """No stream takes another article."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()


def ingest_spread(
    clients: Sequence[DedupClient],
    articles: Iterable[Article],
    window: int = UNANSWERED,
    *,
    one_store: bool = True,
) -> Iterator[SpreadReply]:
    """Store ``articles`` through ``clients`` (servers sharing one store), one stream each, all taking
    from one queue (see the module's docstring). Yields a ``SpreadReply`` as each is stored, in the
    order the replies come. Closing the iterator early stops the streams taking articles; the servers
    still store those they were sent. ``one_store=False`` skips the check that the servers share one
    store, for servers kept apart on purpose (a benchmark's baseline of servers that share nothing)."""
    if not clients:
        raise InvalidArgument("name at least one server to ingest through")
    if window < 1:
        raise InvalidArgument(f"window must be 1 or more, not {window}")
    if one_store:
        _check_one_store(clients)
    shared = _Shared(articles, len(clients))
    out: queue.Queue[SpreadReply | _Ended] = queue.Queue()

    def requests(k: int, room: threading.Semaphore) -> Iterator[Article]:
        while True:
            room.acquire()
            article = shared.take(k)
            if article is None:
                return
            yield article

    def stream(k: int, client: DedupClient) -> None:
        room = threading.Semaphore(window)
        error: BaseException | None = None
        try:
            for reply in client.ingest_many(requests(k, room)):
                out.put(SpreadReply(shared.answered(k), k, reply))
                room.release()
        except BaseException as exc:  # handed to the caller's thread
            error = exc
        room.release(window)  # a request reader waiting for room finds the stream gone and ends
        out.put(_Ended(k, error))

    threads = [
        threading.Thread(target=stream, args=(k, c), name=f"dedup-spread-{k}", daemon=True)
        for k, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    running, answered = len(threads), 0
    last: BaseException | None = None
    try:
        while running:
            item = out.get()
            if not isinstance(item, _Ended):
                answered += 1
                yield item
                continue
            running -= 1
            if item.error is not None and not isinstance(item.error, _FAIL_OVER):
                raise item.error
            last = item.error or last
            # Ended without an error it has nothing unanswered, unless its server closed the stream early.
            if not shared.lost(item.stream):
                break
        if not shared.finished():
            raise _no_server_left(last or Unavailable("a server ended its stream early"), answered)
    finally:
        shared.stop()


def _check_one_store(clients: Sequence[DedupClient]) -> None:
    """InvalidArgument unless the servers that answer share one store (GetStore). One that is already
    gone is left out: its stream fails over like any other."""
    stores: dict[str, list[str]] = {}
    for client in clients:
        try:
            info = client.get_store()
        except _FAIL_OVER:
            continue
        stores.setdefault(info.id, []).append(client.target)
    if len(stores) > 1:
        named = "; ".join(f"{', '.join(targets)} on store {sid or '?'}" for sid, targets in stores.items())
        raise InvalidArgument(
            f"the servers do not share one store ({named}): each would keep only the articles it was "
            "given; name replicas of one store, or ingest into each server on its own"
        )


def _no_server_left(last: BaseException, answered: int) -> DedupError:
    error = type(last) if isinstance(last, DedupError) else Unavailable
    return error(
        f"no server is left to ingest through ({last}); {answered} article(s) were answered and are "
        "stored, and sending the others again is safe (ingest is idempotent)"
    )
