"""Structured logging: logfmt lines, journald priorities, tracebacks kept on one line."""

from __future__ import annotations

import ast
import io
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubd.log import (
    QUEUE_RECORDS,
    LogfmtFormatter,
    LogLevel,
    flush_logging,
    is_journal_stream,
    is_logfmt,
    priority,
    quote,
    setup_logging,
    shutdown_logging,
)
from hubd.redact import add_secret, clear_secrets

TS = re.compile(r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """setup_logging changes the root logger; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    shutdown_logging()
    clear_secrets()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def drain(stream: io.StringIO, window_s: float = 1.0) -> None:
    """Wait until the writer has written every record logged so far, for as long as it keeps
    writing: one that writes nothing for a whole window is stuck and fails the test; a slow one
    (10,000 queued lines on a loaded machine) is waited for."""
    written = len(stream.getvalue())
    while not flush_logging(window_s):
        now = len(stream.getvalue())
        assert now > written, "the log writer is stuck"
        written = now


def lines_of(stream: io.StringIO) -> list[str]:
    # A ResourceWarning from some earlier test's garbage (Python 3.13 warns of unclosed SQLite
    # connections when the collector finds them) may land in any test's stream.
    drain(stream)
    return [line for line in stream.getvalue().splitlines()
            if "ResourceWarning" not in line]


def strip_ts(line: str) -> str:
    assert TS.match(line), line
    return TS.sub("", line)


def test_key_value_messages_are_kept() -> None:
    stream = io.StringIO()
    setup_logging("info", stream=stream, environ={})
    logging.getLogger("hubd.bus").warning("event=bus_overflow subscriber=%s dropped=%d", "x", 3)
    logging.getLogger("hubd.bus").info("%s", "event=prebuilt n=1")
    assert [strip_ts(x) for x in lines_of(stream)] == [
        "level=warning logger=hubd.bus event=bus_overflow subscriber=x dropped=3",
        "level=info logger=hubd.bus event=prebuilt n=1"]


def test_arguments_are_quoted_where_logfmt_needs_it() -> None:
    stream = io.StringIO()
    setup_logging("info", stream=stream, environ={})
    logging.getLogger("hubd.t").info("event=renamed name=%s old=%s ratio=%.2f ok=%s",
                                     'Hall "big" lamp', "", 0.5, True)
    logging.getLogger("hubd.t").info("event=ready status=%r raw=%r", "3 devices; ok", b"\x00")
    assert [strip_ts(x) for x in lines_of(stream)] == [
        'level=info logger=hubd.t event=renamed name="Hall \\"big\\" lamp" old="" ratio=0.50 '
        "ok=True",
        'level=info logger=hubd.t event=ready status="3 devices; ok" raw="b\'\\\\x00\'"']


def test_free_text_is_wrapped_as_msg() -> None:
    stream = io.StringIO()
    setup_logging("debug", stream=stream, environ={}, debug_loggers=["zigpy_znp"])
    logging.getLogger("zigpy_znp.api").debug("Connecting to %s at %d baud", "/dev/ttyUSB0", 115200)
    logging.getLogger("x").info("a=1 but then prose")
    assert [strip_ts(x) for x in lines_of(stream)] == [
        'level=debug logger=zigpy_znp.api msg="Connecting to /dev/ttyUSB0 at 115200 baud"',
        'level=info logger=x msg="a=1 but then prose"']


def test_level_filters_records() -> None:
    stream = io.StringIO()
    setup_logging("WARNING", stream=stream, environ={})
    logging.getLogger("hubd").info("event=quiet")
    logging.getLogger("hubd").error("event=loud")
    assert [strip_ts(x) for x in lines_of(stream)] == ["level=error logger=hubd event=loud"]


def test_traceback_is_one_escaped_field() -> None:
    stream = io.StringIO()
    setup_logging("info", stream=stream, environ={})
    try:
        raise RuntimeError("radio said\nno")
    except RuntimeError:
        logging.getLogger("hubd.supervise").exception("event=component_failed component=%s",
                                                      "zigbee")
    (line,) = lines_of(stream)
    body = strip_ts(line)
    prefix = "level=error logger=hubd.supervise event=component_failed component=zigbee exc="
    assert body.startswith(prefix)
    traceback_text = ast.literal_eval(body.removeprefix(prefix))
    assert traceback_text.startswith("Traceback (most recent call last):\n")
    assert traceback_text.endswith("RuntimeError: radio said\nno")
    assert is_logfmt(body)


def test_stack_info_is_one_field() -> None:
    stream = io.StringIO()
    setup_logging("info", stream=stream, environ={})
    logging.getLogger("hubd").info("event=where", stack_info=True)
    (line,) = lines_of(stream)
    assert " stack=\"Stack (most recent call last):\\n" in line


def test_journal_stream_gets_priorities_and_no_timestamp(tmp_path: Path) -> None:
    with open(tmp_path / "stderr", "w+", encoding="utf-8") as stream:
        stat = os.fstat(stream.fileno())
        environ = {"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
        assert is_journal_stream(stream, environ)
        setup_logging("debug", stream=stream, environ=environ)
        log = logging.getLogger("hubd")
        log.debug("event=a")
        log.info("event=b")
        log.warning("event=c")
        log.error("event=d")
        log.critical("event=e")
        assert flush_logging()
        stream.seek(0)
        assert stream.read().splitlines() == [
            "<7>level=debug logger=hubd event=a",
            "<6>level=info logger=hubd event=b",
            "<4>level=warning logger=hubd event=c",
            "<3>level=error logger=hubd event=d",
            "<2>level=critical logger=hubd event=e",
        ]


def test_journal_stream_of_another_file_is_not_ours(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_text("")
    stat = os.stat(other)
    environ = {"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
    with open(tmp_path / "stderr", "w+", encoding="utf-8") as stream:
        assert not is_journal_stream(stream, environ)
        setup_logging("info", stream=stream, environ=environ)
        logging.getLogger("hubd").info("event=x")
        assert flush_logging()
        stream.seek(0)
        assert TS.match(stream.read())
    assert not is_journal_stream(io.StringIO(), environ)
    assert not is_journal_stream(io.StringIO(), {"JOURNAL_STREAM": "garbage"})


def test_timestamp_is_utc_iso8601() -> None:
    record = logging.LogRecord("hubd", logging.INFO, __file__, 1, "event=x", None, None)
    record.created = 1_700_000_000.25
    line = LogfmtFormatter(is_journal=False).format(record)
    assert line == "ts=2023-11-14T22:13:20.250Z level=info logger=hubd event=x"


def test_setup_twice_replaces_its_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("info", stream=first, environ={})
    setup_logging("info", stream=second, environ={})
    logging.getLogger("hubd").info("event=once")
    assert flush_logging()
    assert first.getvalue() == ""
    assert len(lines_of(second)) == 1


def test_warnings_become_records() -> None:
    stream = io.StringIO()
    setup_logging("info", stream=stream, environ={})
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
    (line,) = lines_of(stream)
    assert "logger=py.warnings msg=" in line and "old API" in line


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'; use one of debug, info"):
        setup_logging("loud", stream=io.StringIO())


def test_priorities() -> None:
    assert [priority(lv) for lv in (5, 10, 20, 30, 40, 50)] == [7, 7, 6, 4, 3, 2]
    assert [lv.value for lv in LogLevel] == ["debug", "info", "warning", "error", "critical"]


def test_is_logfmt() -> None:
    assert is_logfmt('a=1 b="two words" c= d.e=f')
    assert not is_logfmt("")
    assert not is_logfmt("plain words")
    assert not is_logfmt('a="unterminated')
    assert not is_logfmt("a=b=c")


@given(st.text())
def test_quote_is_one_line_and_reversible(value: str) -> None:
    quoted = quote(value)
    assert "\n" not in quoted and "\r" not in quoted
    assert is_logfmt("k=" + quoted)
    decoded = ast.literal_eval(quoted) if quoted.startswith('"') else quoted
    assert decoded == value


def test_libraries_stay_at_info_unless_named() -> None:
    stream = io.StringIO()
    setup_logging("debug", stream=stream, environ={}, debug_loggers=["zigpy_znp"])
    logging.getLogger("zigpy.application").debug("chatter")
    logging.getLogger("aiosqlite").debug("executing %s", "INSERT")
    logging.getLogger("zigpy.application").info("event=formed")
    logging.getLogger("zigpy_znp.uart").debug("asked for")
    logging.getLogger("radios.zigbee.driver").debug("event=ours")
    assert [strip_ts(x).split(" ", 2)[1] for x in lines_of(stream)] == [
        "logger=zigpy.application", "logger=zigpy_znp.uart", "logger=radios.zigbee.driver"]


KEY = "01:03:05:07:09:0b:0d:0f:00:02:04:06:08:0a:0c:0d"


def test_secrets_are_redacted_whatever_the_logger() -> None:
    stream = io.StringIO()
    setup_logging("debug", stream=stream, environ={},
                  debug_loggers=["zigpy", "zigpy_znp", "aiosqlite"])
    add_secret("hunter22")
    logging.getLogger("zigpy.application").debug("Network info: %s",
                                                 f"Key(key={KEY}, tx_counter=0)")
    logging.getLogger("zigpy_znp.api").debug(
        "Sending request: SYS.OSALNVWriteExt.Req(Id=<OsalNvIds.PRECFGKEY: 98>, Value=%r)",
        bytes(range(16)))
    logging.getLogger("aiosqlite").debug(
        "executing %s", '{"network_key": {"key": "01030507090b0d0f00020406080a0c0d"}}')
    logging.getLogger("radios.lutron.session").info("event=login user=lutron password=%s",
                                                    "hunter22")
    logging.getLogger("radios.lutron.session").info("sent %r", "hunter22\r\n")
    try:
        raise RuntimeError(f"bad key {KEY}")
    except RuntimeError:
        logging.getLogger("zigpy").exception("failed")
    text = "\n".join(lines_of(stream))
    assert text.count("<redacted>") >= 6, text
    for secret in ("01:03:05", "0103050709", "\\x01\\x02", "hunter22"):
        assert secret not in text, (secret, text)
    assert "user=lutron" in text and "tx_counter=0" in text  # only the secrets go


class _StuckStream(io.StringIO):
    """A stderr whose reader went away: every write blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.release.wait()
        return super().write(text)


def test_a_stuck_stderr_never_blocks_the_logging_caller() -> None:
    stream = _StuckStream()
    setup_logging("info", stream=stream, environ={})
    log = logging.getLogger("hubd.test")

    def flood() -> None:
        for n in range(QUEUE_RECORDS + 500):  # more than the queue holds
            log.info("event=n n=%d", n)

    # The stream is released only after the caller is done: a caller that waited for the
    # stream would never finish (no timing involved; the join's bound only ends a failure).
    caller = threading.Thread(target=flood)
    caller.start()
    caller.join(40)
    try:
        assert not caller.is_alive(), "logging blocked on a stuck stderr"
        assert not flush_logging(0.2)  # still stuck: nothing written
    finally:
        stream.release.set()
    lines = lines_of(stream)
    assert len(lines) <= QUEUE_RECORDS + 2
    log.info("event=after")
    dropped = [x for x in lines_of(stream) if "event=log_dropped" in x]
    assert dropped and int(dropped[0].split("count=")[1].split()[0]) >= 400
