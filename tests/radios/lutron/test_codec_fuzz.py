"""The LIP decoder never crashes, never hangs and never grows its buffer, whatever the bytes."""

from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.core.errors import RemoteProtocolError
from radios.lutron.codec import parse_message
from radios.lutron.framing import Line, LineDecoder
from radios.lutron.reports import decode_report

MAX = 64
lip_ish = st.lists(st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"\r", b"\n", b"\r\n", b"GNET> ", b"login: ", b"password: ", b"\xff",
                     b"\xff\xfa", b"\xff\xf0", b"~OUTPUT,1,1,", b"~DEVICE,", b"~GROUP,1,3,",
                     b"~ERROR,", b",", b"99.99", b"#", b"?"]),
), max_size=60)


@settings(max_examples=400, deadline=None)
@given(lip_ish)
def test_decoder_survives_any_chunks(chunks: list[bytes]) -> None:
    decoder = LineDecoder(max_line_bytes=MAX)
    for chunk in chunks:
        for frame in decoder.receive_data(chunk):
            if isinstance(frame, Line):
                assert len(frame.text) <= MAX
                assert "\r" not in frame.text and "\n" not in frame.text
                try:
                    message = parse_message(frame.text)
                    decode_report(message) if message.op == "~" else None
                except RemoteProtocolError:
                    pass
        assert decoder.buffered <= MAX


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=MAX + 1, max_value=5000), st.integers(min_value=1, max_value=97))
def test_overlong_line_in_any_chunking_is_dropped_once(length: int, step: int) -> None:
    decoder = LineDecoder(max_line_bytes=MAX)
    data = b"~" + b"x" * length + b"\r\n~ERROR,1\r\n"
    frames = [f for i in range(0, len(data), step) for f in decoder.receive_data(data[i:i + step])]
    assert frames == [Line("~ERROR,1")]
    assert decoder.overlong_lines == 1
