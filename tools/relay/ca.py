"""The relay's development CA: hub client certificates by claim, and the relay's server cert.

``hubd-relay ca init DIR`` makes a CA (EC P-256) and a server certificate for the relay signed by
it; ``hubd-relay claim DIR`` mints a one-time claim token bound to a hub id. Provisioning redeems
the token with the hub's CSR: the CA signs the CSR's key with the token's hub id as the subject,
whatever the CSR asked for, so a hub cannot pick its own id. Tokens are kept only as SHA-256
hashes. Nothing here is secret in the repository: every run makes its own CA.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hubd.core.errors import HubError
from hubd.tunnel.identity import write_atomically


class ClaimError(HubError):
    """A claim token is unknown, used already, or expired; or a CSR is unacceptable."""


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA key and certificate, and the directory they live in."""

    directory: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> str:
        """The CA certificate (hubs trust it for the relay's server certificate)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def server_cert_path(self) -> Path:
        """The relay's server certificate."""
        return self.directory / "server.crt"

    @property
    def server_key_path(self) -> Path:
        """The relay's server key."""
        return self.directory / "server.key"

    @property
    def ca_path(self) -> Path:
        """The CA certificate file."""
        return self.directory / "ca.crt"

    @classmethod
    def init(cls, directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
             days: int = 3650) -> CertificateAuthority:
        """Make a new CA and a server certificate for hosts in directory."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = _name(f"hubd development CA {secrets.token_hex(4)}")
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
        write_atomically(directory / "ca.key", _key_pem(key), 0o600)
        write_atomically(directory / "ca.crt",
                         certificate.public_bytes(serialization.Encoding.PEM))
        ca = cls(directory, key, certificate)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = ca.sign(server_key.public_key(), hosts[0], days=days, hosts=hosts)
        write_atomically(ca.server_key_path, _key_pem(server_key), 0o600)
        write_atomically(ca.server_cert_path, server.public_bytes(serialization.Encoding.PEM))
        return ca

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        """The CA that ``init`` made in directory."""
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ClaimError(f"{directory}/ca.key: not an EC key")
        certificate = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        return cls(directory, key, certificate)

    def sign(self, public_key: ec.EllipticCurvePublicKey, common_name: str, *, days: float,
             hosts: tuple[str, ...] = (), not_before: datetime.datetime | None = None
             ) -> x509.Certificate:
        """A certificate for a hub (no hosts: client auth) or a server (hosts: server auth)."""
        now = datetime.datetime.now(datetime.UTC)
        start = not_before or now - datetime.timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(self.certificate.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if hosts:
            names: list[x509.GeneralName] = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
            usage = ExtendedKeyUsageOID.SERVER_AUTH
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def sign_csr(self, csr_pem: str, hub_id: str, days: float = 90.0) -> str:
        """Sign a hub's CSR for hub_id (the CSR's own subject is ignored); PEM."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as exc:
            raise ClaimError(f"not a CSR: {exc}") from None
        if not csr.is_signature_valid:
            raise ClaimError("the CSR's signature does not match its key")
        key = csr.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ClaimError("hub keys must be EC P-256")
        certificate = self.sign(key, hub_id, days=days)
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


class ClaimBook:
    """One-time claim tokens, each bound to a hub id, kept hashed in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def issue(self, hub_id: str | None = None, ttl_s: float = 7 * 24 * 3600.0) -> tuple[str, str]:
        """A new token and the hub id it provisions (a fresh one when none is given)."""
        hub_id = hub_id or f"hub-{secrets.token_hex(6)}"
        token = secrets.token_urlsafe(24)
        claims = self._load()
        claims[_hash(token)] = {"hub_id": hub_id,
                                "expires": datetime.datetime.now(datetime.UTC).timestamp()
                                + ttl_s}
        write_atomically(self.path, json.dumps(claims, indent=1).encode(), 0o600)
        return token, hub_id

    def redeem(self, token: str) -> str:
        """The hub id of a token, which can never be used again."""
        claims = self._load()
        claim = claims.pop(_hash(token), None)
        if claim is None:
            raise ClaimError("unknown or already used claim token")
        write_atomically(self.path, json.dumps(claims, indent=1).encode(), 0o600)
        expires = claim.get("expires")
        if not isinstance(expires, int | float) or expires < datetime.datetime.now(
                datetime.UTC).timestamp():
            raise ClaimError("the claim token has expired")
        return str(claim["hub_id"])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()



def server_context(ca: CertificateAuthority, *, require_client: bool) -> ssl.SSLContext:
    """TLS 1.3 with the relay's server certificate; hubs must show a certificate of our CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(ca.server_cert_path, ca.server_key_path)
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=ca.ca_path)
    return context
