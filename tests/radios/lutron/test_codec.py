"""LIP framing and messages, byte-exact: bytes in, frames and messages out, and back."""

from enum import IntEnum

import pytest

from hubd.core.errors import LocalProtocolError, RemoteProtocolError
from radios.lutron.codec import (
    DeviceAction,
    LipError,
    LipMessage,
    MonitoringType,
    OccupancyState,
    Op,
    OutputAction,
    SystemAction,
    device_execute,
    format_time,
    group_query,
    monitoring_query,
    monitoring_set,
    output_action,
    output_query,
    output_set_level,
    parse_message,
    parse_time,
)
from radios.lutron.framing import Line, LineDecoder, LoginPrompt, PasswordPrompt, Prompt
from radios.lutron.reports import (
    DeviceReport,
    ErrorReport,
    GroupReport,
    MonitoringReport,
    OtherReport,
    OutputReport,
    SystemReport,
    decode_report,
)

# -- framing -----------------------------------------------------------------------------------


def test_crlf_cr_and_lf_all_end_a_line() -> None:
    decoder = LineDecoder()
    assert decoder.receive_data(b"~OUTPUT,1,1,0.00\r\n~OUTPUT,2,1,5.00\r~OUTPUT,3,1,7.00\n") == [
        Line("~OUTPUT,1,1,0.00"), Line("~OUTPUT,2,1,5.00"), Line("~OUTPUT,3,1,7.00")]


def test_crlf_split_between_chunks_is_one_terminator() -> None:
    decoder = LineDecoder()
    assert decoder.receive_data(b"~ERROR,2\r") == [Line("~ERROR,2")]
    assert decoder.receive_data(b"\n~ERROR,3\r\n") == [Line("~ERROR,3")]
    assert decoder.buffered == 0


def test_line_split_at_every_byte() -> None:
    decoder = LineDecoder()
    data = b"GNET> ~DEVICE,30,2,3\r\n"
    frames = [f for i in range(len(data)) for f in decoder.receive_data(data[i:i + 1])]
    assert frames == [Prompt("GNET"), Line("~DEVICE,30,2,3")]


def test_prompt_prefixes_the_next_line_and_may_repeat() -> None:
    decoder = LineDecoder()
    assert decoder.receive_data(b"GNET> GNET> ~OUTPUT,5,1,100.00\r\nQNET> ") == [
        Prompt("GNET"), Prompt("GNET"), Line("~OUTPUT,5,1,100.00"), Prompt("QNET")]


def test_login_and_password_prompts() -> None:
    decoder = LineDecoder()
    assert decoder.receive_data(b"login: ") == [LoginPrompt()]
    assert decoder.receive_data(b"password: ") == [PasswordPrompt()]
    assert decoder.receive_data(b"\r\nGNET> ") == [Prompt("GNET")]


def test_server_side_sees_no_prompts() -> None:
    decoder = LineDecoder(recognise_prompts=False)
    assert decoder.receive_data(b"login: x\r\n") == [Line("login: x")]


def test_telnet_iac_sequences_are_removed_even_across_chunks() -> None:
    decoder = LineDecoder()
    # IAC DO ECHO, IAC WILL NAWS, IAC SB NAWS 0 80 0 24 IAC SE, IAC NOP
    assert decoder.receive_data(b"\xff\xfd\x01~ERR\xff\xfb") == []
    assert decoder.receive_data(b"\x1fOR,1\xff\xfa\x1f\x00\x50\x00\x18\xff") == []
    assert decoder.receive_data(b"\xf0\xff\xf1\r\n") == [Line("~ERROR,1")]


def test_overlong_line_is_dropped_and_counted_then_resync() -> None:
    decoder = LineDecoder(max_line_bytes=32)
    assert decoder.receive_data(b"~" + b"A" * 40) == []
    assert decoder.buffered == 0
    assert decoder.receive_data(b"B" * 100 + b"\r\n~ERROR,4\r\n") == [Line("~ERROR,4")]
    assert decoder.overlong_lines == 1
    assert decoder.receive_data(b"~" + b"C" * 40 + b"\r\n") == []
    assert decoder.overlong_lines == 2


def test_non_ascii_line_is_dropped_and_counted() -> None:
    decoder = LineDecoder()
    assert decoder.receive_data(b"~OUT\xc3\xa9\r\n~ERROR,5\r\n") == [Line("~ERROR,5")]
    assert decoder.undecodable_lines == 1


