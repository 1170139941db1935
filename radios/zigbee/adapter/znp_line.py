"""zigpy-znp's serial protocol with MT frames cut and built by plain byte operations.

Theory of operation. On the UART, Z-Stack's MT frames are ``SOF (0xFE) | Length | Cmd0 | Cmd1
| Data (Length bytes) | FCS``, the FCS being the XOR of Length, Cmd0, Cmd1 and Data (Z-Stack
Monitor and Test API, 2.1.1 "General frame format" and its UART transport). zigpy-znp's
``ZnpMtProtocol`` reads and writes them through its generic types: each frame read is parsed
field by field into zigpy integer objects, serialized back to compute its FCS, and rendered
as a hex string for its trace log whether or not that log is on (the argument is built
before the call); each frame written is serialized twice (once for the FCS) and rendered
again. On a door's frame and the rule's command that was ~40 + ~30 µs of Python in a hot
loop, several times that on a hub's cold caches, on the path of every frame.

``MtLine`` keeps zigpy-znp's protocol and changes only how the bytes are cut and built: it
hands zigpy-znp's MT API the same ``GeneralFrame`` objects (header and data as zigpy-znp's
own types), one per frame, in order; a frame whose FCS or length is wrong is dropped up to
the next SOF, as zigpy-znp does; an exception from the API is logged and the next frame
goes on, as zigpy-znp does; its trace log says the same things, rendered only when that log
is on. ``send`` (what zigpy-znp's MT API calls for every request) builds the frame's bytes
and hands them to ``write``, as before.
"""

from __future__ import annotations

import functools
import logging
import operator
import struct
from typing import Any

import zigpy_znp.frames as frames
import zigpy_znp.logger
import zigpy_znp.types as t
from zigpy_znp.uart import ZnpMtProtocol

# zigpy-znp's own logger and level, so its trace log still shows the line.
log = logging.getLogger(ZnpMtProtocol.__module__)
_TRACE = zigpy_znp.logger.TRACE

_SOF = 0xFE
_MAX_LENGTH = 250  # MT's limit on a frame's data (zigpy-znp's too)
_OVERHEAD = 5  # SOF, Length, Cmd0, Cmd1, FCS
_LENGTH_COMMAND = struct.Struct("<BH")  # Length, then Cmd0 | Cmd1 << 8
_SOF_BYTE = bytes((_SOF,))


def fcs(data: bytes) -> int:
    """The MT frame check sequence: the XOR of every byte from Length to the last of Data."""
    return functools.reduce(operator.xor, data, 0)


class MtLine(ZnpMtProtocol):  # type: ignore[misc]
    """zigpy-znp's MT protocol; frames cut and built with byte operations (same frames)."""

    def data_received(self, data: bytes) -> None:
        """Append to the buffer and hand each whole frame to zigpy-znp's MT API, in order."""
        buffer: bytearray = self._buffer
        buffer += data
        if log.isEnabledFor(_TRACE):
            log.log(_TRACE, "Received data: %s", t.Bytes.__repr__(data))
        while True:
            frame = _cut(buffer)
            if frame is None:
                return
            if log.isEnabledFor(_TRACE):
                log.log(_TRACE, "Parsed frame: %s", frame)
            try:
                self._api.frame_received(frame)
            except Exception:  # as zigpy-znp: the next frame still goes on
                log.exception("Received an exception while passing frame to API: %s", frame)

    def send(self, payload: frames.GeneralFrame) -> None:
        """Write one frame: SOF, Length, the command, Data and FCS."""
        body = _LENGTH_COMMAND.pack(len(payload.data), payload.header) + payload.data
        self.write(_SOF_BYTE + body + bytes((fcs(body),)))

    def write(self, data: bytes) -> None:
        """Hand bytes to the transport (traced as zigpy-znp does, when its trace log is on)."""
        if log.isEnabledFor(_TRACE):
            log.log(_TRACE, "Sending data: %s", t.Bytes.__repr__(data))
        self._transport.write(data)


def _cut(buffer: bytearray) -> Any:
    """The next whole frame taken off the buffer's front (garbage before it dropped), or None
    while the buffer holds no whole frame."""
    while buffer:
        if buffer[0] != _SOF:
            _skip(buffer)
            continue
        if len(buffer) < _OVERHEAD:
            return None
        length = buffer[1]
        if length > _MAX_LENGTH:
            _skip(buffer)
            continue
        end = length + _OVERHEAD
        if len(buffer) < end:
            return None
        body = bytes(buffer[1:end - 1])  # Length, Cmd0, Cmd1, Data
        if fcs(body) != buffer[end - 1]:
            _skip(buffer)
            continue
        del buffer[:end]
        command = _LENGTH_COMMAND.unpack_from(body)[1]
        return frames.GeneralFrame(t.CommandHeader(command), t.Bytes(body[3:]))
    return None


def _skip(buffer: bytearray) -> None:
    """Drop the buffer's front up to the next SOF after the first byte (all of it if none)."""
    start = buffer.find(_SOF_BYTE, 1)
    del buffer[:start if start > 0 else len(buffer)]
