"""LIP framing, sans-I/O: bytes in, lines and prompts out; telnet IAC bytes and garbage skipped.

Theory of operation. The Integration Protocol is line oriented: every message ends in CR LF (some
firmware sends a bare CR, and some terminals a bare LF; all three end a line here). Prompts are
not lines: ``GNET> `` (RadioRA 2, HomeWorks QS) or ``QNET> `` (Quantum, QS standalone) is printed
with no terminator once a command has been processed, so it prefixes the next line; the telnet
login prints ``login: `` and ``password: `` the same way. A client decoder recognises those four at
the start of a line; a server decoder (the simulator's) sees only lines.

Telnet negotiation (IAC ...) is not part of LIP: the repeaters do not negotiate, but clients such
as telnetlib3 do, so IAC sequences are removed wherever they occur, across chunk boundaries.

The buffer is bounded: a line longer than ``max_line_bytes`` is dropped (counted in
``overlong_lines``) and the decoder resynchronises at the next terminator. A line that is not
ASCII is dropped and counted in ``undecodable_lines``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

CR, LF = 0x0D, 0x0A


class Telnet(IntEnum):
    """RFC 854 command bytes the decoder has to step over."""

    SE = 240
    SB = 250
    WILL = 251
    WONT = 252
    DO = 253
    DONT = 254
    IAC = 255


@dataclass(frozen=True, slots=True)
class Line:
    """One complete line, terminator removed."""

    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """The command prompt (``GNET> `` or ``QNET> ``): the repeater is ready for the next command."""

    name: str


@dataclass(frozen=True, slots=True)
class LoginPrompt:
    """The telnet server asks for the user name (``login: ``)."""


@dataclass(frozen=True, slots=True)
class PasswordPrompt:
    """The telnet server asks for the password (``password: ``)."""


Frame = Line | Prompt | LoginPrompt | PasswordPrompt

_PROMPTS: tuple[tuple[bytes, Frame], ...] = (
    (b"GNET> ", Prompt("GNET")),
    (b"QNET> ", Prompt("QNET")),
    (b"login: ", LoginPrompt()),
    (b"password: ", PasswordPrompt()),
)


class _Iac(IntEnum):
    """Where the IAC filter is inside a telnet command."""

    DATA = 0
    COMMAND = 1  # after IAC
    OPTION = 2  # after IAC WILL/WONT/DO/DONT
    SUB = 3  # inside IAC SB ... IAC SE
    SUB_IAC = 4  # IAC inside a subnegotiation


class LineDecoder:
    """Split a byte stream into LIP frames; keeps at most ``max_line_bytes`` between calls."""

    def __init__(self, *, max_line_bytes: int = 256, recognise_prompts: bool = True) -> None:
        if max_line_bytes < 16:
            raise ValueError("max_line_bytes must be at least 16")
        self.max_line_bytes = max_line_bytes
        self._prompts = _PROMPTS if recognise_prompts else ()
        self._buf = bytearray()
        self._iac = _Iac.DATA
        self._skip_lf = False  # the last terminator was CR: a following LF belongs to it
        self._discarding = False  # inside an over-long line, until its terminator
        self.overlong_lines = 0
        self.undecodable_lines = 0

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of their line."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> list[Frame]:
        """Feed bytes; return the frames they complete."""
        if self._iac is _Iac.DATA and Telnet.IAC not in data:
            self._buf += data
        else:
            self._buf += self._strip_iac(data)
        frames: list[Frame] = []
        while self._next(frames):
            pass
        return frames

    def _strip_iac(self, data: bytes) -> bytes:
        """Remove telnet commands (RFC 854), remembering a command cut by the chunk's end."""
        out = bytearray()
        state = self._iac
        for byte in data:
            if state is _Iac.DATA:
                if byte == Telnet.IAC:
                    state = _Iac.COMMAND
                else:
                    out.append(byte)
            elif state is _Iac.COMMAND:
                if Telnet.WILL <= byte <= Telnet.DONT:
                    state = _Iac.OPTION
                elif byte == Telnet.SB:
                    state = _Iac.SUB
                else:  # a two-byte command (NOP, GA...) or IAC IAC (a data 0xFF: not ASCII)
                    state = _Iac.DATA
            elif state is _Iac.OPTION:
                state = _Iac.DATA
            elif state is _Iac.SUB:
                if byte == Telnet.IAC:
                    state = _Iac.SUB_IAC
            else:  # SUB_IAC
                state = _Iac.DATA if byte == Telnet.SE else _Iac.SUB
        self._iac = state
        return bytes(out)

    def _next(self, frames: list[Frame]) -> bool:
        """Take one frame (or one skipped piece) off the buffer; False when more data is needed."""
        buf = self._buf
        if not buf:
            return False
        if self._skip_lf:
            self._skip_lf = False
            if buf[0] == LF:
                del buf[0]
                return True
        end = _terminator(buf)
        if self._discarding:
            if end < 0:
                buf.clear()
                return False
            self._discarding = False
            self._cut(end)
            return True
        took = self._take_prompt(end, frames)
        if took is not None:
            return took
        if end < 0:
            if len(buf) > self.max_line_bytes:
                self.overlong_lines += 1
                self._discarding = True
                buf.clear()
            return False
        line = self._cut(end)
        if len(line) > self.max_line_bytes:
            self.overlong_lines += 1
        elif line:
            try:
                frames.append(Line(line.decode("ascii")))
            except UnicodeDecodeError:
                self.undecodable_lines += 1
        return True

    def _take_prompt(self, end: int, frames: list[Frame]) -> bool | None:
        """A prompt at the start of the buffer: True taken, False maybe one (wait), None not."""
        buf = self._buf
        for raw, frame in self._prompts:
            if buf.startswith(raw):
                del buf[: len(raw)]
                frames.append(frame)
                return True
            if end < 0 and raw.startswith(buf):
                return False  # maybe the start of a prompt: wait for the rest
        return None

    def _cut(self, end: int) -> bytes:
        """Remove a line and its terminator from the buffer; return the line."""
        line = bytes(self._buf[:end])
        self._skip_lf = self._buf[end] == CR
        del self._buf[: end + 1]
        return line


def _terminator(buf: bytearray) -> int:
    """Index of the first CR or LF, or -1."""
    cr, lf = buf.find(CR), buf.find(LF)
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)
