"""The simulated EmberZNet 7.4 NCP (an EFR32 running the NCP firmware), sans-I/O.

Theory of operation: bytes from the host go in through ``receive_data(data, now)`` to the ASH
session (session.py), which hands over EZSP frames in order and once. Each frame's header is
read (legacy ``seq fc id`` before the version exchange, extended ``seq fc_lo fc_hi id16`` of
EZSP v8+ after it, UG100 2.1), its id looked up in the command table (commands.py) and its
handler (handlers.py) run; the response goes back with the request's sequence number, then
any callbacks the handler raised (asynchronous callbacks, frame control 0x90, UART hosts get
them unasked). Unknown ids get ``invalidCommand`` (EzspStatus ERROR_INVALID_FRAME_ID) and
are kept in ``unknown_requests``. The shared Network reports over-the-air events
(events.py); ``report`` turns them into EZSP callbacks. Flash lives in ``tokens``, the
rest in ``ram``, which every reset clears.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hubd.core.errors import RemoteProtocolError
from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.events import ApsIncoming, NetworkEvent
from radios.zigbee.sim.ezsp import (
    callbacks,
    extended,
    handlers,
    messaging,
    networking,
    security,
    v14,
)
from radios.zigbee.sim.ezsp.commands import Command, EzspStatus, commands_of
from radios.zigbee.sim.ezsp.framing import ResetCode
from radios.zigbee.sim.ezsp.layouts import Value, decode, encode
from radios.zigbee.sim.ezsp.registry import HANDLERS
from radios.zigbee.sim.ezsp.session import AshSession, FrameReceived, ResetRequested
from radios.zigbee.sim.ezsp.state import BLANK_EUI64, Ram, Tokens
from radios.zigbee.sim.mt import MtFrame
from radios.zigbee.sim.network import Identity, Network
from radios.zigbee.sim.nvram import NvStore

SUPPORTED_VERSIONS = (12, 13, 14, 16, 17)
# importing them fills HANDLERS
_REGISTERED = (handlers, networking, messaging, security, extended)
FC_RESPONSE = 0x80
FC_ASYNC_CALLBACK = 0x10
FC_FORMAT_V1 = 0x01


@dataclass(frozen=True, slots=True)
class NcpConfig:
    """How the simulated stick is built: EUI64, firmware, protocol version, ASH window."""

    ieee: int = 0x8C6FB9FFFE000001
    protocol_version: int = 13
    stack_version: tuple[int, int, int, int] = (7, 4, 4, 0)
    build: int = 0
    window: int = 1
    boot_time_s: float = 0.0
    seed: int | None = None
    board_name: str = "hubd-sim EFR32MG24"


@dataclass
class NcpFaults:
    """Fault knobs; change them at any time from a test or the demo."""

    is_hung: bool = False  # swallow every byte, answer nothing (a wedged NCP)
    confirm_delay_s: float = 0.0  # late messageSentHandler
    is_dropping_confirms: bool = False  # no messageSentHandler
    drop_incoming_frames: int = 0  # this many host DATA frames vanish on the line


@dataclass(frozen=True, slots=True)
class UnknownRequest:
    """A frame the simulator does not implement, answered with invalidCommand."""

    frame_id: int
    payload: bytes


@dataclass
class _Pending:
    callbacks: list[tuple[str, tuple[Value, ...]]] = field(default_factory=list)


class EzspNetwork(Network):
    """The shared network, with formation read from the NCP's tokens instead of Z-Stack NV."""

    def __init__(self, ncp: Ncp) -> None:
        super().__init__(ncp, NvStore(), rng=ncp.rng, sink=ncp)
        self.ncp = ncp

    def _formed_ext_pan(self) -> int | None:
        stored = self.ncp.tokens.network
        return stored.extended_pan_id if stored is not None else None

    def device_sent(
        self, device: SimDevice, src_ep: int, dst_ep: int, cluster_id: int, data: bytes
    ) -> None:
        """A device transmitted to the coordinator: incomingMessageHandler, whatever endpoint.

        Unlike Z-Stack's afIncomingData, EmberZNet hands the host every APS data frame; its
        endpoint table (addEndpoint, RAM only, gone after each reset) answers ZDO alone."""
        if not self.is_reachable(device):
            return
        descriptor = self.endpoints.get(dst_ep)
        profile = descriptor.profile if descriptor is not None else device.descriptor.profile
        self.sink.report(
            ApsIncoming(device.nwk, device.ieee, profile, cluster_id, src_ep, dst_ep, data)
        )


