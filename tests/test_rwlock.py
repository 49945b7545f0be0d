"""dedup.rwlock: readers together, writers alone, writers not starved, re-entrant per thread."""

from __future__ import annotations

import threading
import time

import pytest

from dedup.rwlock import ReadWriteLock


def _in_thread(fn) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def test_readers_hold_the_lock_together() -> None:
    lock = ReadWriteLock()
    inside = threading.Barrier(2, timeout=5)  # both readers must be inside at once to pass

    def reader() -> None:
        with lock.read():
            inside.wait()

    threads = [_in_thread(reader) for _ in range(2)]
    for t in threads:
        t.join(5)
    assert not inside.broken and all(not t.is_alive() for t in threads)


def test_a_writer_waits_for_readers_and_excludes_everyone() -> None:
    lock = ReadWriteLock()
    log: list[str] = []
    reading = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with lock.read():
            reading.set()
            release.wait(5)
            log.append("reader out")

    def writer() -> None:
        with lock.write():
            log.append("writer in")
            time.sleep(0.05)
            log.append("writer out")

    r = _in_thread(reader)
    reading.wait(5)
    w = _in_thread(writer)
    time.sleep(0.05)
    assert log == []  # the writer is waiting for the reader

    def late_reader() -> None:  # arrives while the writer waits: goes after it
        with lock.read():
            log.append("late reader")

    late = _in_thread(late_reader)
    time.sleep(0.05)
    release.set()
    for t in (r, w, late):
        t.join(5)
    assert log == ["reader out", "writer in", "writer out", "late reader"]


def test_new_readers_queue_behind_a_waiting_writer() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def first() -> None:
        with lock.read():
            first_in.set()
            release.wait(5)

    def writer() -> None:
        with lock.write():
            order.append("writer")

    def second() -> None:
        with lock.read():
            order.append("second reader")

    t1 = _in_thread(first)
    first_in.wait(5)
    tw = _in_thread(writer)
    time.sleep(0.05)
    t2 = _in_thread(second)
    time.sleep(0.05)
    assert order == []  # the second reader did not slip in before the writer
    release.set()
    for t in (t1, tw, t2):
        t.join(5)
    assert order == ["writer", "second reader"]


def test_reentrant_per_thread() -> None:
    lock = ReadWriteLock()
    with lock.write(), lock.write(), lock.read():  # a writer may write again and read
        pass
    with lock.read(), lock.read(), pytest.raises(RuntimeError, match="while holding the read lock"):
        lock.write().__enter__()
    done = threading.Event()

    def other() -> None:  # everything was released: another thread can write at once
        with lock.write():
            done.set()

    _in_thread(other).join(5)
    assert done.is_set()


def test_a_wait_with_a_timeout_gives_up_and_lets_the_queue_go_on() -> None:
    """A writer that cannot have the lock in time gives up (TimeoutError); the readers that queued behind
    it are let in at once, not left waiting for a writer that is gone."""
    lock = ReadWriteLock()
    reading = threading.Event()
    release = threading.Event()

    def long_reader() -> None:
        with lock.read():
            reading.set()
            release.wait(10)

    holder = _in_thread(long_reader)
    assert reading.wait(5)
    writer_gave_up = threading.Event()

    def writer() -> None:
        with pytest.raises(TimeoutError), lock.write(timeout=0.3):
            pass
        writer_gave_up.set()

    w = _in_thread(writer)
    time.sleep(0.1)  # the writer is waiting: a new reader queues behind it
    got_in = threading.Event()

    def late_reader() -> None:
        with lock.read(timeout=5):
            got_in.set()

    r = _in_thread(late_reader)
    assert writer_gave_up.wait(5) and got_in.wait(2)  # in as soon as the writer left, while the first reads
    with pytest.raises(TimeoutError), lock.write(timeout=0.05):
        pass
    release.set()
    for t in (holder, w, r):
        t.join(5)
    with lock.write(timeout=0.5):  # free again
        pass
