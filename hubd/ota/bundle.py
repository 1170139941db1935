"""The update bundle: a signed manifest followed by the root filesystem image it describes.

Layout (all integers big-endian)::

    magic          8 bytes   b"HUBDUPD1"
    manifest_len   u32       at most MAX_MANIFEST_BYTES
    manifest       JSON      {"format": 1, "version", "board", "size", "sha256", "min_version"}
                             format 2 adds "compression", "payload_size", "payload_sha256"
    sig_count      u8        1..MAX_SIGNATURES
    signatures     sig_count x (key id: 8 bytes, ed25519 signature: 64 bytes)
    payload        the ext4 image of a root slot: format 1, raw (size bytes); format 2,
                   compressed (payload_size bytes of zstd frames that decompress to size bytes)

``size`` and ``sha256`` always describe the image as written to the slot (the size cap is on
it); ``payload_size`` and ``payload_sha256`` the bytes the bundle carries, so a seekable
bundle's payload is checked before the slot is touched without decompressing it twice. An
uncompressed bundle is written as format 1, which hubs that predate compression install too.

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
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hubd.core.errors import BundleRejectedError

MAGIC = b"HUBDUPD1"
FORMAT = 1
FORMAT_COMPRESSED = 2
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


class Compression(StrEnum):
    """How a bundle carries its image."""

    NONE = "none"
    ZSTD = "zstd"


def _is_sha256_hex(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a bundle promises: its version, the board it fits, and its image's size and hash."""

    version: Version
    board: str
    # The image written to the slot (decompressed): the size cap and the hash checked there.
    size: int
    sha256: str
    # Once a hub marks this version good it refuses anything older than this (anti-rollback).
    min_version: Version
    compression: Compression = Compression.NONE
    # The payload as the bundle carries it; 0 and "" for an uncompressed one (= size, sha256).
    payload_size: int = 0
    payload_sha256: str = ""

    @property
    def carried_size(self) -> int:
        """Bytes of payload in the bundle."""
        return self.size if self.compression is Compression.NONE else self.payload_size

    @property
    def carried_sha256(self) -> str:
        """SHA-256 hex of the payload bytes in the bundle."""
        return self.sha256 if self.compression is Compression.NONE else self.payload_sha256

    def to_json(self) -> bytes:
        """The exact bytes that get signed."""
        data: dict[str, object] = {
            "format": FORMAT, "version": str(self.version), "board": self.board,
            "size": self.size, "sha256": self.sha256, "min_version": str(self.min_version)}
        if self.compression is not Compression.NONE:
            data |= {"format": FORMAT_COMPRESSED, "compression": str(self.compression),
                     "payload_size": self.payload_size, "payload_sha256": self.payload_sha256}
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse signed manifest bytes; a missing or ill-typed field rejects the bundle."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleRejectedError(f"manifest is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") not in (FORMAT, FORMAT_COMPRESSED):
            raise BundleRejectedError(f"manifest format is not {FORMAT} or {FORMAT_COMPRESSED}")
        fields: dict[str, type] = {"version": str, "board": str, "size": int, "sha256": str,
                                   "min_version": str}
        if data["format"] == FORMAT_COMPRESSED:
            fields |= {"compression": str, "payload_size": int, "payload_sha256": str}
        for name, kind in fields.items():
            if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
                raise BundleRejectedError(f"manifest field {name!r} missing or not {kind.__name__}")
        if not _is_sha256_hex(data["sha256"]):
            raise BundleRejectedError("manifest sha256 is not 64 lowercase hex digits")
        if data["size"] <= 0:
            raise BundleRejectedError("manifest size must be positive")
        compression, payload_size, payload_sha256 = Compression.NONE, 0, ""
        if data["format"] == FORMAT_COMPRESSED:
            try:
                compression = Compression(data["compression"])
            except ValueError:
                raise BundleRejectedError(
                    f"unknown compression {data['compression']!r}") from None
            payload_size, payload_sha256 = data["payload_size"], data["payload_sha256"]
            if compression is Compression.NONE or payload_size <= 0 or not _is_sha256_hex(
                    payload_sha256):
                raise BundleRejectedError("manifest compression/payload_size/payload_sha256 "
                                          "are not valid")
        return cls(Version.parse(data["version"]), data["board"], data["size"], data["sha256"],
                   Version.parse(data["min_version"]), compression, payload_size, payload_sha256)


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
