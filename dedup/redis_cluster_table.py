"""The story clusters' table kept in a Redis store: nothing of it kept in the process for long.

``RedisClusterTable`` answers ``ClusterTable`` (``dedup.cluster_table``) from keys beside the store, in its
slot:

- ``{p}:story-of`` hash: article -> "CLUSTER PLACEMENT";
- ``{p}:story:CLUSTER`` hash: ``rank``, ``next`` (the position the next member takes) and ``sum`` (the
  members' vector sum, float64 bytes; absent while none had a vector);
- ``{p}:story-members:CLUSTER`` sorted set: article -> position (the order members joined);
- ``{p}:story-times:CLUSTER`` sorted set: article -> publication time (members without one left out), so
  the median is one lookup by rank;
- ``{p}:stories`` sorted set: cluster -> rank; the ``story_clock`` field of the meta hash: the next rank.

A cluster's size, sum, rank and median are read in one round trip (``_HEAD``) and kept for the last
``cache`` clusters asked about, as is the cluster and placement of the last ``cache`` articles; ``forget``
drops those a commit of another process names. What the write in progress changes is kept here, on top
of what the store holds: each cluster it touches is read whole, once, and changed here. ``take_writes``
gives the writes that make the store hold it (Lua scripts for the commit's transaction,
``Change.index_writes``); ``settled`` ends the write, its undo log having taken back what an undone
write changed (``dedup.undo``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dedup.recent import Recent
from dedup.redis_store import RedisStore
from dedup.undo import UndoLog

__all__ = ["RedisClusterTable"]

_CALL = "return redis.call(ARGV[1], KEYS[1], unpack(ARGV, 2))"
"""One command on one key, as a script: the commit's transaction takes its writes as scripts."""
_SLICE = 2_000
"""Arguments one call takes at most (Lua's ``unpack`` takes a few thousand)."""

_HEAD = """
local h = redis.call('HMGET', KEYS[1], 'rank', 'sum')
if not h[1] then return false end
local t = redis.call('ZCARD', KEYS[3])
local median = false
if t > 0 then
  local k = math.floor((t - 1) / 2)
  median = redis.call('ZRANGE', KEYS[3], k, k, 'WITHSCORES')[2]
end
return {h[1], h[2], redis.call('ZCARD', KEYS[2]), median}
"""
"""A cluster's rank, sum, size and median time (the lower middle one), or nil when it does not exist."""


@dataclass(frozen=True)
class _Head:
    """What the clusterer reads of a cluster it compares an article with."""

    size: int
    total: np.ndarray | None
    rank: int
    median: float | None


