"""The simulated TI Z-Stack 3.30 coordinator (a CC2652 running ZNP firmware), sans-I/O.

Theory of operation: bytes from the host go in through ``receive_data(data, now)``; the MT
decoder turns them into frames; each request is looked up in the command table
(commands.REQUESTS) and run by its handler, which returns the SRSP payload (SREQ) or nothing
(AREQ) and may queue callbacks (AREQ frames) now or later. Frames for the host come out of
``data_to_send()``; work due later (delayed confirms, permit-join expiry, device answers) is
run by ``handle_timers(now)`` at ``next_deadline()``. Unknown requests get an RPC error
(MT API 2.1.3) and are kept in ``unknown_requests``.

The NV store is the stick's memory: network state is derived from it at every reset, so a
reset restores the network exactly as Z-Stack does from flash. Fault knobs live in
``faults`` (see Faults) and on each device.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from radios.zigbee.sim.commands import (
    REQUESTS,
    ResetReason,
    RpcErrorCode,
    Rsp,
    Status,
    describe,
    srsp,
)
from radios.zigbee.sim.handlers import HANDLERS
from radios.zigbee.sim.lifecycle import reboot
from radios.zigbee.sim.mt import CommandType, MtDecoder, MtFrame, Subsystem
from radios.zigbee.sim.network import Network
from radios.zigbee.sim.nvram import NvStore, factory_nv
from radios.zigbee.sim.wire import PayloadError, Reader, u8


@dataclass(frozen=True, slots=True)
class ZStackConfig:
    """How the simulated stick is built: its IEEE address, firmware build and table sizes.

    ``pan_id``, ``extended_pan_id`` and ``network_key`` seed a factory-fresh stick's NV;
    left None they are random at formation (PAN id, key) or the IEEE (extended PAN id).
    """

    ieee: int = 0x00124B0000000001
    code_revision: int = 20240315
    pan_id: int | None = None
    extended_pan_id: int | None = None
    network_key: bytes | None = None
    addr_table_size: int = 64
    boot_time_s: float = 0.0
    seed: int | None = None


@dataclass
class Faults:
    """Fault knobs; change them at any time from a test or the demo."""

    is_hung: bool = False  # swallow every byte, answer nothing
    confirm_delay_s: float = 0.0  # late AF.DataConfirm
    is_dropping_confirms: bool = False  # missing AF.DataConfirm
    corrupt_next_frames: int = 0  # this many outgoing frames get a wrong FCS
    is_formation_stalled: bool = False  # a network formation starts and never ends
    max_broadcasts: int = 9  # broadcast transaction table size (Z-Stack MAX_BCAST)
    broadcast_window_s: float = 3.0  # how long a broadcast holds its entry (BCAST_DELIVERY)
    broadcast_full_status: int = Status.BUFFER_FULL
    broadcasts: deque[float] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class UnknownRequest:
    """A request the simulator does not implement, answered with an RPC error."""

    name: str
    payload: bytes


class ZStack:
    """A Z-Stack 3.30 coordinator: MT requests in, responses and callbacks out."""

    def __init__(
        self,
        config: ZStackConfig | None = None,
        nv: NvStore | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config or ZStackConfig()
        self._clock = clock
        self.rng = random.Random(self.config.seed)
        self.nv = nv if nv is not None else self.factory_nv()
        self.faults = Faults()
        self.network = Network(self, self.nv, rng=self.rng)
        self.decoder = MtDecoder()
        self.requests_seen: list[str] = []
        self.unknown_requests: list[UnknownRequest] = []
        self.malformed_requests: list[str] = []
        self.primary_channels = 0
        self.is_started = False
        self.tx_power_dbm = 5
        self.inter_pan_channel: int | None = None
        self.inter_pan_endpoints: set[int] = set()
        # APS group table of the coordinator's endpoints: endpoint -> group id -> name
        self.groups: dict[int, dict[int, bytes]] = {}
        self._zdp_tsn = itertools.count(self.rng.randrange(256))
        self._now = 0.0
        self._out = bytearray()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wakeup: Callable[[], None] | None = None
        self._held: list[MtFrame] | None = None

    def factory_nv(self) -> NvStore:
        """The NV of this stick fresh from flashing, seeded from the config."""
        from radios.zigbee.sim.nvram import OsalNv, osal
        from radios.zigbee.sim.wire import ieee_bytes, u16

        store = factory_nv(self.config.ieee, addr_table_size=self.config.addr_table_size)
        if self.config.pan_id is not None:
            store.put(osal(OsalNv.PANID), u16(self.config.pan_id))
        if self.config.extended_pan_id is not None:
            store.put(osal(OsalNv.APS_USE_EXT_PANID), ieee_bytes(self.config.extended_pan_id))
        key = self.config.network_key or bytes(self.rng.getrandbits(8) for _ in range(16))
        store.put(osal(OsalNv.PRECFGKEY), key)
        return store

    # --- sans-I/O surface -----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes the host wrote; responses become available from data_to_send()."""
        self._now = max(self._now, now)
        if self.faults.is_hung:
            return
        self.decoder.receive_data(data)
        for frame in self.decoder.frames_received():
            self._handle_frame(frame)

    def data_to_send(self) -> bytes:
        """Bytes for the host, in order; empty when there are none."""
        data, self._out = bytes(self._out), bytearray()
        return data

    def next_deadline(self) -> float | None:
        """When handle_timers() must next run, or None if nothing is scheduled."""
        return self._timers[0][0] if self._timers else None

    def handle_timers(self, now: float) -> None:
        """Run the work that is due: delayed frames, permit-join expiry, device answers."""
        self._now = max(self._now, now)
        while self._timers and self._timers[0][0] <= self._now:
            _, _, action = heapq.heappop(self._timers)
            action()

    def set_wakeup(self, wakeup: Callable[[], None] | None) -> None:
        """Called whenever output or timers appear outside receive_data (hooks, faults)."""
        self._wakeup = wakeup

    def advance(self, now: float) -> None:
        """Tell the engine the time without feeding bytes (used before running hooks)."""
        self._now = max(self._now, now)

    # --- Radio interface (for the network) ------------------------------------------------

    def now(self) -> float:
        """The engine's current time (the injected clock's, when there is one)."""
        if self._clock is not None:
            self._now = max(self._now, self._clock())
        return self._now

    def emit(self, frame: MtFrame, delay_s: float = 0.0) -> None:
        """Queue a frame for the host, now or after a delay."""
        if delay_s > 0:
            self.call_later(delay_s, lambda: self.emit(frame))
            return
        if self.faults.is_hung:
            return
        if self._held is not None:
            self._held.append(frame)
            return
        encoded = frame.encode()
        if self.faults.corrupt_next_frames > 0:
            self.faults.corrupt_next_frames -= 1
            encoded = encoded[:-1] + bytes((encoded[-1] ^ 0xFF,))
        self._out += encoded
        if self._wakeup is not None:
            self._wakeup()

    def next_zdp_tsn(self) -> int:
        """The transaction sequence number of the next ZDO request the stack originates."""
        return next(self._zdp_tsn) & 0xFF

    def call_later(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run an action after ``delay_s`` of engine time."""
        heapq.heappush(self._timers, (self.now() + delay_s, next(self._seq), action))
        if self._wakeup is not None:
            self._wakeup()

    def inject(self, raw: bytes) -> None:
        """Put raw bytes on the line to the host (garbage, partial frames)."""
        self._out += raw
        if self._wakeup is not None:
            self._wakeup()

    # --- dispatch -------------------------------------------------------------------------

    def _handle_frame(self, frame: MtFrame) -> None:
        name = describe(frame)
        self.requests_seen.append(name)
        command = REQUESTS.get((frame.type, frame.subsystem, frame.command_id))
        if command is None or frame.type not in (CommandType.SREQ, CommandType.AREQ):
            self._unknown(frame, name)
            return
        handler = HANDLERS[command.name]
        # The SRSP goes before any callback the handler raises (MT API 2.2: an SREQ is
        # answered synchronously), so callbacks are held until the SRSP is out.
        self._held = []
        try:
            response = handler(self, Reader(frame.payload))
        except PayloadError as exc:
            self.malformed_requests.append(f"{name}: {exc}")
            self._held = None
            self._rpc_error(frame, RpcErrorCode.INVALID_LENGTH)
            return
        held, self._held = self._held, None
        if command.type is CommandType.SREQ:
            self.emit(srsp(command, response or b""))
        for callback in held:
            self.emit(callback)

    def _unknown(self, frame: MtFrame, name: str) -> None:
        self.unknown_requests.append(UnknownRequest(name, frame.payload))
        if frame.type is CommandType.SREQ:
            known_subsystems = {d.subsystem for d in REQUESTS.values()}
            code = (
                RpcErrorCode.INVALID_COMMAND_ID
                if frame.subsystem in known_subsystems
                else RpcErrorCode.INVALID_SUBSYSTEM
            )
            self._rpc_error(frame, code)

    def _rpc_error(self, frame: MtFrame, code: RpcErrorCode) -> None:
        # 2.1.3: the error carries the offending request's CMD0 and CMD1
        self.emit(Rsp.RPC_ERROR.frame(u8(code) + u8(frame.cmd0) + u8(frame.command_id)))

    # --- power --------------------------------------------------------------------------

    def reset(self, reason: ResetReason = ResetReason.POWER_UP) -> None:
        """Boot or re-boot the stick (power-up, watchdog): state from NV, then SYS.ResetInd.

        Called unprompted it is a spontaneous reset: endpoints, callbacks and the running
        network are gone until the host starts them again."""
        reboot(self, reason)


def random_ieee() -> int:
    """A random IEEE address in TI's OUI (00:12:4b), as a fresh stick would have."""
    return (0x00124B << 40) | int.from_bytes(os.urandom(5), "big")


__all__ = ["Faults", "Subsystem", "UnknownRequest", "ZStack", "ZStackConfig", "random_ieee"]
