"""The hubd/1 envelope codec: byte-exact encodings, and a decoder nothing can crash."""

from __future__ import annotations

import contextlib

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.tunnel.protocol import (
    MAX_MESSAGE_BYTES,
    CloseCode,
    Envelope,
    EnvelopeError,
    MessageType,
    decode,
    encode,
)


def test_an_event_is_these_bytes() -> None:
    envelope = Envelope(MessageType.EVENT, 1.5, seq=3, body={"a": 1})
    # a5: map(5) "v" 1, "t" "event", "seq" 3, "ts" 1.5 (float64), "body" {"a": 1}
    expected = bytes.fromhex("a5 6176 01 6174 656576656e74 63736571 03 627473 fb3ff8000000000000"
                             " 64626f6479 a1 6161 01")
    assert encode(envelope) == expected
    assert decode(expected) == envelope


def test_an_ack_has_no_body_and_keys_in_fixed_order() -> None:
    data = encode(Envelope(MessageType.ACK, 0.0, ack=70000))
    assert data == bytes.fromhex("a4 6176 01 6174 6361636b 6361636b 1a00011170 627473"
                                 " fb0000000000000000")
    assert list(cbor2.loads(data)) == ["v", "t", "ack", "ts"]


@pytest.mark.parametrize(("message", "code", "reason"), [
    (b"\xff\x00", CloseCode.PROTOCOL_ERROR, "not CBOR"),
    (cbor2.dumps([1, 2]), CloseCode.PROTOCOL_ERROR, "not a map"),
    (cbor2.dumps({"v": 2, "t": "hello", "ts": 0}), CloseCode.UNSUPPORTED_VERSION, "version 2"),
    (cbor2.dumps({"v": 1, "t": "launch", "ts": 0}), CloseCode.PROTOCOL_ERROR, "unknown type"),
    (cbor2.dumps({"v": 1, "t": "ack", "ts": 0, "ack": -1}), CloseCode.PROTOCOL_ERROR, "range"),
    (cbor2.dumps({"v": 1, "t": "ack", "ts": 0, "x": 1}), CloseCode.PROTOCOL_ERROR, "key"),
    (cbor2.dumps({"v": 1, "t": "ack"}), CloseCode.PROTOCOL_ERROR, "'ts' is missing"),
    (cbor2.dumps({"v": 1, "t": "ack", "ts": float("nan")}), CloseCode.PROTOCOL_ERROR, "ts"),
    (cbor2.dumps({"v": True, "t": "ack", "ts": 0}), CloseCode.PROTOCOL_ERROR, "no version"),
    (cbor2.dumps({"v": 1, "t": "event", "ts": 0, "body": {1: 2}}), CloseCode.PROTOCOL_ERROR,
     "keys must be text"),
    (bytes.fromhex("a3617601617463616b636274730c"), CloseCode.PROTOCOL_ERROR, "unknown type"),
    ("text", CloseCode.PROTOCOL_ERROR, "binary"),
    (b"\x00" * (MAX_MESSAGE_BYTES + 1), CloseCode.MESSAGE_TOO_BIG, "bytes"),
])
def test_bad_messages_name_their_close_code(message: bytes | str, code: CloseCode,
                                            reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason) as info:
        decode(message)
    assert info.value.code is code


def test_tags_and_deep_nests_are_refused() -> None:
    tagged = cbor2.dumps({"v": 1, "t": "event", "ts": 0, "body": {"d": cbor2.CBORTag(1, 0)}})
    with pytest.raises(EnvelopeError):
        decode(tagged)
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(EnvelopeError, match="deep"):
        decode(cbor2.dumps({"v": 1, "t": "event", "ts": 0, "body": {"d": deep}}))
    nested_bytes = b"\x81" * 50_000 + b"\x01"  # 50,000 nested arrays: no RecursionError escapes
    with pytest.raises(EnvelopeError):
        decode(cbor2.dumps({"v": 1, "t": "event", "ts": 0})[:-1] + nested_bytes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_no_bytes_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        decode(data)


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "t", "id", "seq", "ack", "ts", "body", "x"]),
                       _plain, max_size=7))
def test_no_near_miss_envelope_crashes_the_decoder(data: dict[str, object]) -> None:
    try:
        envelope = decode(cbor2.dumps(data))
    except EnvelopeError:
        return
    assert decode(encode(envelope)) == envelope  # whatever it accepts, it can say again


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(MessageType)), st.floats(-1e9, 1e9),
       st.none() | st.text(max_size=10), st.none() | st.integers(0, 2**63 - 1),
       st.none() | st.integers(0, 2**63 - 1),
       st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4))
def test_round_trip(t: MessageType, ts: float, id_: str | None, seq: int | None,
                    ack: int | None, body: dict[str, object]) -> None:
    envelope = Envelope(t, ts, id_, seq, ack, body)
    assert decode(encode(envelope)) == envelope
