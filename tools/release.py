"""Make and inspect signed update bundles (hubd.ota.bundle): ``python -m tools.release --help``.

    python -m tools.release keygen keys/release-2026      # keys/release-2026.key (0600) + .pub
    python -m tools.release make --image build/image-amd64/root.ext4 --version 1.2.0 \\
        --board hub-amd64 --key keys/release-2026.key --out hubd-1.2.0.hubdupd

The image is carried zstd-compressed (``--compression none`` makes a format-1 bundle that hubs
older than compression install too); the hub decompresses it while writing the slot.
    python -m tools.release inspect hubd-1.2.0.hubdupd --keys image/overlay/etc/hubd/update-keys

Key rotation: ship the new .pub in the image's update-keys next to the old one, sign releases with
both keys (--key twice) until every hub runs an image that trusts the new key, then drop the old.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import zstandard
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.core.errors import HubError
from hubd.ota.bundle import (
    Compression,
    Manifest,
    Version,
    hash_file,
    key_id,
    load_trusted_keys,
    read_header,
    verify_header,
    write_bundle,
)


def keygen(stem: Path) -> None:
    """Write stem.key (private, hex, mode 0600) and stem.pub (public, hex)."""
    key = Ed25519PrivateKey.generate()
    stem.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(stem.with_suffix(".key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.private_bytes_raw().hex() + "\n")
    stem.with_suffix(".pub").write_text(key.public_key().public_bytes_raw().hex() + "\n")
    print(f"{stem}.key {stem}.pub key_id={key_id(key.public_key()).hex()}")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """A private key as keygen writes it."""
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))


def compress(image: Path, out: Path, level: int) -> None:
    """image zstd-compressed into out, on every core, with its size in the frame header."""
    compressor = zstandard.ZstdCompressor(level=level, threads=-1, write_content_size=True)
    with open(image, "rb") as src, open(out, "wb") as dst:
        compressor.copy_stream(src, dst, size=image.stat().st_size)


def make(image: Path, version: str, board: str, min_version: str, keys: list[Path],
         out: Path, compression: Compression = Compression.ZSTD, level: int = 10) -> Manifest:
    """Hash image, compress it, sign the manifest with every key, write the bundle to out."""
    with open(image, "rb") as payload:
        size, digest = hash_file(payload)
    carried = image
    manifest = Manifest(Version.parse(version), board, size, digest, Version.parse(min_version))
    tmp = out.with_name(out.name + ".partial")
    packed = out.with_name(out.name + ".zst.partial")
    try:
        if compression is Compression.ZSTD:
            compress(image, packed, level)
            with open(packed, "rb") as payload:
                payload_size, payload_digest = hash_file(payload)
            carried = packed
            manifest = Manifest(manifest.version, board, size, digest, manifest.min_version,
                                compression, payload_size, payload_digest)
        with open(carried, "rb") as payload, open(tmp, "wb") as bundle:
            write_bundle(bundle, manifest, [load_private_key(k) for k in keys], payload)
        os.replace(tmp, out)
    finally:
        packed.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return manifest


def inspect(bundle: Path, keys_dir: Path | None) -> str:
    """The manifest, the signing key ids and, given trusted keys, which one verifies."""
    with open(bundle, "rb") as stream:
        header = read_header(stream)
    m = header.manifest
    lines = [f"version={m.version} board={m.board} size={m.size} sha256={m.sha256} "
             f"min_version={m.min_version} compression={m.compression} "
             f"payload_size={m.carried_size}",
             "signed by: " + " ".join(kid.hex() for kid, _ in header.signatures)]
    if keys_dir is not None:
        kid = verify_header(header, load_trusted_keys(keys_dir))
        lines.append(f"verified by trusted key {kid.hex()}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="tools.release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("keygen", help="make a signing key pair")
    gen.add_argument("stem", type=Path)
    mk = sub.add_parser("make", help="make a signed bundle from a root filesystem image")
    mk.add_argument("--image", type=Path, required=True)
    mk.add_argument("--version", required=True)
    mk.add_argument("--board", required=True)
    mk.add_argument("--min-version", default="0")
    mk.add_argument("--key", type=Path, action="append", required=True)
    mk.add_argument("--out", type=Path, required=True)
    mk.add_argument("--compression", type=Compression, choices=list(Compression),
                    default=Compression.ZSTD)
    mk.add_argument("--level", type=int, default=10, help="zstd level (1-19)")
    ins = sub.add_parser("inspect", help="show (and verify) a bundle's manifest")
    ins.add_argument("bundle", type=Path)
    ins.add_argument("--keys", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            keygen(args.stem)
        elif args.command == "make":
            m = make(args.image, args.version, args.board, args.min_version, args.key, args.out,
                     args.compression, args.level)
            print(f"{args.out}: version={m.version} board={m.board} size={m.size} "
                  f"sha256={m.sha256} compression={m.compression} payload={m.carried_size}")
        else:
            print(inspect(args.bundle, args.keys))
    except (HubError, OSError, ValueError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
