"""Throwaway TLS material for the connector tests: one CA, a server certificate for
127.0.0.1/localhost and a client certificate, all signed by it (valid for a day)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write_pair(directory: Path, name: str, cert, key) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def make_tls_files(directory: Path) -> TlsFiles:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(subject: str, issuer_name, signing_key, *, ca: bool, sans=(), usage=None):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(issuer_name
                                or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False), critical=True)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return builder.sign(signing_key or key, hashes.SHA256()), key

    ca_cert, ca_key = issue("aisle test CA", None, None, ca=True)
    server_cert, server_key = issue(
        "127.0.0.1", ca_cert.subject, ca_key, ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=(x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")))
    client_cert, client_key = issue("aisle-client", ca_cert.subject, ca_key, ca=False,
                                    usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    ca_path, _ = _write_pair(directory, "ca", ca_cert, ca_key)
    server_paths = _write_pair(directory, "server", server_cert, server_key)
    client_paths = _write_pair(directory, "client", client_cert, client_key)
    return TlsFiles(ca_path, *server_paths, *client_paths)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))
