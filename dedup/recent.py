"""A bounded cache of what was read last: the parts that read a shared store keep a few of its answers."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

__all__ = ["Recent"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class Recent(OrderedDict[_K, _V]):
    """What was read last, at most ``limit`` items: the least recently used go first."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: _K, value: _V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)

    def hit(self, key: _K) -> bool:
        """Whether ``key`` is kept (then it becomes the most recently used)."""
        if key in self:
            self.move_to_end(key)
            return True
        return False
