"""Bundles that carry the root image zstd-compressed: decompressed while written, capped, hashed."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.core.errors import BundleRejectedError, UpdateError
from hubd.ota.bootenv import BootPlan
from hubd.ota.bundle import Compression, Manifest, read_header
from hubd.ota.install import Outcome
from tests.hubd.ota.conftest import SLOT_BYTES, FakeHub, bundle_bytes, image, slot_version, zstd


class Streamed(io.BytesIO):
    """A bundle arriving over the network: not seekable, so checked only while written."""

    def seekable(self) -> bool:
        return False


def test_a_compressed_update_installs_boots_and_is_marked_good(hub: FakeHub) -> None:
    payload = image("1.1", 200_000)
    carried = zstd(payload)
    assert len(carried) < len(payload) // 4
    seen: list[tuple[int, int]] = []
    raw = bundle_bytes(payload, "1.1", [hub.key], carried=carried)
    installed = hub.updater().install_stream(Streamed(raw), lambda d, t: seen.append((d, t)))
    assert installed.slot == "B"
    assert hub.config.slot_b.read_bytes()[:len(payload)] == payload
    # Progress counts image bytes, the decompressed ones the slot receives.
    assert seen[-1] == (len(payload), len(payload))
    assert hub.reboot() == "B" and slot_version(hub.config.slot_b) == "1.1"
    assert hub.updater().mark_good(lambda: True) is Outcome.MARKED_GOOD


def test_the_manifest_records_both_sizes_and_hashes() -> None:
    key = Ed25519PrivateKey.generate()
    payload = image("1.1")
    raw = bundle_bytes(payload, "1.1", [key], carried=zstd(payload))
    manifest = read_header(io.BytesIO(raw)).manifest
    data = json.loads(manifest.to_json())
    assert data["format"] == 2 and data["compression"] == "zstd"
    assert data["size"] == len(payload) and data["payload_size"] == len(zstd(payload))
    assert Manifest.from_json(manifest.to_json()) == manifest
    # An uncompressed bundle stays format 1, as hubs older than compression read it.
    plain = read_header(io.BytesIO(bundle_bytes(payload, "1.1", [key]))).manifest
    assert json.loads(plain.to_json())["format"] == 1
    assert plain.compression is Compression.NONE and plain.carried_size == len(payload)


@pytest.mark.parametrize("change", [{"compression": "lz4"}, {"compression": "none"},
                                    {"payload_size": 0}, {"payload_sha256": "00"},
                                    {"payload_size": None}])
def test_a_format_2_manifest_with_bad_payload_fields_is_rejected(change: dict[str, object]
                                                                  ) -> None:
    payload = image("1.1")
    raw = bundle_bytes(payload, "1.1", [Ed25519PrivateKey.generate()], carried=zstd(payload))
    data = json.loads(read_header(io.BytesIO(raw)).manifest.to_json()) | change
    with pytest.raises(BundleRejectedError):
        Manifest.from_json(json.dumps({k: v for k, v in data.items() if v is not None}).encode())


def test_the_cap_is_on_the_decompressed_size(hub: FakeHub) -> None:
    """A tiny payload that would fill more than the slot is refused before anything is written."""
    payload = bytes(SLOT_BYTES + 1)
    carried = zstd(payload)
    assert len(carried) < 1000
    path = hub.root / "big.bundle"
    path.write_bytes(bundle_bytes(payload, "1.1", [hub.key], carried=carried))
    before = hub.snapshot()
    with pytest.raises(BundleRejectedError, match="does not fit"):
        hub.updater().install(path)
    assert hub.snapshot() == before


def test_a_payload_that_inflates_past_its_signed_size_stops_at_the_size(hub: FakeHub) -> None:
    """A signed manifest that under-states the image (a bomb): writing stops at the signed size."""
    payload = bytes(range(256)) * 800  # 204,800 bytes
    signed = 100_000
    raw = bundle_bytes(payload, "1.1", [hub.key], carried=zstd(payload), size=signed)
    b_before = hub.config.slot_b.read_bytes()
    with pytest.raises(UpdateError, match="more than the 100000 bytes signed"):
        hub.updater().install_stream(Streamed(raw))
    assert hub.config.slot_b.read_bytes()[signed:] == b_before[signed:]
    assert BootPlan.read(hub.env).order == ("A",)
    assert [hub.reboot() for _ in range(4)] == ["A"] * 4


@pytest.mark.parametrize("where", ["frame", "end"])
def test_a_corrupt_compressed_payload_leaves_the_slot_unbootable(hub: FakeHub, where: str
                                                                 ) -> None:
    payload = image("1.1", 150_000)
    carried = bytearray(zstd(payload))
    if where == "frame":
        carried[len(carried) // 2] ^= 0xFF  # signed as it is: only decoding can tell
        raw = bundle_bytes(payload, "1.1", [hub.key], carried=bytes(carried))
    else:
        raw = bundle_bytes(payload, "1.1", [hub.key], carried=bytes(carried))
        raw = raw[:-3] + bytes(b ^ 0xFF for b in raw[-3:])  # tampered after signing
    with pytest.raises(UpdateError, match=r"corrupt|stays unbootable|ended"):
        hub.updater().install_stream(Streamed(raw))
    assert BootPlan.read(hub.env).order == ("A",)
    assert [hub.reboot() for _ in range(4)] == ["A"] * 4


def test_a_tampered_compressed_bundle_on_disk_is_refused_before_writing(hub: FakeHub) -> None:
    payload = image("1.1")
    raw = bytearray(bundle_bytes(payload, "1.1", [hub.key], carried=zstd(payload)))
    raw[-10] ^= 0x01
    path = hub.root / "tampered.bundle"
    path.write_bytes(bytes(raw))
    before = hub.snapshot()
    with pytest.raises(BundleRejectedError, match="tampered or truncated"):
        hub.updater().install(path)
    assert hub.snapshot() == before
