"""A bundle's payload as a stream of image bytes: bounded, hashed and, if zstd, decompressed.

The raw payload is read through a window of exactly the manifest's ``carried_size`` bytes whose
SHA-256 is taken as it passes; a compressed one is decompressed on the fly (zstd frames, one
window of at most MAX_WINDOW_BYTES in memory, never the whole image). The caller caps and hashes
the image bytes it gets (the manifest's ``size`` and ``sha256``); ``finish`` then checks that
the carried bytes were all there and are the signed ones.
"""

from __future__ import annotations

import hashlib
from typing import IO, BinaryIO, cast

import zstandard

from hubd.core.errors import UpdateError
from hubd.ota.bundle import Compression, Manifest

# zstd's decoder keeps one window of history; a bundle needing more is refused (a hub's RAM).
# tools/release compresses at level 10 (window 2-8 MiB), far below this.
MAX_WINDOW_BYTES = 1 << 26


class _CarriedBytes:
    """The next ``limit`` bytes of stream and their SHA-256; the end of the payload is EOF."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream = stream
        self.left = limit
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes (all that are left for a negative size), never past the limit."""
        want = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(want) if want else b""
        self.left -= len(data)
        self.digest.update(data)
        return data


class PayloadReader:
    """The image a bundle carries, read in chunks of decompressed bytes."""

    def __init__(self, stream: BinaryIO, manifest: Manifest, chunk_bytes: int = 1 << 20) -> None:
        self.manifest = manifest
        self.carried = _CarriedBytes(stream, manifest.carried_size)
        self._source: _CarriedBytes | zstandard.ZstdDecompressionReader = self.carried
        if manifest.compression is Compression.ZSTD:
            decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_BYTES)
            # The reader calls only read(size) on its source.
            self._source = decompressor.stream_reader(cast("IO[bytes]", self.carried),
                                                      read_size=chunk_bytes,
                                                      read_across_frames=True)

    def read(self, size: int) -> bytes:
        """Up to size image bytes; b"" at the end of the payload."""
        try:
            return self._source.read(size)
        except zstandard.ZstdError as exc:
            raise UpdateError(f"the compressed image is corrupt: {exc}") from exc

    def finish(self) -> None:
        """Check that every carried byte was read and that they hash to the signed value."""
        if self.carried.left:
            raise UpdateError(f"bundle ended {self.carried.left} bytes before the end of its "
                              f"{self.manifest.carried_size}-byte payload")
        if self.carried.digest.hexdigest() != self.manifest.carried_sha256:
            raise UpdateError("the payload does not hash to its signed sha256: the slot stays "
                              "unbootable")