# -- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "wire"), [
    (output_set_level(12, 75), b"#OUTPUT,12,1,75.00\r\n"),
    (output_set_level(12, 33.333), b"#OUTPUT,12,1,33.33\r\n"),
    (output_set_level(1, 75, fade_s=90), b"#OUTPUT,1,1,75.00,1:30\r\n"),
    (output_set_level(1, 0, fade_s=2.6), b"#OUTPUT,1,1,0.00,2.50\r\n"),
    (output_set_level(1, 50, fade_s=4, delay_s=0.25), b"#OUTPUT,1,1,50.00,4,0.25\r\n"),
    (output_set_level(1, 50, delay_s=2), b"#OUTPUT,1,1,50.00,0,2\r\n"),
    (output_action(7, OutputAction.START_RAISING), b"#OUTPUT,7,2\r\n"),
    (output_action(7, OutputAction.START_LOWERING), b"#OUTPUT,7,3\r\n"),
    (output_action(7, OutputAction.STOP), b"#OUTPUT,7,4\r\n"),
    (output_action(7, OutputAction.START_FLASH, 1), b"#OUTPUT,7,5,1\r\n"),
    (output_action(9, OutputAction.PULSE, 0.5), b"#OUTPUT,9,6,0.50\r\n"),
    (output_query(3), b"?OUTPUT,3,1\r\n"),
    (device_execute(2, 4, DeviceAction.PRESS), b"#DEVICE,2,4,3\r\n"),
    (device_execute(4, 101, DeviceAction.LED_STATE, "1"), b"#DEVICE,4,101,9,1\r\n"),
    (group_query(6), b"?GROUP,6,3\r\n"),
    (monitoring_set(MonitoringType.PROMPT, False), b"#MONITORING,12,2\r\n"),
    (monitoring_set(MonitoringType.BUTTON, True), b"#MONITORING,3,1\r\n"),
    (monitoring_query(MonitoringType.BUTTON), b"?MONITORING,3\r\n"),
])
def test_requests_byte_exact(message: LipMessage, wire: bytes) -> None:
    assert message.encode() == wire
    assert parse_message(wire.decode().strip()) == message


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0"), (0.1, "0"), (0.13, "0.25"), (1.45, "1.50"), (59.5, "59.50"), (60, "1:00"),
    (90.4, "1:30"), (3599, "59:59"), (3600, "1:00:00"), (4 * 3600, "4:00:00"),
])
def test_times_are_quarter_seconds_in_lip_formats(seconds: float, text: str) -> None:
    assert format_time(seconds) == text


@pytest.mark.parametrize(("text", "seconds"), [
    ("2", 2.0), ("1.45", 1.25), ("01:30", 90.0), ("1:02:03", 3723.0), ("0:00:02.500000", 2.5),
])
def test_times_parse_and_round_down_to_quarter_seconds(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "1:2:3:4", "a", "1:x", "-1", "5:00:01", "1..2", ":30"])
def test_bad_times_are_remote_errors(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_time(text)


@pytest.mark.parametrize(("level", "time_s"), [(101, None), (-1, None), (50, 5 * 3600), (50, -1)])
def test_values_lip_cannot_carry_are_local_errors(level: float, time_s: float | None) -> None:
    with pytest.raises(LocalProtocolError):
        output_set_level(1, level, fade_s=time_s)


@pytest.mark.parametrize("text", ["", "~", "OUTPUT,1", "~OUT PUT,1", "!OUTPUT,1", "~1,2"])
def test_not_lip_is_remote_error(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_message(text)


def test_spaces_after_commas_are_accepted() -> None:
    assert parse_message("#DEVICE, 5, 2, 3") == LipMessage(Op.EXECUTE, "DEVICE", ("5", "2", "3"))


# -- reports -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "report"), [
    ("~OUTPUT,3,1,90.00", OutputReport(3, 1, 90.0)),
    ("~OUTPUT,3,1,0", OutputReport(3, 1, 0.0)),
    ("~OUTPUT,3,29,6", OutputReport(3, 29)),
    ("~DEVICE,30,2,3", DeviceReport(30, 2, 3)),
    ("~DEVICE,4,101,9,1", DeviceReport(4, 101, 9, ("1",))),
    ("~DEVICE,8,2,22,2", DeviceReport(8, 2, 22, ("2",))),
    ("~GROUP,1,3,3", GroupReport(1, OccupancyState.OCCUPIED)),
    ("~GROUP,1,3,255", GroupReport(1, OccupancyState.UNKNOWN)),
    ("~MONITORING,1,2", MonitoringReport(1, False)),
    ("~MONITORING,3,1", MonitoringReport(3, True)),
    ("~ERROR,2", ErrorReport(2)),
    ("~SYSTEM,1,12:23:24", SystemReport(1, ("12:23:24",))),
    ("~HVAC,5,1,20", OtherReport(LipMessage(Op.REPORT, "HVAC", ("5", "1", "20")))),
])
def test_reports_decode(line: str, report: object) -> None:
    assert decode_report(parse_message(line)) == report


@pytest.mark.parametrize("line", ["~OUTPUT,3", "~OUTPUT,x,1,5", "~OUTPUT,3,1,abc",
                                  "~OUTPUT,3,1,150", "~OUTPUT,3,1,1e2", "~DEVICE,1,2",
                                  "~GROUP,1,3,7", "~ERROR", "~ERROR,two", "#OUTPUT,1,1,5"])
def test_malformed_reports_are_remote_errors(line: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_report(parse_message(line))


def test_error_numbers_have_the_documents_wording() -> None:
    assert [e.value for e in LipError] == [1, 2, 3, 4, 5, 6]
    assert ErrorReport(2).description == "object does not exist"
    assert ErrorReport(42).description == "error 42"


@pytest.mark.parametrize(("line", "field", "expected"), [
    ("~OUTPUT,3,1,90.00", "action", OutputAction.LEVEL),
    ("~OUTPUT,3,4", "action", OutputAction.STOP),
    ("~DEVICE,30,2,3", "action", DeviceAction.PRESS),
    ("~MONITORING,5,1", "kind", MonitoringType.ZONE),
    ("~ERROR,2", "code", LipError.NO_SUCH_OBJECT),
    ("~SYSTEM,1,12:23:24", "action", SystemAction.TIME),
])
def test_reports_carry_their_enums(line: str, field: str, expected: IntEnum) -> None:
    value = getattr(decode_report(parse_message(line)), field)
    assert value is expected  # the member itself, not an equal int


def test_numbers_the_document_does_not_name_stay_ints() -> None:
    report = decode_report(parse_message("~OUTPUT,3,29,6"))
    assert isinstance(report, OutputReport)
    assert type(report.action) is int and report.action == 29
