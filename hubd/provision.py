"""First-boot provisioning: the hub's identity on the data partition, made once, before hubd starts.

``hubd provision`` (hubd-provision.service) makes, in the identity directory (``/data/identity``
on the image, owned by hubd, mode 0700):

    device.key    the hub's ed25519 private key, PKCS#8 PEM, mode 0600; never leaves the hub
    hub-id        ``hub-`` + 10 hex digits of SHA-256 of the public key: stable, checkable
    setup-code    8 random digits for pairing the phone app (printed on the hub's label)

It is idempotent: it never replaces a file that exists (a reflashed root slot keeps the identity
on the data partition) and fills in only what is missing, so a power cut halfway is finished by the
next boot. Each file is written to a temporary name, fsynced and renamed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hubd.core.errors import HubError

if TYPE_CHECKING:  # imported where a key is made or read: hubd's start only reads the files
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SETUP_CODE_DIGITS = 8


class ProvisionError(HubError):
    """The identity directory holds something that is not a usable identity."""


@dataclass(frozen=True, slots=True)
class HubIdentity:
    """What provisioning made (or found)."""

    hub_id: str
    setup_code: str
    key_path: Path
    created: tuple[str, ...]


def _write_new(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def hub_id_of(key: Ed25519PrivateKey) -> str:
    """The hub id that belongs to a device key."""
    raw = key.public_key().public_bytes_raw()
    return "hub-" + hashlib.sha256(raw).hexdigest()[:10]


def read_identity(directory: Path) -> HubIdentity | None:
    """The identity provisioning made in directory, without making anything; None if absent."""
    try:
        hub_id = (directory / "hub-id").read_text().strip()
        setup_code = (directory / "setup-code").read_text().strip()
    except FileNotFoundError:
        return None
    return HubIdentity(hub_id, setup_code, directory / "device.key", ())


def provision(directory: Path) -> HubIdentity:
    """Make whatever part of the identity is missing in directory; return the identity."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = []
    key_path = directory / "device.key"
    if key_path.exists():
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except ValueError as exc:
            raise ProvisionError(f"{key_path} is not a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ProvisionError(f"{key_path} is not an ed25519 key")
    else:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _write_new(key_path, pem, 0o600)
        created.append("device.key")
    hub_id = hub_id_of(key)
    id_path = directory / "hub-id"
    if not id_path.exists() or id_path.read_text().strip() != hub_id:
        # The id is derived from the key: rewrite it if it is missing or does not match.
        _write_new(id_path, f"{hub_id}\n".encode(), 0o644)
        created.append("hub-id")
    code_path = directory / "setup-code"
    if code_path.exists():
        setup_code = code_path.read_text().strip()
    else:
        setup_code = "".join(secrets.choice("0123456789") for _ in range(SETUP_CODE_DIGITS))
        _write_new(code_path, f"{setup_code}\n".encode(), 0o600)
        created.append("setup-code")
    if created:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return HubIdentity(hub_id, setup_code, key_path, tuple(created))
