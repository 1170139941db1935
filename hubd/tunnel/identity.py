"""The hub's identity for the tunnel: its EC P-256 key, its client certificate, the relay's CA.

The key is made on the hub at first start and never leaves it (mode 0600 in the state
directory). Provisioning by claim sends a CSR; the relay's CA signs it with the hub id bound to the
claim token, so the hub id is whatever the certificate says (the relay reads it from the verified
certificate, never from a payload). Files are written to a temporary name, fsynced and renamed,
so a crash leaves the old file or the new one, never half of one. Everything here blocks (files,
key generation): the daemon calls it in a thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hubd.core.errors import HubError


class IdentityError(HubError):
    """The hub has no usable identity (not provisioned, or its files are damaged)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the relay said to connect, and who it said the hub is."""

    url: str
    hub_id: str


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file so that a crash leaves either the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Identity:
    """The files of the hub's tunnel identity, in one directory of the state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key_path = directory / "hub.key"
        self.cert_path = directory / "hub.crt"
        self.ca_path = directory / "relay-ca.crt"
        self.endpoint_path = directory / "endpoint.json"

    def ensure_key(self) -> ec.EllipticCurvePrivateKey:
        """The hub's private key, made now (0600) if there is none yet."""
        if not self.key_path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            write_atomically(self.key_path, pem, 0o600)
            return key
        loaded = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise IdentityError(f"{self.key_path}: not an EC key")
        return loaded

    def csr_pem(self, name: str = "hubd") -> str:
        """A certificate signing request for the hub's key (the CA chooses the hub id)."""
        key = self.ensure_key()
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .sign(key, hashes.SHA256()))
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def store(self, certificate_pem: str, ca_pem: str | None = None,
              endpoint: Endpoint | None = None) -> None:
        """Keep a signed certificate (and the CA and endpoint the relay gave, if any)."""
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        public = self.ensure_key().public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if certificate.public_key().public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo) != public:
            raise IdentityError("the certificate is not for this hub's key")
        if ca_pem is not None:
            x509.load_pem_x509_certificate(ca_pem.encode())  # refuse garbage before writing
            write_atomically(self.ca_path, ca_pem.encode())
        write_atomically(self.cert_path, certificate_pem.encode())
        if endpoint is not None:
            write_atomically(self.endpoint_path, json.dumps(
                {"url": endpoint.url, "hub_id": endpoint.hub_id}).encode())

    def is_provisioned(self) -> bool:
        """Whether the hub has a key, a certificate and the relay's CA."""
        return all(p.exists() for p in (self.key_path, self.cert_path, self.ca_path))

    def certificate(self) -> x509.Certificate:
        """The hub's client certificate."""
        try:
            return x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise IdentityError(f"{self.cert_path}: {exc}; provision the hub: "
                                "hubd tunnel provision --relay URL --claim TOKEN") from exc

    def hub_id(self) -> str:
        """The hub id the CA put in the certificate."""
        names = self.certificate().subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not names:
            raise IdentityError(f"{self.cert_path}: no common name")
        return str(names[0].value)

    def not_after(self) -> float:
        """When the certificate expires (epoch seconds)."""
        return self.certificate().not_valid_after_utc.timestamp()

    def endpoint(self) -> Endpoint | None:
        """The relay URL provisioning stored, if any."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(self.endpoint_path.read_text())
            return Endpoint(str(data["url"]), str(data["hub_id"]))
        return None

    def check(self, now: float) -> None:
        """Raise IdentityError when the relay would refuse our certificate: out of its dates or
        not signed by the relay's CA (in TLS 1.3 the relay's refusal reaches us only as a
        closed socket, so we look ourselves, and say why)."""
        certificate = self.certificate()
        if now < certificate.not_valid_before_utc.timestamp():
            raise IdentityError(f"{self.cert_path}: not valid before "
                                f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
        if now > certificate.not_valid_after_utc.timestamp():
            raise IdentityError(f"{self.cert_path}: expired "
                                f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; provision "
                                "the hub again")
        try:
            ca = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
            certificate.verify_directly_issued_by(ca)
        except (OSError, ValueError, TypeError, InvalidSignature) as exc:
            raise IdentityError(f"{self.cert_path}: not issued by the relay's CA "
                                f"({exc or type(exc).__name__}); provision the hub again"
                                ) from exc

    def client_context(self) -> ssl.SSLContext:
        """TLS 1.3, our certificate and key, and only the relay's CA trusted."""
        if not self.is_provisioned():
            raise IdentityError(f"{self.directory}: the hub is not provisioned; run "
                                "hubd tunnel provision --relay URL --claim TOKEN")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        try:
            context.load_cert_chain(self.cert_path, self.key_path)
            context.load_verify_locations(cafile=self.ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise IdentityError(f"{self.directory}: cannot load the tunnel identity: {exc}"
                                ) from exc
        return context