@dataclass(frozen=True)
class _Story:
    """A cluster read whole, as the write in progress changes it (a new one for every change, so that the
    undo log keeps the one before)."""

    rank: int
    next: int
    total: np.ndarray | None
    members: dict[str, int]
    """Article -> position, in the order they joined."""
    times: dict[str, float]

    def head(self) -> _Head:
        times = sorted(self.times.values())
        median = times[(len(times) - 1) // 2] if times else None
        return _Head(len(self.members), self.total, self.rank, median)


class RedisClusterTable:
    """``ClusterTable`` over a Redis store, with the changes of the write in progress on top."""

    def __init__(self, store: RedisStore, cache: int) -> None:
        self._store = store
        self._r = store.client
        self._of = store.key("story-of")
        self._ranks = store.key("stories")
        self._meta = store.key("meta")
        self._docs: Recent[str, tuple[str, float] | None] = Recent(cache)
        """Articles' clusters and placements read from the store, at most ``cache``."""
        self._heads: Recent[str, _Head | None] = Recent(cache)
        """Clusters' heads read from the store, at most ``cache``."""
        self._placed: dict[str, tuple[str, float] | None] = {}
        """The articles the write in progress placed (None: took out)."""
        self._stories: dict[str, _Story | None] = {}
        """The clusters the write in progress changed (None: dropped)."""
        self._before: dict[str, _Story | None] = {}
        """Those clusters as the store holds them, for the writes."""
        self._clock: int | None = None
        """The next rank, once the write in progress made a cluster."""
        self.undo: UndoLog | None = None

    def _keys(self, cluster: str) -> tuple[str, str, str]:
        return (
            self._store.key("story", cluster),
            self._store.key("story-members", cluster),
            self._store.key("story-times", cluster),
        )

    # -- reading ------------------------------------------------------------------------------------------

    def _doc(self, document: str) -> tuple[str, float] | None:
        return self._docs_of([document])[document]

    def _docs_of(self, documents: Sequence[str]) -> dict[str, tuple[str, float] | None]:
        """Where each article is and how it joined (None: not placed), those not kept read at once."""
        out = {d: self._placed[d] if d in self._placed else self._docs.get(d) for d in documents}
        missing = [d for d in documents if d not in self._placed and not self._docs.hit(d)]
        if missing:
            with self._store.errors("reading the story clusters"):
                raw = self._r.hmget(self._of, missing)
            for d, value in zip(missing, raw, strict=True):
                found = None
                if value is not None:
                    cluster, placement = value.decode().rsplit(" ", 1)
                    found = (cluster, float(placement))
                self._docs.keep(d, found)
                out[d] = found
        return out

    def _head(self, cluster: str) -> _Head | None:
        if cluster in self._stories:
            story = self._stories[cluster]
            return story.head() if story is not None else None
        if self._heads.hit(cluster):
            return self._heads[cluster]
        return self._read_heads([cluster])[cluster]

    def _read_heads(self, clusters: Sequence[str]) -> dict[str, _Head | None]:
        """The heads of ``clusters`` as the store holds them, in one round trip; kept."""
        with self._store.errors("reading a story cluster"), self._store.pipeline(transaction=False) as pipe:
            for cluster in clusters:
                pipe.eval(_HEAD, 3, *self._keys(cluster))
            found = pipe.execute()
        heads: dict[str, _Head | None] = {}
        for cluster, raw in zip(clusters, found, strict=True):
            head = None
            if raw:
                rank, total, size, median = raw
                head = _Head(
                    int(size),
                    np.frombuffer(total, dtype=np.float64).copy() if total is not None else None,
                    int(rank),
                    float(median) if median is not None else None,
                )
            self._heads.keep(cluster, head)
            heads[cluster] = head
        return heads

    def read_ahead(self, clusters: Iterable[str]) -> None:
        missing = [c for c in clusters if c not in self._stories and not self._heads.hit(c)]
        if missing:
            self._read_heads(missing)

    def clusters_of(self, documents: Iterable[str]) -> dict[str, str]:
        found = self._docs_of(list(dict.fromkeys(documents)))
        return {d: where[0] for d, where in found.items() if where is not None}

    def _must(self, cluster: str) -> _Head:
        head = self._head(cluster)
        if head is None:
            raise KeyError(cluster)
        return head

    def cluster_of(self, document: str) -> str | None:
        found = self._doc(document)
        return found[0] if found is not None else None

    def placement(self, document: str) -> float | None:
        found = self._doc(document)
        return found[1] if found is not None else None

    def exists(self, cluster: str) -> bool:
        return self._head(cluster) is not None

    def size(self, cluster: str) -> int:
        return self._must(cluster).size

    def total(self, cluster: str) -> np.ndarray | None:
        return self._must(cluster).total

    def median_time(self, cluster: str) -> float | None:
        return self._must(cluster).median

    def rank(self, cluster: str) -> int:
        return self._must(cluster).rank

    def members(self, cluster: str) -> list[str]:
        story = self._stories[cluster] if cluster in self._stories else self._read(cluster)
        if story is None:
            raise KeyError(cluster)
        return sorted(story.members, key=story.members.__getitem__)

    def clusters(self) -> list[str]:
        with self._store.errors("reading the story clusters"):
            stored = [c.decode() for c in self._r.zrange(self._ranks, 0, -1)]
        changed = [c for c, story in self._stories.items() if story is not None and c not in stored]
        return [c for c in stored if self._stories.get(c, True) is not None] + changed

    def next_rank(self) -> int:
        if self._clock is not None:
            return self._clock
        with self._store.errors("reading the story clusters"):
            raw = self._r.hget(self._meta, "story_clock")
        return int(raw) if raw is not None else 0

    def _story(self, cluster: str) -> _Story | None:
        """A cluster whole, as the write in progress left it (read from the store once in a write)."""
        if cluster in self._stories:
            return self._stories[cluster]
        if cluster not in self._before:
            self._before[cluster] = self._read(cluster)
        return self._before[cluster]

    def _read(self, cluster: str) -> _Story | None:
        """A cluster whole, as the store holds it."""
        story_key, members_key, times_key = self._keys(cluster)
        with self._store.errors("reading a story cluster"), self._store.pipeline(transaction=False) as pipe:
            pipe.hmget(story_key, ["rank", "next", "sum"])
            pipe.zrange(members_key, 0, -1, withscores=True)
            pipe.zrange(times_key, 0, -1, withscores=True)
            (rank, nxt, total), members, times = pipe.execute()
        if rank is None:
            return None
        return _Story(
            int(rank),
            int(nxt),
            np.frombuffer(total, dtype=np.float64).copy() if total is not None else None,
            {d.decode(): int(p) for d, p in members},
            {d.decode(): float(t) for d, t in times},
        )

    # -- changing -----------------------------------------------------------------------------------------

    def _change(self, cluster: str) -> _Story:
        """A copy of a cluster to change, in place of the one the write in progress held."""
        story = self._story(cluster)
        if story is None:
            raise KeyError(cluster)
        if self.undo is not None:
            self.undo.save(self._stories, cluster)
        changed = replace(story, members=dict(story.members), times=dict(story.times))
        self._stories[cluster] = changed
        return changed

    def _set(self, cluster: str, story: _Story | None) -> None:
        if self.undo is not None:
            self.undo.save(self._stories, cluster)
        self._stories[cluster] = story

    def _put(self, document: str, where: tuple[str, float] | None) -> None:
        if self.undo is not None:
            self.undo.save(self._placed, document)
        self._placed[document] = where

    def make(self, cluster: str, rank: int) -> None:
        self._story(cluster)  # as the store holds it, for the writes
        self._set(cluster, _Story(rank, 0, None, {}, {}))
        clock = max(self.next_rank(), rank + 1)
        if self.undo is not None:
            before = self._clock
            self.undo.call(lambda: setattr(self, "_clock", before))
        self._clock = clock

    def place(
        self, document: str, cluster: str, vector: np.ndarray | None, time: float | None, placement: float
    ) -> None:
        story = self._change(cluster)
        story.members[document] = story.next
        if time is not None:
            story.times[document] = time
        total = story.total
        if vector is not None:
            total = vector.astype(np.float64) if total is None else total + vector
        self._set(cluster, replace(story, next=story.next + 1, total=total))
        self._put(document, (cluster, placement))

    def unplace(self, document: str, vector: np.ndarray | None, time: float | None) -> str | None:
        cluster = self.cluster_of(document)
        if cluster is None:
            return None
        story = self._change(cluster)
        del story.members[document]
        story.times.pop(document, None)
        self._put(document, None)
        if not story.members:
            self._set(cluster, None)
        elif vector is not None and story.total is not None:
            self._set(cluster, replace(story, total=story.total - vector))
        return cluster

    def fold(self, source: str, target: str) -> list[str]:
        folded = self._story(source)
        if folded is None:
            raise KeyError(source)
        story = self._change(target)
        moved = sorted(folded.members, key=folded.members.__getitem__)
        where = self._docs_of(moved)
        for n, d in enumerate(moved):
            story.members[d] = story.next + n
            placed = where[d]
            self._put(d, (target, placed[1] if placed is not None else 1.0))
        story.times.update(folded.times)
        total = story.total
        if folded.total is not None:
            total = folded.total if total is None else total + folded.total
        self._set(target, replace(story, next=story.next + len(moved), total=total))
        self._set(source, None)
        return moved

    # -- the write's end ----------------------------------------------------------------------------------

    def take_writes(self) -> list[tuple[str, Sequence[Any], Sequence[Any]]]:
        """The writes that make the store hold what the write in progress changed (scripts: body, keys,
        arguments), for the commit's transaction; what they write stays here until ``settled``."""
        calls: list[tuple[str, Sequence[Any], Sequence[Any]]] = []

        def call(command: str, key: str, args: Iterable[Any]) -> None:
            values = list(args)
            for n in range(0, len(values), _SLICE):
                calls.append((_CALL, [key], [command, *values[n : n + _SLICE]]))

        gone = [d for d, where in self._placed.items() if where is None]
        placed = [(d, f"{where[0]} {where[1]!r}") for d, where in self._placed.items() if where is not None]
        if gone:
            call("HDEL", self._of, gone)
        if placed:
            call("HSET", self._of, [x for pair in placed for x in pair])
        for cluster, story in self._stories.items():
            before = self._before.get(cluster)
            story_key, members_key, times_key = self._keys(cluster)
            if story is None:
                for key in (story_key, members_key, times_key):
                    calls.append((_CALL, [key], ["DEL"]))
                call("ZREM", self._ranks, [cluster])
                continue
            old_members = before.members if before is not None else {}
            old_times = before.times if before is not None else {}
            call("HSET", story_key, ["rank", story.rank, "next", story.next])
            if story.total is not None:
                call("HSET", story_key, ["sum", np.ascontiguousarray(story.total, np.float64).tobytes()])
            else:
                call("HDEL", story_key, ["sum"])
            call("ZADD", self._ranks, [story.rank, cluster])
            left = [d for d in old_members if d not in story.members]
            if left:
                call("ZREM", members_key, left)
            joined = [(p, d) for d, p in story.members.items() if old_members.get(d) != p]
            if joined:
                call("ZADD", members_key, [x for pair in joined for x in pair])
            untimed = [d for d in old_times if d not in story.times]
            if untimed:
                call("ZREM", times_key, untimed)
            timed = [(repr(t), d) for d, t in story.times.items() if old_times.get(d) != t]
            if timed:
                call("ZADD", times_key, [x for pair in timed for x in pair])
        if self._clock is not None:
            call("HSET", self._meta, ["story_clock", self._clock])
        return calls

    def settled(self) -> None:
        """The write is over: what it committed is kept as read (an undone write's changes were taken back
        by its undo log)."""
        for d, where in self._placed.items():
            self._docs.keep(d, where)
        for cluster, story in self._stories.items():
            self._heads.keep(cluster, story.head() if story is not None else None)
        self._placed.clear()
        self._stories.clear()
        self._before.clear()
        self._clock = None

    def forget(self, documents: Iterable[str], clusters: Iterable[str]) -> None:
        """What was read of these articles and clusters is dropped (another process's commit changed
        them): read from the store when asked."""
        for d in documents:
            self._docs.pop(d, None)
        for c in clusters:
            self._heads.pop(c, None)
