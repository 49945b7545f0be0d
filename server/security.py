"""Who may call the service: TLS (and mutual TLS) credentials, and bearer tokens with scopes.

A token file holds one token a line with its scope, ``read`` or ``write``::

    # comments and blank lines are skipped
    read   5f2b9c0e8d7a41b3a6c1e0f9d8b7a6c5
    write  0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a

A ``read`` token may call the lookups (FindSimilar, GetDocument, GetCluster,
ListClusters, GetLineage, WatchClusters) and server reflection; a ``write``
token may call everything, ingest and delete included. Health checks need no
token: load balancers probe without one. Calls carry the token as gRPC
metadata, ``authorization: Bearer <token>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import grpc

from dedup.errors import PermissionDenied, ServeError, Unauthenticated

__all__ = ["MIN_TOKEN_LENGTH", "Scope", "TlsFiles", "TokenTable", "required_scope"]

MIN_TOKEN_LENGTH = 16
"""Characters a token must have at least: a short one could be guessed."""

SERVICE = "/dedup.v1.DedupService/"
WRITE_METHODS = frozenset(
    {"IngestDocument", "StreamIngestDocuments", "BatchIngestDocuments", "DeleteDocument"}
)
"""DedupService methods that change the store: they need a ``write`` token."""

OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})
"""Methods anyone may call: a load balancer's health probe carries no token."""


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


def required_scope(method: str) -> Scope | None:
    """The scope ``method`` (a full gRPC method path) needs; None for the open ones. Anything that is
    not a known write (lookups, reflection, methods added later) needs at least ``read``."""
    if method in OPEN_METHODS:
        return None
    if method.startswith(SERVICE) and method[len(SERVICE) :] in WRITE_METHODS:
        return Scope.WRITE
    return Scope.READ


@dataclass(frozen=True)
class TokenTable:
    """Tokens by their SHA-256 digest (the tokens themselves are not kept), each with its scope."""

    scopes: Mapping[bytes, Scope]

    @staticmethod
    def _digest(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8")).digest()

    @classmethod
    def load(cls, path: str | Path) -> TokenTable:
        """Read a token file (see the module's docstring); ServeError naming the file and line for a
        line that is not ``SCOPE TOKEN``, an unknown scope, a short token or a token given twice."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ServeError(f"cannot read the token file {p}: {exc}") from None
        scopes: dict[bytes, Scope] = {}
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            where = f"{p}:{n}"
            if len(parts) != 2:
                raise ServeError(f"{where}: write one token a line as SCOPE TOKEN (scope read or write)")
            scope_name, token = parts
            if scope_name not in {s.value for s in Scope}:
                raise ServeError(f"{where}: unknown scope {scope_name!r}; use read or write")
            if len(token) < MIN_TOKEN_LENGTH:
                raise ServeError(
                    f"{where}: a token needs at least {MIN_TOKEN_LENGTH} characters "
                    "(make one with: python -c 'import secrets; print(secrets.token_hex(16))')"
                )
            digest = cls._digest(token)
            if digest in scopes:
                raise ServeError(f"{where}: this token is given twice")
            scopes[digest] = Scope(scope_name)
        if not scopes:
            raise ServeError(f"{p}: no tokens in the file; write one a line as SCOPE TOKEN")
        return cls(scopes)

    def check(self, method: str, metadata: Mapping[str, str | bytes]) -> None:
        """Raise Unauthenticated or PermissionDenied unless the call's bearer token covers ``method``."""
        needed = required_scope(method)
        if needed is None:
            return
        header = metadata.get("authorization")
        if isinstance(header, bytes):
            header = header.decode("utf-8", "replace")
        if not header:
            raise Unauthenticated(
                "this server needs a token: send it as metadata 'authorization: Bearer <token>' "
                "(dedup's client and command line: --token)"
            )
        kind, _, token = header.strip().partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the authorization metadata must be 'Bearer <token>'")
        digest = self._digest(token.strip())
        scope = next((s for d, s in self.scopes.items() if hmac.compare_digest(d, digest)), None)
        if scope is None:
            raise Unauthenticated("this token is not known to the server; check it, or ask for one")
        if needed is Scope.WRITE and scope is not Scope.WRITE:
            name = method.rsplit("/", 1)[-1]
            raise PermissionDenied(
                f"{name} changes the store and needs a write token; this one may only read"
            )


@dataclass(frozen=True)
class TlsFiles:
    """The server's certificate chain and key (PEM), and for mutual TLS the CA its clients' certificates
    must be signed by."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials; ServeError naming the file that cannot be read."""

        def read(path: Path, what: str) -> bytes:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ServeError(f"cannot read the {what} {path}: {exc.strerror}") from None
            if b"-----BEGIN" not in data:
                raise ServeError(f"the {what} {path} is not PEM (it has no -----BEGIN line)")
            return data

        cert = read(self.cert, "TLS certificate (--tls-cert)")
        key = read(self.key, "TLS key (--tls-key)")
        ca = read(self.client_ca, "client CA (--tls-client-ca)") if self.client_ca else None
        return grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
        )
