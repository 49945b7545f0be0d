"""The one place where errors become gRPC status codes, plus request ids, logs and load shedding.

Every handler is wrapped so that:

- a ``DedupError`` becomes its status code with its message (which says how to
  fix the input), cut to a bounded length and without internal ids
  (``dedup.wire.public_message``); anything else becomes INTERNAL with only a
  request id, and the traceback goes to the server log, never to the client;
- a request that is not a valid protobuf message of its method is INVALID_ARGUMENT
  (gRPC itself would answer INTERNAL, and on a stream that could leave the call
  unfinished, so that the server never stopped);
- each call gets a request id (the caller's ``x-request-id`` metadata, or a new
  one), sent back in the trailing metadata and written in every log line;
- when the server has tokens (``server.security.TokenTable``), a call without a
  token whose scope covers the method is UNAUTHENTICATED or PERMISSION_DENIED
  before it is admitted;
- every answered call is reported to the metrics (method, status code, seconds);
- at most ``max_inflight`` calls run at once, and of those at most
  ``max_streams`` are streaming calls (an idle stream holds a thread for as long
  as it is open); beyond either, callers get RESOURCE_EXHAUSTED at once rather
  than a hung server. Health checks (``Health/Check``) are never counted: the
  server keeps threads for them (``server.app.RESERVED_THREADS``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from dedup.errors import DedupError, InvalidArgument
from dedup.wire import public_message, shown, status_for
from server.security import TokenTable

__all__ = ["ServiceInterceptor"]

log = logging.getLogger("dedup.server")

UNCOUNTED = frozenset({"/grpc.health.v1.Health/Check"})
"""Methods never refused for load: a load balancer's health check must always get an answer."""


class _Malformed:
    """Stands in for a request message that could not be parsed, so that the handler answers it."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` that never raises: bytes it cannot parse become a ``_Malformed``."""
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:
            return _Malformed(f"{type(exc).__name__}: {exc}")

    return parse


def _checked(request: Any, method: str) -> Any:
    """``request``, or InvalidArgument if it could not be parsed."""
    if isinstance(request, _Malformed):
        name = method.rsplit("/", 1)[-1]
        raise InvalidArgument(
            f"a request message cannot be parsed as {name}'s request ({shown(request.reason)}); "
            "send the message the method's .proto defines"
        )
    return request


def _checked_stream(requests: Iterator[Any], method: str) -> Iterator[Any]:
    for request in requests:
        yield _checked(request, method)


Observer = Callable[[str, str, float], None]
"""Told of every answered call: its method, status code name and seconds."""


class ServiceInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        max_inflight: int = 64,
        max_streams: int = 16,
        tokens: TokenTable | None = None,
        observe: Observer | None = None,
    ) -> None:
        if max_inflight < 1 or max_streams < 1:
            raise ValueError("max_inflight and max_streams must be at least 1")
        self.tokens = tokens
        self.observe = observe
        self.max_inflight = max_inflight
        self.max_streams = min(max_streams, max_inflight)
        self._cond = threading.Condition()
        self._calls = 0  # counted calls running (at most max_inflight)
        self._streams = 0  # of which streaming (at most max_streams)
        self._running = 0  # every handler running, counted or not

    @property
    def running(self) -> int:
        """Handlers running now (a cancelled call's handler runs until its Python code returns)."""
        with self._cond:
            return self._running

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no handler runs, at most ``timeout`` seconds; whether none does."""
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        metadata = dict(details.invocation_metadata or ())
        counted = method not in UNCOUNTED
        parse = _tolerant(handler.request_deserializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method, metadata, counted, streaming=False),
                parse,
                handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, method, metadata, counted, streaming=True),
                parse,
                handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, method, metadata, counted, request_stream=False),
                parse,
                handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(handler.stream_stream, method, metadata, counted, request_stream=True),
            parse,
            handler.response_serializer,
        )

    # -- admission ------------------------------------------------------------------------------------

    def _enter(
        self,
        context: grpc.ServicerContext,
        method: str,
        metadata: dict[str, Any],
        counted: bool,
        streaming: bool,
    ) -> str:
        """Admit the call (or abort it with RESOURCE_EXHAUSTED); its request id."""
        request_id = str(metadata.get("x-request-id") or uuid.uuid4().hex[:16])[:64]
        context.set_trailing_metadata((("x-request-id", request_id),))
        if self.tokens is not None:
            try:
                self.tokens.check(method, metadata)
            except DedupError as exc:
                code = status_for(exc)
                log.warning("refused", extra={"request_id": request_id, "method": method, "code": code.name})
                self._report(method, code.name, 0.0)
                context.abort(code, str(exc))
        refusal = None
        with self._cond:
            if counted and self._calls >= self.max_inflight:
                refusal = f"server busy: {self.max_inflight} calls already in flight; retry with backoff"
            elif counted and streaming and self._streams >= self.max_streams:
                refusal = (
                    f"server busy: {self.max_streams} streams already open; close one, retry with backoff, "
                    "or use the unary calls (IngestDocument)"
                )
            else:
                self._calls += counted
                self._streams += counted and streaming
                self._running += 1
        if refusal is not None:
            log.warning("shed", extra={"request_id": request_id, "method": method})
            self._report(method, "RESOURCE_EXHAUSTED", 0.0)
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal)
        return request_id

    def _report(self, method: str, code: str, seconds: float) -> None:
        if self.observe is not None:
            self.observe(method, code, seconds)

    def _leave(self, counted: bool, streaming: bool) -> None:
        with self._cond:
            self._calls -= counted
            self._streams -= counted and streaming
            self._running -= 1
            self._cond.notify_all()

    # -- outcomes -------------------------------------------------------------------------------------

    def _fail(
        self, context: grpc.ServicerContext, exc: BaseException, method: str, request_id: str, started: float
    ) -> None:
        seconds = time.perf_counter() - started
        if isinstance(exc, DedupError):
            code = status_for(exc)
            log.info("rejected", extra={"request_id": request_id, "method": method, "code": code.name})
            self._report(method, code.name, seconds)
            context.abort(code, public_message(str(exc)))
        if isinstance(exc, grpc.RpcError) and not context.is_active():
            # The request stream broke: the client cancelled, its deadline passed, or the server is
            # stopping. Nobody is left to answer.
            log.info("cancelled", extra={"request_id": request_id, "method": method})
            self._report(method, "CANCELLED", seconds)
            raise exc
        self._report(method, "INTERNAL", seconds)
        log.error(
            "internal error",
            exc_info=exc,
            extra={"request_id": request_id, "method": method, "code": "INTERNAL"},
        )
        context.abort(
            grpc.StatusCode.INTERNAL, f"internal error (request id {request_id}); see the server log"
        )

    def _unary(
        self,
        behavior: Callable[..., Any],
        method: str,
        metadata: dict[str, Any],
        counted: bool,
        streaming: bool,
    ) -> Any:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            request_id = self._enter(context, method, metadata, counted, streaming)
            started = time.perf_counter()
            try:
                request = _checked_stream(request, method) if streaming else _checked(request, method)
                response = behavior(request, context)
            except Exception as exc:
                if _aborted(context):
                    raise
                self._fail(context, exc, method, request_id, started)
            finally:
                self._leave(counted, streaming)
            seconds = time.perf_counter() - started
            self._report(method, "OK", seconds)
            log.info("ok", extra={"request_id": request_id, "method": method, "ms": round(1000 * seconds, 1)})
            return response

        return wrapper

    def _streaming(
        self,
        behavior: Callable[..., Iterator[Any]],
        method: str,
        metadata: dict[str, Any],
        counted: bool,
        request_stream: bool,
    ) -> Any:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            request_id = self._enter(context, method, metadata, counted, True)
            started = time.perf_counter()
            try:
                request = _checked_stream(request, method) if request_stream else _checked(request, method)
                yield from behavior(request, context)
            except Exception as exc:
                if _aborted(context):
                    raise
                self._fail(context, exc, method, request_id, started)
            finally:
                self._leave(counted, True)
            self._report(method, "OK", time.perf_counter() - started)

        return wrapper


def _aborted(context: grpc.ServicerContext) -> bool:
    """Whether ``context.abort`` was already called (it raises, and must not be caught twice)."""
    state = getattr(context, "_state", None)
    return bool(getattr(state, "aborted", False))
