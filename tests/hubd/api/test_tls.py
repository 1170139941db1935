"""The hub certificate: made once, EC P-256, CN = hub id, key 0600, pin = SPKI SHA-256; TLS 1.2+
only; plain HTTP only on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hubd.api.tls import ensure_certificate, spki_pin
from hubd.config import parse_config
from hubd.core.errors import ConfigError
from tests.hubd.api.conftest import RunningHub, client_ssl


def test_the_certificate_is_made_once_with_its_key_private(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path / "api", "hub-0123456789", ["192.0.2.7"])
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert_path.read_bytes())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == "hub-0123456789"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "hub-0123456789.local" in san.get_values_for_type(x509.DNSName)
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.7"]
    again = ensure_certificate(tmp_path / "api", "hub-0123456789", [])
    assert again.pin_sha256 == first.pin_sha256
    assert again.cert_path.read_bytes() == first.cert_path.read_bytes()


async def _peer_cert(url: str, context: ssl.SSLContext) -> bytes:
    parts = urlsplit(url)
    _, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=context)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        assert isinstance(der, bytes)
        return der
    finally:
        writer.close()


async def test_the_served_certificate_matches_the_pin_in_info(hub: RunningHub) -> None:
    _, info, _ = await hub.call("GET", "/info")
    der = await _peer_cert(hub.url, client_ssl())
    assert spki_pin(der) == info["pin_sha256"]


async def test_tls_below_1_2_is_refused(hub: RunningHub) -> None:
    old = client_ssl()
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with pytest.warns(DeprecationWarning):  # as it should be
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await _peer_cert(hub.url, old)


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config('[api]\nhost = "0.0.0.0"\nis_tls = false\n', "hub.toml")
    assert "loopback" in str(error.value) and error.value.line is not None
    config = parse_config('[api]\nhost = "127.0.0.1"\nis_tls = false\n', "hub.toml")
    assert config.api is not None and not config.api.is_tls


def test_the_pin_read_from_the_der_is_the_spki_hash_cryptography_computes(
        tmp_path: Path) -> None:
    """The start reads the pin without an X.509 library: it must match one that parses fully."""
    made = ensure_certificate(tmp_path / "api", "hub-0123456789", ["192.0.2.7", "::1"])
    cert = x509.load_pem_x509_certificate(made.cert_path.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert made.pin_sha256 == hashlib.sha256(spki).hexdigest()
    der = cert.public_bytes(serialization.Encoding.DER)
    assert spki_pin(der) == made.pin_sha256
    for broken in (b"", der[:40], b"\x04\x03abc" + der[5:]):
        with pytest.raises(ValueError):
            spki_pin(broken)


def test_a_damaged_certificate_file_is_a_config_error(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path / "api", "hub-0123456789", [])
    made.cert_path.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError):
        ensure_certificate(tmp_path / "api", "hub-0123456789", [])