class Ncp:
    """An EmberZNet NCP: ASH bytes in, responses and callbacks out."""

    def __init__(
        self,
        config: NcpConfig | None = None,
        tokens: Tokens | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config or NcpConfig()
        if self.config.protocol_version not in SUPPORTED_VERSIONS:
            raise ValueError(f"EZSP v{self.config.protocol_version} is not simulated")
        self._clock = clock
        self.rng = random.Random(self.config.seed)
        self.tokens = tokens if tokens is not None else Tokens()
        self.ram = Ram()
        self.faults = NcpFaults()
        version = self.config.protocol_version
        self.is_v14 = version >= 14  # sl_status_t and the v14 frame shapes (v14.py)
        self.commands = v14.commands_of(commands_of(13), version) if self.is_v14 else (
            commands_of(version))
        self._by_id = {c.frame_id: c for c in self.commands.values()}
        self.ash = AshSession(window=self.config.window)
        self.network = EzspNetwork(self)
        self.requests_seen: list[str] = []
        self.unknown_requests: list[UnknownRequest] = []
        self.malformed_requests: list[str] = []
        self.legacy_frames: list[bytes] = []  # legacy-header frames other than version
        self.host_resets = 0  # RST frames from the host
        self.aps_sequence = self.rng.randrange(256)
        self._now = 0.0
        self._seq = 0
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wakeup: Callable[[], None] | None = None
        self._held: _Pending | None = None
        self._eui64 = self._boot_eui64()

    # --- sans-I/O surface ------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes the host wrote."""
        self._now = max(self._now, now)
        if self.faults.is_hung:
            return
        if self.faults.drop_incoming_frames > 0 and b"\x7e" in data:
            self.faults.drop_incoming_frames -= 1
            data = data[data.index(b"\x7e") + 1 :]
        self.ash.receive_data(data, self._now)
        for event in self.ash.events_received():
            match event:
                case FrameReceived():
                    self._handle_frame(event.payload)
                case ResetRequested():
                    self.host_resets += 1
                    self.reset(ResetCode.SOFTWARE)
        self._kick()

    def data_to_send(self) -> bytes:
        """Bytes for the host, in order."""
        return b"" if self.faults.is_hung else self.ash.data_to_send()

    def next_deadline(self) -> float | None:
        """When handle_timers() must next run."""
        deadlines = [d for d in (self.ash.next_deadline(),) if d is not None]
        if self._timers:
            deadlines.append(self._timers[0][0])
        return min(deadlines) if deadlines else None

    def handle_timers(self, now: float) -> None:
        """Run due work: ASH retransmissions, delayed callbacks, joins, device answers."""
        self._now = max(self._now, now)
        self.ash.handle_timeout(self._now)
        while self._timers and self._timers[0][0] <= self._now:
            _, _, action = heapq.heappop(self._timers)
            action()

    def set_wakeup(self, wakeup: Callable[[], None] | None) -> None:
        """Called whenever output or timers appear outside receive_data."""
        self._wakeup = wakeup

    def advance(self, now: float) -> None:
        """Tell the engine the time without feeding bytes."""
        self._now = max(self._now, now)

    def inject(self, raw: bytes) -> None:
        """Put raw bytes on the line to the host (garbage)."""
        self.ash.inject(raw)
        self._kick()

    # --- Radio interface (for the network) -------------------------------------------------

    def now(self) -> float:
        """The engine's current time."""
        if self._clock is not None:
            self._now = max(self._now, self._clock())
        return self._now

    def emit(self, frame: MtFrame, delay_s: float = 0.0) -> None:
        """The network never sends MT frames through an NCP (it reports events)."""
        raise AssertionError(f"an EZSP NCP cannot send MT frame {frame}")

    def call_later(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run an action after ``delay_s`` of engine time."""
        heapq.heappush(self._timers, (self.now() + delay_s, next(self._order), action))
        self._kick()

    # --- EventSink (for the network) -------------------------------------------------------

    def report(self, event: NetworkEvent, delay_s: float = 0.0) -> None:
        """Turn a network event into the EZSP callbacks EmberZNet raises for it."""
        if delay_s > 0:
            self.call_later(delay_s, lambda: self.report(event))
            return
        for name, values in callbacks.for_event(self, event):
            self.callback(name, values)

    def callback(self, name: str, values: tuple[Value, ...]) -> None:
        """Send an asynchronous callback (after the response, if a command is running)."""
        if self._held is not None:
            self._held.callbacks.append((name, values))
            return
        command = self.commands[name]
        if self.is_v14:
            values = v14.adapt_callback(self, name, values)
        self._send(command, FC_RESPONSE | FC_ASYNC_CALLBACK, encode(command.response, values))

    # --- frames ------------------------------------------------------------------------------

    def _handle_frame(self, frame: bytes) -> None:
        if len(frame) < 3:
            self.malformed_requests.append(f"frame too short: {frame.hex()}")
            return
        self._seq = frame[0]
        if len(frame) >= 5 and frame[2] & 0x03 == FC_FORMAT_V1:
            frame_id, params = int.from_bytes(frame[3:5], "little"), frame[5:]
        elif frame[2] == 0x00:
            # UG100 2.1: the first version command uses the legacy (v4) header
            self._legacy_version(frame[3:])
            return
        else:
            # Any other legacy frame (a host that reset its protocol to v4): invalidCommand,
            # in the legacy header the host reads
            self.legacy_frames.append(frame)
            status = EzspStatus.ERROR_INVALID_FRAME_ID
            self.ash.send(bytes((self._seq, FC_RESPONSE, 0x58, status)), self._now)
            return
        command = self._by_id.get(frame_id)
        self.requests_seen.append(command.name if command else f"0x{frame_id:04x}")
        if command is None or command.is_callback:
            self.unknown_requests.append(UnknownRequest(frame_id, params))
            self._invalid(EzspStatus.ERROR_INVALID_FRAME_ID)
            return
        if not self.ram.is_version_set:
            self._invalid(EzspStatus.ERROR_VERSION_NOT_SET)
            return
        self._run(command, params)

    def _run(self, command: Command, params: bytes) -> None:
        try:
            args = decode(command.params, params)
        except RemoteProtocolError as exc:
            self.malformed_requests.append(f"{command.name}: {exc}")
            self._invalid(EzspStatus.ERROR_TRUNCATED)
            return
        self._held = _Pending()
        try:
            if self.is_v14:
                handler_args = v14.adapt_params(command.name, args)
                response = HANDLERS[command.name](self, handler_args)
                response = v14.adapt_response(self, command.name, args, response)
            else:
                response = HANDLERS[command.name](self, args)
        finally:
            held, self._held = self._held, None
        self._send(command, FC_RESPONSE, encode(command.response, response))
        for name, values in held.callbacks:
            self.callback(name, values)

    def _legacy_version(self, params: bytes) -> None:
        self.requests_seen.append("version")
        self.ram.is_version_set = True
        major, minor, patch, special = self.config.stack_version
        stack = major << 12 | minor << 8 | patch << 4 | special
        body = bytes((self.config.protocol_version, 2)) + stack.to_bytes(2, "little")
        self.ash.send(bytes((self._seq, FC_RESPONSE, 0x00)) + body, self._now)

    def _invalid(self, status: EzspStatus) -> None:
        body = v14.invalid_command(status).to_bytes(4, "little") if self.is_v14 else bytes(
            (status,))
        self._send(self.commands["invalidCommand"], FC_RESPONSE, body)

    def _send(self, command: Command, fc_low: int, body: bytes) -> None:
        header = bytes((self._seq, fc_low, FC_FORMAT_V1)) + command.frame_id.to_bytes(2, "little")
        self.ash.send(header + body, self._now)
        self._kick()

    def _kick(self) -> None:
        if self._wakeup is not None:
            self._wakeup()

    # --- power -----------------------------------------------------------------------------

    def reset(self, code: int = ResetCode.POWER_ON) -> None:
        """Boot or re-boot: RAM is gone, tokens stay, RSTACK says why (after boot time)."""
        self.ram = Ram()
        self._eui64 = self._boot_eui64()
        self._timers.clear()
        network = self.network
        network.endpoints.clear()
        network.permit_until = 0.0
        network.identity = None
        if self.config.boot_time_s > 0:
            self.call_later(self.config.boot_time_s, lambda: self._booted(code))
        else:
            self._booted(code)

    def _booted(self, code: int) -> None:
        self.ash.reset_done(code)
        self._kick()

    def start_network(self) -> None:
        """The stored network runs (networkInit, formNetwork): the network is up."""
        stored = self.tokens.network
        assert stored is not None
        self.ram.is_network_up = True
        self.network.identity = Identity(stored.pan_id, stored.extended_pan_id, stored.channel)
        self.network.coordinator.ieee = self.eui64

    @property
    def eui64(self) -> int:
        """The EUI64 the stack booted with: restored (NV3), else custom (MFG), else the chip's."""
        return self._eui64

    def _boot_eui64(self) -> int:
        for token in (self.tokens.restored_eui64, self.tokens.custom_eui64):
            if token != BLANK_EUI64:
                return int.from_bytes(token, "little")
        return self.config.ieee

    def next_aps_sequence(self) -> int:
        """The APS counter of the next frame the NCP sends."""
        self.aps_sequence = (self.aps_sequence + 1) & 0xFF
        return self.aps_sequence


__all__ = ["Ncp", "NcpConfig", "NcpFaults", "UnknownRequest"]
