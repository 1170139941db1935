"""The update bundle: a signed manifest followed by the root filesystem image it describes.

Layout (all integers big-endian)::

    magic          8 bytes   b"HUBDUPD1"
    manifest_len   u32       at most MAX_MANIFEST_BYTES
    manifest       JSON      {"format": 1, "version", "board", "size", "sha256", "min_version"}
    sig_count      u8        1..MAX_SIGNATURES
    signatures     sig_count x (key id: 8 bytes, ed25519 signature: 64 bytes)
    payload        size bytes: the raw ext4 image of a root slot

Each signature is ed25519 over ``SIGNING_CONTEXT + manifest`` (the exact bytes, never a
re-encoding). A key id is the first 8 bytes of SHA-256 of the raw 32-byte public key. A bundle may
carry several signatures so that one release is accepted both by hubs that trust only the old key
and by hubs that already trust the new one (key rotation). The manifest's SHA-256 covers the
payload, so the signature covers the whole image.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hubd.core.errors import BundleRejectedError

MAGIC = b"HUBDUPD1"
FORMAT = 1
SIGNING_CONTEXT = b"hubd-update-manifest-v1\0"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_SIGNATURES = 8
KEY_ID_BYTES = 8
SIGNATURE_BYTES = 64


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A release version: dotted non-negative integers, compared numerically (1.10 > 1.9)."""

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"1.2.3"`` → Version((1, 2, 3)); anything else is a rejected bundle."""
        pieces = text.split(".")
        if not text or not all(p.isdigit() and p.isascii() for p in pieces):
            raise BundleRejectedError(f"version {text!r} is not dotted numbers like 1.2.3")
        # Trailing zeros do not make a version newer: 1.2 == 1.2.0.
        parts = [int(p) for p in pieces]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return cls(tuple(parts))

    def __str__(self) -> str:
        return ".".join(map(str, self.parts))


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a bundle promises: its version, the board it fits, and its payload's size and hash."""

    version: Version
    board: str
    size: int
    sha256: str
    # Once a hub marks this version good it refuses anything older than this (anti-rollback).
    min_version: Version

    def to_json(self) -> bytes:
        """The exact bytes that get signed."""
        return json.dumps({"format": FORMAT, "version": str(self.version), "board": self.board,
                           "size": self.size, "sha256": self.sha256,
                           "min_version": str(self.min_version)}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse signed manifest bytes; a missing or ill-typed field rejects the bundle."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleRejectedError(f"manifest is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BundleRejectedError(f"manifest format is not {FORMAT}")
        fields = {"version": str, "board": str, "size": int, "sha256": str, "min_version": str}
        for name, kind in fields.items():
            if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
                raise BundleRejectedError(f"manifest field {name!r} missing or not {kind.__name__}")
        digest = data["sha256"]
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise BundleRejectedError("manifest sha256 is not 64 lowercase hex digits")
        if data["size"] <= 0:
            raise BundleRejectedError("manifest size must be positive")
        return cls(Version.parse(data["version"]), data["board"], data["size"], digest,
                   Version.parse(data["min_version"]))


def key_id(public: Ed25519PublicKey) -> bytes:
    """The 8-byte id that names a public key inside a bundle."""
    return hashlib.sha256(public.public_bytes_raw()).digest()[:KEY_ID_BYTES]


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key written as 64 hex digits (the raw 32 bytes), as `tools/release keygen` does."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))
    except ValueError as exc:
        raise BundleRejectedError(f"not an ed25519 public key in hex: {exc}") from exc


def load_trusted_keys(directory: Path) -> dict[bytes, Ed25519PublicKey]:
    """Every ``*.pub`` in directory, by key id: the keys this hub accepts (rotate by editing it)."""
    keys = {}
    for path in sorted(directory.glob("*.pub")):
        public = load_public_key(path.read_text())
        keys[key_id(public)] = public
    return keys


@dataclass(frozen=True, slots=True)
class Header:
    """A bundle's manifest with the raw bytes its signatures cover, and where the payload starts."""

    manifest: Manifest
    manifest_bytes: bytes
    signatures: tuple[tuple[bytes, bytes], ...]
    payload_offset: int


def _read_exactly(stream: BinaryIO, count: int, what: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise BundleRejectedError(f"bundle ends inside its {what}")
    return data


def header_length(prefix: bytes) -> int | None:
    """How many bytes the header that prefix begins takes, once prefix tells (else None).

    A manifest length over the limit gives the 12 bytes that let read_header refuse it."""
    fixed = len(MAGIC) + 4
    if len(prefix) < fixed:
        return None
    length = int.from_bytes(prefix[len(MAGIC):fixed], "big")
    if length > MAX_MANIFEST_BYTES:
        return fixed
    count_at = fixed + length
    if len(prefix) <= count_at:
        return None
    return count_at + 1 + prefix[count_at] * (KEY_ID_BYTES + SIGNATURE_BYTES)


def read_header(stream: BinaryIO) -> Header:
    """Read magic, manifest and signatures, leaving stream at the payload; verifies nothing."""
    if _read_exactly(stream, len(MAGIC), "magic") != MAGIC:
        raise BundleRejectedError("not a hubd update bundle (bad magic)")
    (length,) = struct.unpack(">I", _read_exactly(stream, 4, "manifest length"))
    if length > MAX_MANIFEST_BYTES:
        raise BundleRejectedError(f"manifest of {length} bytes is over {MAX_MANIFEST_BYTES}")
    raw = _read_exactly(stream, length, "manifest")
    count = _read_exactly(stream, 1, "signature count")[0]
    if not 1 <= count <= MAX_SIGNATURES:
        raise BundleRejectedError(f"bundle carries {count} signatures (1..{MAX_SIGNATURES})")
    signatures = []
    for _ in range(count):
        entry = _read_exactly(stream, KEY_ID_BYTES + SIGNATURE_BYTES, "signatures")
        signatures.append((entry[:KEY_ID_BYTES], entry[KEY_ID_BYTES:]))
    offset = len(MAGIC) + 4 + length + 1 + count * (KEY_ID_BYTES + SIGNATURE_BYTES)
    return Header(Manifest.from_json(raw), raw, tuple(signatures), offset)


def verify_header(header: Header, trusted: Mapping[bytes, Ed25519PublicKey]) -> bytes:
    """The id of a trusted key whose signature holds; otherwise the bundle is rejected."""
    for kid, signature in header.signatures:
        public = trusted.get(kid)
        if public is None:
            continue
        try:
            public.verify(signature, SIGNING_CONTEXT + header.manifest_bytes)
        except InvalidSignature:
            continue
        return kid
    known = ", ".join(kid.hex() for kid, _ in header.signatures)
    raise BundleRejectedError(f"no valid signature by a trusted key (signed by: {known})")


def write_bundle(out: BinaryIO, manifest: Manifest, keys: Iterable[Ed25519PrivateKey],
                 payload: BinaryIO, chunk_bytes: int = 1 << 20) -> None:
    """Write a bundle signed by every key in keys (the release tool's half of the format)."""
    raw = manifest.to_json()
    signed = [(key_id(k.public_key()), k.sign(SIGNING_CONTEXT + raw)) for k in keys]
    if not 1 <= len(signed) <= MAX_SIGNATURES:
        raise BundleRejectedError(f"a bundle needs 1..{MAX_SIGNATURES} signing keys")
    out.write(MAGIC + struct.pack(">I", len(raw)) + raw + bytes([len(signed)]))
    for kid, signature in signed:
        out.write(kid + signature)
    while chunk := payload.read(chunk_bytes):
        out.write(chunk)


def hash_file(stream: BinaryIO, chunk_bytes: int = 1 << 20) -> tuple[int, str]:
    """Size and SHA-256 hex of the rest of stream."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(chunk_bytes):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()
