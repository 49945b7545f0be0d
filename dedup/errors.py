"""Every error dedup raises on purpose, in one place.

Each carries a message that says what was wrong and how to fix it. The CLI maps
them to exit status 2; the gRPC service maps them to status codes in one
interceptor. Nothing else in the code base should invent its own error types.
"""

from __future__ import annotations

__all__ = [
    "Aborted",
    "ConfigError",
    "DeadlineExceeded",
    "DedupError",
    "FailedPrecondition",
    "InputError",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "ServeError",
    "Unauthenticated",
    "Unavailable",
]


class DedupError(Exception):
    """Base class of all of dedup's own errors."""


class InvalidArgument(DedupError):
    """A caller's value is unusable (empty text, an over-long id, a bad token...)."""


class InputError(InvalidArgument):
    """An input file cannot be read as articles. Names the file and, where known, the line."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class ConfigError(InvalidArgument):
    """A configuration file or value is wrong (unknown key, wrong type, out of range)."""


class NotFound(DedupError):
    """A document or cluster id is not known."""


class OutOfRange(DedupError):
    """A position asked for is outside what is kept: a watch cursor (``after_sequence``) whose following
    events are no longer kept, or above the last event issued. The message names the range kept."""


class ResourceExhausted(DedupError):
    """Too much work is in flight, or the disk is full; the message says which and what to do."""


class Aborted(DedupError):
    """Another writer changed the stored data while this operation ran (two processes on one database);
    nothing of the operation was stored, and retrying it is safe."""


class FailedPrecondition(DedupError):
    """The shared state is not in the state this process needs to write to it (the article indexes
    beside it were rebuilt with other settings by another process); nothing was stored, and retrying
    does not help until the process is restarted as the message says."""


class DeadlineExceeded(DedupError):
    """The caller's deadline passed before the work could be done."""


class Unavailable(DedupError):
    """The service cannot be reached or is shutting down; retry later."""


class ServeError(DedupError):
    """``dedup serve`` cannot start: its data directory is held by another server, or its port is
    taken. Raised before the model loads; the command line prints it on one line, exit status 2."""


class Unauthenticated(DedupError):
    """The server wants a bearer token and the call carried none it knows."""


class PermissionDenied(DedupError):
    """The call's token is known but its scope does not cover the method (a read token deleting)."""


class Internal(DedupError):
    """The service failed in a way the caller cannot fix; the message carries a request id for the logs."""
