"""Structured logging: one logfmt line per record, journald priorities when journald reads stderr.

A record becomes ``level=info logger=hubd.bus event=bus_overflow subscriber=x dropped=3``.
Messages already written as ``key=value`` pairs (the house way: ``log.warning("event=x n=%d",
n)``) are kept as they are, with string arguments quoted where logfmt needs it; any other
message is wrapped as ``msg="..."``. Under journald (``$JOURNAL_STREAM`` names our stderr) each
line starts with a syslog priority such as ``<4>`` and carries no timestamp, journald adds its
own; elsewhere each line starts with ``ts=`` (ISO 8601, UTC).

Tracebacks go in one ``exc="..."`` field with newlines escaped: journald makes every line of
stderr its own entry, so continuation lines would lose the priority and the link to the record,
and a grep for ``event=component_failed`` would miss the traceback.

Nothing here writes on the event loop: records go through a bounded queue to one writer thread
(``QueueHandler`` and a listener), so a stalled journald or a full stderr pipe stalls that thread,
never the loop and its watchdog pings; when the queue is full, records are dropped and counted
(``event=log_dropped``). The writer formats each line and passes it through hubd.redact, so no
logger, ours or a library's, prints a key or a password. At debug level, libraries (zigpy,
aiosqlite...) stay at info unless named in ``debug_loggers``: their debug output is a flood.
"""

from __future__ import annotations

import atexit
import copy
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TextIO

from hubd.core.errors import InvalidValueError
from hubd.redact import redact

# sd-daemon(3) / syslog(3) priorities, so journald keeps our levels.
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_DEBUG_PRIORITY = 7

