"""Certificates for trying TLS out: a certificate authority of one's own, a server certificate for
localhost and 127.0.0.1, and client certificates (for mutual TLS) from the server's CA's sibling and
from a stranger's. The tests and ``benchmarks/service_speed.py --tls`` use them; nothing here is for
production, where certificates come from the operator's own CA.

Needs ``cryptography`` (in the ``dev`` extra)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Pki", "make_pki"]


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_ca: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(
    path: Path, cert: x509.Certificate | None = None, key: ec.EllipticCurvePrivateKey | None = None
) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        assert key is not None
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer[1], hashes.SHA256()), key


def make_pki(folder: Path) -> Pki:
    """Write a fresh set of keys and certificates (valid for a day) into ``folder``."""
    server_ca, client_ca, other_ca = _ca("test server CA"), _ca("test client CA"), _ca("someone else's CA")
    server = _leaf("dedup test server", server_ca, server=True)
    client = _leaf("ingest system", client_ca, server=False)
    stranger = _leaf("a stranger", other_ca, server=False)
    d = folder
    return Pki(
        ca=_write(d / "ca.pem", server_ca[0]),
        server_cert=_write(d / "server.pem", server[0]),
        server_key=_write(d / "server.key", key=server[1]),
        client_ca=_write(d / "client-ca.pem", client_ca[0]),
        client_cert=_write(d / "client.pem", client[0]),
        client_key=_write(d / "client.key", key=client[1]),
        stranger_cert=_write(d / "stranger.pem", stranger[0]),
        stranger_key=_write(d / "stranger.key", key=stranger[1]),
    )
