"""The one place where errors become gRPC status codes, plus request ids, logs and load shedding.

Every handler is wrapped so that:

- a ``DedupError`` becomes its status code with its message (which says how to
  fix the input); anything else becomes INTERNAL with only a request id, and
  the traceback goes to the server log, never to the client;
- each call gets a request id (the caller's ``x-request-id`` metadata, or a new
  one), sent back in the trailing metadata and written in every log line;
- at most ``max_inflight`` calls run at once; beyond that callers get
  RESOURCE_EXHAUSTED at once rather than a hung server.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from dedup.errors import DedupError
from dedup.wire import status_for

__all__ = ["ServiceInterceptor"]

log = logging.getLogger("dedup.server")

_UNLIMITED = ("/grpc.health.", "/grpc.reflection.", "/dedup.v1.DedupService/WatchClusters")


class ServiceInterceptor(grpc.ServerInterceptor):
    def __init__(self, max_inflight: int = 64) -> None:
        self.max_inflight = max_inflight
        self._slots = threading.BoundedSemaphore(max_inflight)

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        metadata = dict(details.invocation_metadata or ())
        limited = not method.startswith(_UNLIMITED)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method, metadata, limited),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, method, metadata, limited),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, method, metadata, limited),
                handler.request_deserializer,
                handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(handler.stream_stream, method, metadata, limited),
            handler.request_deserializer,
            handler.response_serializer,
        )

    def _enter(
        self, context: grpc.ServicerContext, method: str, metadata: dict[str, Any], limited: bool
    ) -> str:
        request_id = str(metadata.get("x-request-id") or uuid.uuid4().hex[:16])
        context.set_trailing_metadata((("x-request-id", request_id),))
        if limited and not self._slots.acquire(blocking=False):
            log.warning("shed", extra={"request_id": request_id, "method": method})
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"server busy: {self.max_inflight} calls already in flight; retry with backoff",
            )
        return request_id

    def _fail(self, context: grpc.ServicerContext, exc: BaseException, method: str, request_id: str) -> None:
        if isinstance(exc, DedupError):
            code = status_for(exc)
            log.info("rejected", extra={"request_id": request_id, "method": method, "code": code.name})
            context.abort(code, str(exc))
        log.error(
            "internal error",
            exc_info=exc,
            extra={"request_id": request_id, "method": method, "code": "INTERNAL"},
        )
        context.abort(
            grpc.StatusCode.INTERNAL, f"internal error (request id {request_id}); see the server log"
        )

    def _unary(
        self, behavior: Callable[..., Any], method: str, metadata: dict[str, Any], limited: bool
    ) -> Any:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            request_id = self._enter(context, method, metadata, limited)
            started = time.perf_counter()
            try:
                response = behavior(request, context)
            except Exception as exc:
                if _aborted(context):
                    raise
                self._fail(context, exc, method, request_id)
            finally:
                if limited:
                    self._slots.release()
            log.info(
                "ok",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "ms": round(1000 * (time.perf_counter() - started), 1),
                },
            )
            return response

        return wrapper

    def _streaming(
        self, behavior: Callable[..., Iterator[Any]], method: str, metadata: dict[str, Any], limited: bool
    ) -> Any:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            request_id = self._enter(context, method, metadata, limited)
            try:
                yield from behavior(request, context)
            except Exception as exc:
                if _aborted(context):
                    raise
                self._fail(context, exc, method, request_id)
            finally:
                if limited:
                    self._slots.release()

        return wrapper


def _aborted(context: grpc.ServicerContext) -> bool:
    """Whether ``context.abort`` was already called (it raises, and must not be caught twice)."""
    state = getattr(context, "_state", None)
    return bool(getattr(state, "aborted", False))