_PAIR = r'[A-Za-z_][A-Za-z0-9_.:-]*=(?:"(?:[^"\\]|\\.)*"|[^\s"=]*)'
_LOGFMT = re.compile(rf"\s*{_PAIR}(?:\s+{_PAIR})*\s*")
_NEEDS_QUOTES = re.compile(r'[\s"=\\]|[^\x21-\x7e]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class LogLevel(StrEnum):
    """The levels a user may configure."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


def quote(value: str) -> str:
    """A logfmt value: bare when it can be, else double-quoted with escapes, always one line."""
    if value and not _NEEDS_QUOTES.search(value):
        return value
    out = []
    for char in value:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_escape_code(ord(char)))
    return '"' + "".join(out) + '"'


def is_logfmt(text: str) -> bool:
    """True if text is a non-empty sequence of ``key=value`` pairs."""
    return _LOGFMT.fullmatch(text) is not None


def _escape_code(code: int) -> str:
    # Python's own escapes: fixed widths, so a reader never has to guess where one ends.
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class _Quoted:
    """A log argument that formats as a logfmt value, so ``key=%s`` stays one pair."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return quote(str(self.value))

    def __repr__(self) -> str:
        # logfmt quoting already shows where a string ends; repr's own quotes would be noise.
        return quote(self.value if isinstance(self.value, str) else repr(self.value))


def _quoted_args(args: tuple[object, ...]) -> tuple[object, ...]:
    # Numbers keep their type so %d and %.3f still work; everything else gets quoted.
    return tuple(a if isinstance(a, int | float) and not isinstance(a, bool) else _Quoted(a)
                 for a in args)


def message_fields(record: logging.LogRecord) -> str:
    """The record's message as logfmt pairs: kept if it already is, else ``msg="..."``."""
    template = record.msg if isinstance(record.msg, str) else None
    if (template is not None and isinstance(record.args, tuple) and record.args
            and is_logfmt(template)):
        try:
            text = template % _quoted_args(record.args)
        except (TypeError, ValueError):
            text = None
        if text is not None and is_logfmt(text):
            return text
    message = record.getMessage()
    if is_logfmt(message):
        return message.strip()
    return "msg=" + quote(message)


class LogfmtFormatter(logging.Formatter):
    """Formats records as logfmt lines, for journald (priority prefix) or a terminal (ts=)."""

    def __init__(self, *, is_journal: bool) -> None:
        super().__init__()
        self.is_journal = is_journal
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        """One line: prefix, level, logger, the message's pairs, then exc= and stack=."""
        level = record.levelname.lower()
        parts = [f"level={quote(level)}", f"logger={quote(record.name)}", message_fields(record)]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            parts.append("exc=" + quote(record.exc_text))
        if record.stack_info:
            parts.append("stack=" + quote(self.formatStack(record.stack_info)))
        line = redact(" ".join(parts))
        if self.is_journal:
            return f"<{priority(record.levelno)}>{line}"
        return f"ts={self._timestamp(record.created)} {line}"

    def _timestamp(self, created: float) -> str:
        # ISO 8601 in UTC; the seconds part is formatted once per second, it is the costly bit.
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"


def priority(levelno: int) -> int:
    """The syslog priority for a logging level."""
    for threshold, prio in _PRIORITY:
        if levelno >= threshold:
            return prio
    return _DEBUG_PRIORITY


def is_journal_stream(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True if journald reads this stream: ``$JOURNAL_STREAM`` is its ``device:inode``.

    systemd.exec(5): a service must compare the variable with fstat() of its stderr, since a
    child whose stderr was redirected inherits the variable all the same.
    """
    env = os.environ if environ is None else environ
    value = env.get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not sep:
        return False
    try:
        stat = os.fstat(stream.fileno())
        return (stat.st_dev, stat.st_ino) == (int(device), int(inode))
    except (OSError, ValueError, AttributeError):
        # io.StringIO and friends have no descriptor (UnsupportedOperation is an OSError).
        return False


# Records waiting for the writer; past this, records are dropped (and counted) rather than
# let memory grow while stderr is stalled.
QUEUE_RECORDS = 10_000
# Our own packages log at debug when asked; any other logger needs to be named for that.
OWN_LOGGERS = ("hubd", "radios", "rules", "tools", "__main__")


class _LibraryDebugFilter(logging.Filter):
    """Drops debug records of loggers that are not ours, unless they were asked for by name."""

    def __init__(self, debug_loggers: Iterable[str]) -> None:
        super().__init__()
        self.prefixes = tuple(OWN_LOGGERS) + tuple(debug_loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        name = record.name
        return any(name == p or name.startswith(p + ".") for p in self.prefixes)


class _HubdHandler(logging.handlers.QueueHandler):
    """Puts records in the writer's queue; never blocks the caller, drops when it is full."""

    def __init__(self, records: queue.Queue[logging.LogRecord | threading.Event | None],
                 formatter: LogfmtFormatter) -> None:
        super().__init__(records)
        self.records = records
        self.dropped = 0
        self._exc_formatter = formatter

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy with its message built now (arguments may change later) and its traceback
        as text, so the writer needs nothing that belongs to the caller's thread."""
        fields = message_fields(record)
        exc_text = record.exc_text
        if record.exc_info and not exc_text:
            exc_text = self._exc_formatter.formatException(record.exc_info)
        prepared = copy.copy(record)
        prepared.msg, prepared.args = fields, None
        prepared.exc_info, prepared.exc_text = None, exc_text
        return prepared

    def enqueue(self, record: logging.LogRecord) -> None:
        """Queue the record, or drop and count it if the writer is that far behind."""
        try:
            if self.dropped and self.records.qsize() < QUEUE_RECORDS // 2:
                self.records.put_nowait(self._dropped_record())
            self.records.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _dropped_record(self) -> logging.LogRecord:
        record = logging.LogRecord("hubd.log", logging.WARNING, __file__, 0,
                                   f"event=log_dropped count={self.dropped} "
                                   "reason=log_writer_behind", None, None)
        self.dropped = 0
        return record


class _Writer:
    """The thread that formats and writes the queued records; the only one touching stderr."""

    def __init__(self, handler: logging.Handler) -> None:
        self.records: queue.Queue[logging.LogRecord | threading.Event | None] = queue.Queue(
            QUEUE_RECORDS)
        self.handler = handler
        self.thread = threading.Thread(target=self._run, name="hubd-log", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.records.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                self.handler.flush()
                item.set()
                continue
            self.handler.handle(item)

    def flush(self, timeout_s: float) -> bool:
        """Wait until what was queued before now is written; False if that took too long."""
        done = threading.Event()
        try:
            self.records.put(done, timeout=timeout_s)
        except queue.Full:
            return False
        return done.wait(timeout_s)

    def stop(self, timeout_s: float) -> None:
        """Write what is queued (for at most timeout_s: stderr may be stuck), then end."""
        try:
            self.records.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self.thread.join(timeout_s)


_writer: _Writer | None = None


def flush_logging(timeout_s: float = 5.0) -> bool:
    """Wait until every record logged so far is written; False if stderr is stuck."""
    return _writer.flush(timeout_s) if _writer is not None else True


def shutdown_logging(timeout_s: float = 2.0) -> None:
    """Write what is queued, bounded in time, and stop the writer (at exit, and for tests)."""
    global _writer
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HubdHandler)]:
        root.removeHandler(old)
    writer, _writer = _writer, None
    if writer is not None:
        writer.stop(timeout_s)


def setup_logging(level: str, *, stream: TextIO | None = None,
                  environ: Mapping[str, str] | None = None,
                  debug_loggers: Iterable[str] = ()) -> None:
    """Send every logger's records, from ``level`` up, to stream (stderr) as logfmt lines,
    through the writer thread; other libraries' debug records only if named in debug_loggers."""
    global _writer
    try:
        wanted = LogLevel(level.lower())
    except ValueError:
        choices = ", ".join(lv.value for lv in LogLevel)
        raise InvalidValueError(f"unknown log level {level!r}; use one of {choices}") from None
    target = sys.stderr if stream is None else stream
    formatter = LogfmtFormatter(is_journal=is_journal_stream(target, environ))
    output = logging.StreamHandler(target)
    output.setFormatter(formatter)
    shutdown_logging()
    _writer = _Writer(output)
    handler = _HubdHandler(_writer.records, formatter)
    handler.addFilter(_LibraryDebugFilter(debug_loggers))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(wanted.upper())
    # Python's warnings (deprecations in dependencies) become records like the rest.
    logging.captureWarnings(True)


atexit.register(shutdown_logging)
