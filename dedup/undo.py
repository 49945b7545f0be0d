"""An undo log: what one operation changed in memory, to put back when it cannot be committed.

The engine changes its in-memory state while it works out what an ingest or a delete changes (the
indexes, parents, clusters), then commits the change to the store. When the commit fails (a full disk,
another writer, a deadline before it), the log puts memory back as it was before the operation, which
is what the store still holds, without reading or writing the disk.

- ``save(mapping, key)`` before a mapping's entry changes: the entry's value then (a shallow copy of a
  list, set or dict, so that changing the value in place is undone too), or its absence, comes back.
  Only the first save of an entry counts: that is the value from before the operation.
- ``call(step)`` after any other change, with the step that undoes it (an index insert's removal).
- ``undo()`` runs the steps in reverse order; ``clear()`` forgets them once the change is committed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

__all__ = ["UndoLog"]


class UndoLog:
    """The steps that undo what an operation changed so far, newest last."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []
        self._saved: set[tuple[int, Hashable]] = set()

    def save(self, mapping: MutableMapping[Any, Any], key: Hashable) -> None:
        """Call before ``mapping[key]`` changes (is set, deleted, or its value changed in place)."""
        tag = (id(mapping), key)
        if tag in self._saved:
            return
        self._saved.add(tag)
        if key in mapping:
            value = mapping[key]
            if isinstance(value, list | set | dict):
                value = copy.copy(value)
            self._steps.append(lambda: mapping.__setitem__(key, value))
        else:
            self._steps.append(lambda: mapping.pop(key, None))

    def call(self, step: Callable[[], None]) -> None:
        """Record a change that ``step`` undoes."""
        self._steps.append(step)

    def undo(self) -> None:
        """Put back everything recorded, newest change first, and forget it."""
        steps, self._steps = self._steps, []
        self._saved.clear()
        for step in reversed(steps):
            step()

    def clear(self) -> None:
        """Forget what was recorded (the change was committed)."""
        self._steps.clear()
        self._saved.clear()

    def __len__(self) -> int:
        return len(self._steps)
