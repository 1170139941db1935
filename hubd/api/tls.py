"""The hub's LAN certificate: self-signed EC P-256, CN = hub id, made once; its SPKI pin.

Apps cannot check a self-signed certificate against a CA, so they pin the SHA-256 of its
SubjectPublicKeyInfo (as HPKP did, RFC 7469 §2.4): ``hubctl info`` shows it, mDNS announces
it, and a new certificate over the same key keeps the pin.

Every start reads the certificate and its pin; only the first start makes them. The pin is read
from the DER by walking the certificate's outer fields (RFC 5280 §4.1), so that a start imports
no X.509 library: cryptography's x509 is loaded only to make a certificate (~3 MiB, ~40 ms).
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

from hubd.core.errors import ConfigError, InvalidValueError

VALID_DAYS = 3650


@dataclass(frozen=True, slots=True)
class HubCertificate:
    """Where the certificate and key are, and the pin apps check."""

    cert_path: Path
    key_path: Path
    pin_sha256: str  # hex of SHA-256(SubjectPublicKeyInfo DER)

    def server_context(self) -> ssl.SSLContext:
        """A server TLS context: TLS 1.2 or later, this certificate."""
        # Not create_default_context(CLIENT_AUTH): that loads the system's CA bundle (~1 MiB,
        # tens of ms) to check client certificates, and the LAN API asks for none (bearer
        # tokens). PROTOCOL_TLS_SERVER has the same secure defaults otherwise.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def spki_pin(cert_der: bytes) -> str:
    """The hex SHA-256 of a DER certificate's SubjectPublicKeyInfo."""
    return hashlib.sha256(_spki_der(cert_der)).hexdigest()


def _der_element(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the DER element at ``at`` (X.690 §8.1: definite
    lengths only, as DER requires); InvalidValueError if it overruns ``der``."""
    if at + 2 > len(der):
        raise InvalidValueError("truncated DER")
    tag, length, start = der[at], der[at + 1], at + 2
    if length & 0x80:  # long form: the low bits count the length's own bytes
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise InvalidValueError("bad DER length")
        length, start = int.from_bytes(der[start:start + count], "big"), start + count
    if start + length > len(der):
        raise InvalidValueError("truncated DER")
    return tag, start, start + length


_SEQUENCE, _VERSION = 0x30, 0xA0


def _spki_der(cert_der: bytes) -> bytes:
    """The SubjectPublicKeyInfo element of a certificate (RFC 5280 §4.1: Certificate ::=
    SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
    validity, subject, subjectPublicKeyInfo, ... }, ... })."""
    at = 0
    for _ in range(2):  # into Certificate, then into tbsCertificate
        tag, at, _ = _der_element(cert_der, at)
        if tag != _SEQUENCE:
            raise InvalidValueError("not a DER certificate")
    tag, _, _ = _der_element(cert_der, at)
    for _ in range(6 if tag == _VERSION else 5):  # [version], serialNumber ... subject
        _, _, at = _der_element(cert_der, at)
    tag, _, end = _der_element(cert_der, at)
    if tag != _SEQUENCE:
        raise InvalidValueError("no SubjectPublicKeyInfo in the certificate")
    return cert_der[at:end]


def ensure_certificate(directory: Path, hub_id: str, addresses: Iterable[str]) -> HubCertificate:
    """Load the hub's certificate from directory, or make it (and its key, 0600) the first time."""
    cert_path, key_path = directory / "hub.crt", directory / "hub.key"
    try:
        if not (cert_path.exists() and key_path.exists()):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _make(cert_path, key_path, hub_id, addresses)
        der = ssl.PEM_cert_to_DER_cert(cert_path.read_text(encoding="ascii"))
        pin = spki_pin(der)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot make or read the hub certificate: {exc}",
                          file=str(cert_path)) from exc
    return HubCertificate(cert_path, key_path, pin)


def _make(cert_path: Path, key_path: Path, hub_id: str, addresses: Iterable[str]) -> None:
    from cryptography import x509  # only the first start makes a certificate
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

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
