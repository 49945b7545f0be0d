"""The prepared articles the engine keeps in memory (``Resident``): the most recently used, the others
prepared again from the store when needed."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

from dedup.document import PreparedDocument

__all__ = ["Resident"]


class Resident:
    """The prepared articles kept in memory: at most ``limit`` once ``trim`` is called, the most
    recently used; ``get`` prepares a missing one again through ``load``. Between two ``trim`` calls
    nothing is dropped, so an operation can hold the articles it works on (some not yet committed)."""

    def __init__(self, limit: int, load: Callable[[str], PreparedDocument]) -> None:
        self.limit = limit
        self._load = load
        self._docs: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, doc_id: str) -> PreparedDocument:
        with self._lock:
            doc = self._docs.get(doc_id)
            if doc is not None:
                self._docs.move_to_end(doc_id)
                return doc
        doc = self._load(doc_id)
        with self._lock:
            self._docs[doc_id] = doc
        return doc

    def peek(self, doc_id: str) -> PreparedDocument | None:
        """The article if it is resident, without loading it or marking it used."""
        with self._lock:
            return self._docs.get(doc_id)

    def put(self, doc: PreparedDocument) -> None:
        with self._lock:
            self._docs[doc.id] = doc
            self._docs.move_to_end(doc.id)

    def discard(self, doc_id: str) -> None:
        with self._lock:
            self._docs.pop(doc_id, None)

    def trim(self) -> None:
        with self._lock:
            while len(self._docs) > self.limit:
                self._docs.popitem(last=False)

    def __iter__(self) -> Iterator[PreparedDocument]:
        with self._lock:
            return iter(list(self._docs.values()))

    def __len__(self) -> int:
        return len(self._docs)
