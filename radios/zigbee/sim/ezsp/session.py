"""The NCP side of an ASH link (UG101 section 3), sans-I/O.

Theory of operation. Bytes from the host go in with ``receive_data(data, now)``; EZSP frames
for the host with ``send(payload, now)``; timers run at ``next_deadline()`` through
``handle_timeout(now)``. Out come ``data_to_send()`` (bytes for the line) and
``events_received()`` (EZSP frames that arrived in order, and reset requests). No clock, no
sleep.

    state      on                                          to
    RESETTING  the engine reset; ``reset_done(code)``      CONNECTED  (RSTACK sent, numbers 0)
    CONNECTED  RST from the host                           RESETTING  (event ResetRequested)
    CONNECTED  ``max_timeouts`` ack timeouts in a row     FAILED     (ERROR sent)
    CONNECTED  ``fail(code)`` (an assert)                 FAILED     (ERROR sent)
    FAILED     RST from the host                           RESETTING
    FAILED     anything else                               FAILED     (ignored, 3.1)

Receiving (3.3, 3.4): an in-sequence DATA frame is delivered and acknowledged (ACK, or the
ackNum of the next DATA frame); a retransmitted copy of one already taken is acknowledged
again and not delivered; an out-of-sequence or damaged DATA frame is answered with one NAK
and the link stays in the Reject condition until a good frame arrives. Sending (3.5): up to
``window`` DATA frames are outstanding; an ackNum in any frame retires those before it; a
NAK resends every outstanding frame from its ackNum with reTx set; so does a timeout after
``t_rx_ack``, which doubles (up to 3.2 s) and comes back toward the measured round trip on
each acknowledgement (7/8 old + 1/2 measured, 3.5.1).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from radios.zigbee.sim.ezsp.framing import (
    Ack,
    BadFrame,
    Data,
    Deframer,
    Error,
    Frame,
    Nak,
    ResetCode,
    Rst,
    RstAck,
    encode,
)

T_RX_ACK_INIT_S = 1.6
T_RX_ACK_MIN_S = 0.4
T_RX_ACK_MAX_S = 3.2
MAX_TIMEOUTS = 4  # ACK_TIMEOUTS: consecutive timeouts before the NCP gives up


class LinkState(StrEnum):
    """Where the NCP's ASH link is (see the table in the module docstring)."""

    RESETTING = "resetting"
    CONNECTED = "connected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """An EZSP frame from the host, in order and once."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class ResetRequested:
    """The host sent RST: reset the NCP, then call ``reset_done``."""


AshEvent = FrameReceived | ResetRequested


@dataclass(slots=True)
class _Outstanding:
    frm_num: int
    payload: bytes
    sent_at: float


@dataclass(slots=True)
class AshCounters:
    """What went wrong on the link, for tests and the bench."""

    bad_frames: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    retransmissions: int = 0
    duplicates: int = 0
    timeouts: int = 0
    dropped_frames: int = 0


