"""The gRPC service dedup.v1: a thin adapter over ``dedup.engine.Engine``.

``dedup.wire`` turns protobuf into domain objects and back (the client shares
it), ``servicer`` calls the engine, ``interceptor`` maps domain errors to
status codes (one place), and ``app`` builds and runs the server with health
checking and reflection.
"""

from server.app import build_server, serve

__all__ = ["build_server", "serve"]
