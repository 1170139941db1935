"""The start of `hubd run`: which modules it imports early, and SSL contexts without the CA file."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hubd import prefetch


def test_modules_follow_the_config_in_the_order_the_daemon_needs_them(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[api]\nport = 0\n[radios.zigbee]\npath = "/dev/x"\n'
                      '[radios.lutron]\npath = "/dev/y"\n[radios.virtual]\n')
    assert prefetch.modules_for(config) == ["radios.lutron.driver", "radios.zigbee.driver",
                                            "hubd.apiwire"]
    config.write_text("[radios.virtual]\n")
    assert prefetch.modules_for(config) == []


def test_an_unreadable_config_prefetches_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "hub.toml"
    broken.write_text("[radios.zigbee\n")
    assert prefetch.modules_for(broken) == []
    assert prefetch.modules_for(tmp_path / "missing.toml") == []
    for text in ("a = " + "[" * 3000 + "]" * 3000 + "\n", "# " + "x" * (2 << 20) + "\n",
                 "\udcff"):
        broken.write_bytes(text.encode("utf-8", "surrogateescape"))
        assert prefetch.modules_for(broken) == []  # the check says why, not the prefetch
    assert prefetch.start(broken) is None


def test_a_ca_file_the_environment_names_is_kept(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "private-ca.pem"))
    with prefetch.no_ca_bundle() as lean:
        assert not lean
        assert os.environ["SSL_CERT_FILE"] == str(tmp_path / "private-ca.pem")


def test_without_hashed_cas_the_bundle_is_loaded(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))  # empty: nothing to look CAs up in
    with prefetch.no_ca_bundle() as lean:
        assert not lean
        assert "SSL_CERT_FILE" not in os.environ


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_hash(pem: Path) -> str:
    """OpenSSL's name for the CA in a hashed directory (what c_rehash would link)."""
    return subprocess.run(["openssl", "x509", "-subject_hash", "-noout", "-in", str(pem)],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def _ca_and_server(directory: Path) -> tuple[Path, Path, Path]:
    """A CA (PEM) and a server certificate for 127.0.0.1 it signed, with the server's key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(_name("hub")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(2)
              .not_valid_before(now - datetime.timedelta(hours=1))
              .not_valid_after(now + datetime.timedelta(hours=1))
              .add_extension(x509.SubjectAlternativeName(
                  [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                  critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


async def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> None:
    listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=server)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(10):
            _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        writer.close()
    finally:
        listener.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to hash the CA")
async def test_contexts_made_meanwhile_verify_through_the_hashed_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca_path, cert_path, key_path = _ca_and_server(tmp_path)
    subject_hash = _subject_hash(ca_path)
    hashed = tmp_path / "certs"
    hashed.mkdir()
    shutil.copy(ca_path, hashed / f"{subject_hash}.0")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(hashed))
    with prefetch.no_ca_bundle() as lean:
        assert lean
        client = ssl.create_default_context()  # what aiohttp and zigpy do at import
    assert "SSL_CERT_FILE" not in os.environ
    assert client.cert_store_stats()["x509"] == 0  # no CA file was read
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    await _handshake(client, server)  # the CA was found in the directory when needed
    (hashed / f"{subject_hash}.0").unlink()
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(ssl.create_default_context(), server)


def test_run_imports_the_configured_radio_early_and_restores_the_environment(
        tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[radios.lutron]\npath = "/dev/null"\n')
    code = ("import os, sys; from pathlib import Path; from hubd import prefetch; "
            f"thread = prefetch.start(Path({str(config)!r})); thread.join(60); "
            "print('radios.lutron.driver' in sys.modules, 'zigpy' in sys.modules, "
            "os.environ.get('SSL_CERT_FILE'))")
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, env=env)
    assert out.stdout.split() == ["True", "False", "None"]