class AshSession:
    """One NCP end of an ASH link."""

    def __init__(self, *, window: int = 1, max_timeouts: int = MAX_TIMEOUTS) -> None:
        if not 1 <= window <= 7:
            raise ValueError(f"an ASH window is 1..7 frames, not {window}")
        self.window = window
        self.max_timeouts = max_timeouts
        self.state = LinkState.RESETTING
        self.counters = AshCounters()
        self.t_rx_ack_s = T_RX_ACK_INIT_S
        self.drop_next_frames = 0  # fault: that many outgoing DATA frames never reach the line
        self.nak_next_frames = 0  # fault: that many good host DATA frames get a NAK instead
        self._deframer = Deframer()
        self._out = bytearray()
        self._events: list[AshEvent] = []
        self._rx_next = 0  # frmNum of the next DATA frame we expect
        self._tx_next = 0  # frmNum of our next new DATA frame
        self._unacked: deque[_Outstanding] = deque()
        self._queued: deque[bytes] = deque()
        self._is_rejecting = False
        self._timeouts_in_row = 0
        self._deadline: float | None = None

    # --- sans-I/O surface -----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes from the host."""
        self._deframer.receive_data(data)
        for frame in self._deframer.frames_received():
            self._receive_frame(frame, now)

    def events_received(self) -> list[AshEvent]:
        """What the host sent since the last call, in order."""
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        """Bytes for the line, in order."""
        data, self._out = bytes(self._out), bytearray()
        return data

    def next_deadline(self) -> float | None:
        """When ``handle_timeout`` must run next (an ack timeout), or None."""
        return self._deadline

    def send(self, payload: bytes, now: float) -> None:
        """Queue one EZSP frame for the host; it goes out as soon as the window allows."""
        if self.state is not LinkState.CONNECTED:
            return  # 3.1: nothing but RSTACK/ERROR leaves a link that is not connected
        self._queued.append(payload)
        self._fill_window(now)

    def handle_timeout(self, now: float) -> None:
        """An acknowledgement is late: resend, or give up after ``max_timeouts``."""
        if self._deadline is None or now < self._deadline or not self._unacked:
            return
        self.counters.timeouts += 1
        self._timeouts_in_row += 1
        if self._timeouts_in_row >= self.max_timeouts:
            self.fail(ResetCode.EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT)
            return
        self.t_rx_ack_s = min(T_RX_ACK_MAX_S, 2 * self.t_rx_ack_s)
        self._resend_from(self._unacked[0].frm_num, now)

    def reset_done(self, code: int) -> None:
        """The NCP (re)booted: numbers start over, RSTACK tells the host why."""
        self.state = LinkState.CONNECTED
        self._rx_next = self._tx_next = 0
        self._unacked.clear()
        self._queued.clear()
        self._is_rejecting = False
        self._timeouts_in_row = 0
        self._deadline = None
        self.t_rx_ack_s = T_RX_ACK_INIT_S
        self._write(RstAck(code))

    def fail(self, code: int) -> None:
        """Enter the FAILED state and say so with an ERROR frame (3.1)."""
        self.state = LinkState.FAILED
        self._unacked.clear()
        self._queued.clear()
        self._deadline = None
        self._write(Error(code))

    def inject(self, raw: bytes) -> None:
        """Put raw bytes on the line, below framing (garbage, for fault injection)."""
        self._out += raw

    def forget_line(self) -> None:
        """The line went away (unplug): drop half-received bytes and pending output."""
        self._deframer = Deframer()
        self._out.clear()

    # --- receiving ------------------------------------------------------------------------

    def _receive_frame(self, frame: Frame | BadFrame, now: float) -> None:
        if isinstance(frame, Rst):
            self.state = LinkState.RESETTING
            self._events.append(ResetRequested())
            return
        if self.state is not LinkState.CONNECTED:
            return
        match frame:
            case BadFrame():
                self.counters.bad_frames += 1
                if frame.is_data:
                    self._reject()
            case Data():
                self._retire(frame.ack_num, now)
                self._receive_data_frame(frame)
            case Ack():
                self._retire(frame.ack_num, now)
            case Nak():
                self.counters.naks_received += 1
                self._retire(frame.ack_num, now)
                if self._unacked:
                    self._resend_from(frame.ack_num, now)
            case RstAck() | Error():
                self.counters.bad_frames += 1  # only an NCP sends these

    def _receive_data_frame(self, frame: Data) -> None:
        if frame.frm_num == self._rx_next and self.nak_next_frames > 0:
            # as if the frame arrived damaged: NAK it, the host resends it (3.4)
            self.nak_next_frames -= 1
            self.counters.naks_sent += 1
            self._write(Nak(self._rx_next))
            return
        if frame.frm_num == self._rx_next:
            self._rx_next = (self._rx_next + 1) % 8
            self._is_rejecting = False
            self._write(Ack(self._rx_next))
            self._events.append(FrameReceived(frame.payload))
        elif frame.is_retransmission:
            self.counters.duplicates += 1
            self._write(Ack(self._rx_next))  # 3.4: a retransmission is acknowledged again
        else:
            self._reject()

    def _reject(self) -> None:
        if not self._is_rejecting:
            self._is_rejecting = True
            self.counters.naks_sent += 1
            self._write(Nak(self._rx_next))

    # --- sending --------------------------------------------------------------------------

    def _retire(self, ack_num: int, now: float) -> None:
        """Every outstanding frame before ``ack_num`` arrived."""
        retired = False
        while self._unacked and (ack_num - self._unacked[0].frm_num) % 8 in range(
            1, len(self._unacked) + 1
        ):
            done = self._unacked.popleft()
            measured = now - done.sent_at
            self.t_rx_ack_s = max(
                T_RX_ACK_MIN_S, min(T_RX_ACK_MAX_S, 7 / 8 * self.t_rx_ack_s + measured / 2)
            )
            retired = True
        if retired:
            self._timeouts_in_row = 0
            self._deadline = now + self.t_rx_ack_s if self._unacked else None
            self._fill_window(now)

    def _fill_window(self, now: float) -> None:
        while self._queued and len(self._unacked) < self.window:
            payload = self._queued.popleft()
            outstanding = _Outstanding(self._tx_next, payload, now)
            self._tx_next = (self._tx_next + 1) % 8
            self._unacked.append(outstanding)
            self._transmit(outstanding, is_retransmission=False)
            if self._deadline is None:
                self._deadline = now + self.t_rx_ack_s

    def _resend_from(self, frm_num: int, now: float) -> None:
        for outstanding in self._unacked:
            if (outstanding.frm_num - frm_num) % 8 < len(self._unacked):
                outstanding.sent_at = now
                self.counters.retransmissions += 1
                self._transmit(outstanding, is_retransmission=True)
        self._deadline = now + self.t_rx_ack_s

    def _transmit(self, outstanding: _Outstanding, *, is_retransmission: bool) -> None:
        if self.drop_next_frames > 0:
            self.drop_next_frames -= 1
            self.counters.dropped_frames += 1
            return
        self._write(
            Data(outstanding.frm_num, self._rx_next, outstanding.payload, is_retransmission)
        )

    def _write(self, frame: Frame) -> None:
        self._out += encode(frame)


__all__ = [
    "AshCounters",
    "AshEvent",
    "AshSession",
    "FrameReceived",
    "LinkState",
    "ResetRequested",
]
