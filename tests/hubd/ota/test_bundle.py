"""The bundle format: versions, manifests, signatures."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from hubd.core.errors import BundleRejectedError
from hubd.ota.bundle import (
    MAGIC,
    Manifest,
    Version,
    header_length,
    key_id,
    load_public_key,
    read_header,
    verify_header,
)
from tests.hubd.ota.conftest import bundle_bytes, image


@pytest.mark.parametrize(("low", "high"), [("1.9", "1.10"), ("1", "1.0.1"), ("0.9.9", "1"),
                                           ("2.0", "10.0")])
def test_versions_compare_numerically(low: str, high: str) -> None:
    assert Version.parse(low) < Version.parse(high)


def test_trailing_zeros_do_not_make_a_version_newer() -> None:
    assert Version.parse("1.2.0") == Version.parse("1.2")
    assert str(Version.parse("1.2.0")) == "1.2"


@pytest.mark.parametrize("text", ["", "1.", "v1", "1.-2", "1.2-rc1", "\u0661"])
def test_versions_that_are_not_dotted_numbers_are_rejected(text: str) -> None:
    with pytest.raises(BundleRejectedError):
        Version.parse(text)


@given(st.binary(max_size=200))
def test_any_bytes_are_a_clean_rejection_or_a_header(raw: bytes) -> None:
    # Anything but BundleRejectedError escaping (IndexError, JSON or struct errors) fails here.
    try:
        header = read_header(io.BytesIO(MAGIC + raw))
    except BundleRejectedError:
        return
    assert len(MAGIC) < header.payload_offset <= len(MAGIC) + len(raw)


@pytest.mark.parametrize("manifest", [
    b"[]", b"{}", b'{"format": 2}',
    b'{"format":1,"version":"1","board":"b","size":true,"sha256":"' + b"0" * 64 +
    b'","min_version":"0"}',
    b'{"format":1,"version":"1","board":"b","size":5,"sha256":"ABC","min_version":"0"}',
    b'{"format":1,"version":"1","board":"b","size":0,"sha256":"' + b"0" * 64 +
    b'","min_version":"0"}',
    b"\xff\xfe"])
def test_malformed_manifests_are_rejected(manifest: bytes) -> None:
    with pytest.raises(BundleRejectedError):
        Manifest.from_json(manifest)


def test_signature_covers_the_manifest_and_names_its_key() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    raw = bundle_bytes(b"payload", "1.0", [other, key])
    header = read_header(io.BytesIO(raw))
    assert header.manifest.size == 7 and header.payload_offset == len(raw) - 7
    trusted = {key_id(key.public_key()): key.public_key()}
    assert verify_header(header, trusted) == key_id(key.public_key())
    with pytest.raises(BundleRejectedError, match="no valid signature"):
        verify_header(header, {})


def test_public_keys_are_hex() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    assert key_id(load_public_key(key.public_bytes_raw().hex() + "\n")) == key_id(key)
    with pytest.raises(BundleRejectedError):
        load_public_key("zz")


def test_header_length_is_known_from_the_first_bytes() -> None:
    raw = bundle_bytes(image("1.1"), "1.1", [Ed25519PrivateKey.generate()] * 2)
    offset = read_header(io.BytesIO(raw)).payload_offset
    assert [header_length(raw[:n]) for n in (0, 11)] == [None, None]
    manifest_end = offset - 1 - 2 * 72
    assert header_length(raw[:manifest_end]) is None  # the signature count is not there yet
    assert header_length(raw[:manifest_end + 1]) == offset == header_length(raw)
    assert header_length(b"HUBDUPD1" + (1 << 30).to_bytes(4, "big")) == 12
