"""The hub's LAN certificate: self-signed EC P-256, CN = hub id, made once; its SPKI pin.

Apps cannot check a self-signed certificate against a CA, so they pin the SHA-256 of its
SubjectPublicKeyInfo (as HPKP did, RFC 7469 §2.4): ``hubctl info`` shows it, mDNS announces
it, and a new certificate over the same key keeps the pin.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hubd.core.errors import ConfigError

VALID_DAYS = 3650


@dataclass(frozen=True, slots=True)
class HubCertificate:
    """Where the certificate and key are, and the pin apps check."""

    cert_path: Path
    key_path: Path
    pin_sha256: str  # hex of SHA-256(SubjectPublicKeyInfo DER)

    def server_context(self) -> ssl.SSLContext:
        """A server TLS context: TLS 1.2 or later, this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def spki_pin(cert_der: bytes) -> str:
    """The hex SHA-256 of a DER certificate's SubjectPublicKeyInfo."""
    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def ensure_certificate(directory: Path, hub_id: str, addresses: Iterable[str]) -> HubCertificate:
    """Load the hub's certificate from directory, or make it (and its key, 0600) the first time."""
    cert_path, key_path = directory / "hub.crt", directory / "hub.key"
    try:
        if not (cert_path.exists() and key_path.exists()):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _make(cert_path, key_path, hub_id, addresses)
        der = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(
            serialization.Encoding.DER)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot make or read the hub certificate: {exc}",
                          file=str(cert_path)) from exc
    return HubCertificate(cert_path, key_path, spki_pin(der))


def _make(cert_path: Path, key_path: Path, hub_id: str, addresses: Iterable[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hub_id)])
    alt: list[x509.GeneralName] = [x509.DNSName(f"{hub_id}.local"), x509.DNSName("localhost")]
    for address in sorted(set(addresses)):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            continue
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # The key is created 0600 from the first byte, never chmod-ed after being written.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
