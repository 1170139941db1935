"""The simulator as a whole: one ZStack engine on a pty or TCP port, its devices and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from radios.zigbee.sim.commands import ResetReason
from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.kinds import DeviceKind, DeviceSpec
from radios.zigbee.sim.network import DataRequest
from radios.zigbee.sim.nvram import NvStore
from radios.zigbee.sim.transport import LineTransport, PtyPort, TcpPort
from radios.zigbee.sim.wire import format_ieee, parse_ieee
from radios.zigbee.sim.zstack import Faults, UnknownRequest, ZStack, ZStackConfig


class Simulator:
    """A simulated TI Z-Stack coordinator with simulated devices, on a pty or TCP.

    Use as ``async with Simulator() as sim:`` (a pty) or call ``start_pty()`` /
    ``start_tcp()`` and ``close()``; ``sim.path`` is what zigpy opens.
    """

    def __init__(
        self,
        config: ZStackConfig | None = None,
        nv: NvStore | None = None,
        *,
        baud_rate: int | None = None,
        link_dir: Path | None = None,
    ) -> None:
        self.config = config or ZStackConfig()
        self._initial_nv = nv
        self._baud_rate = baud_rate
        self._link_dir = link_dir
        self.zstack: ZStack | None = None
        self._transport: LineTransport | None = None
        self._port: PtyPort | TcpPort | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def _build(self) -> LineTransport:
        loop = asyncio.get_running_loop()
        self.zstack = ZStack(self.config, self._initial_nv, clock=loop.time)
        self._transport = LineTransport(self.zstack, baud_rate=self._baud_rate)
        return self._transport

    async def start_pty(self) -> str:
        """Power up on a new pty; returns the path the host opens (a stable symlink)."""
        transport = self._build()
        port = PtyPort(transport, self._link_dir)
        port.open()
        self._port = port
        self.engine.reset(ResetReason.POWER_UP)
        return port.path

    async def start_tcp(self, port: int = 0) -> str:
        """Power up behind a TCP listener on 127.0.0.1; returns ``socket://127.0.0.1:PORT``."""
        transport = self._build()
        tcp = TcpPort(transport, port)
        await tcp.open()
        self._port = tcp
        self.engine.reset(ResetReason.POWER_UP)
        return tcp.path

    async def close(self) -> None:
        """Unplug for good and remove the pty symlink."""
        if isinstance(self._port, PtyPort):
            self._port.remove()
        elif self._port is not None:
            self._port.close()
        if self._transport is not None:
            self._transport.close()

    async def __aenter__(self) -> Simulator:
        await self.start_pty()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def engine(self) -> ZStack:
        """The running engine (after start)."""
        if self.zstack is None:
            raise RuntimeError("the simulator is not started")
        return self.zstack

    @property
    def line(self) -> LineTransport:
        """The byte mover between the engine and the port (its stamps serve benchmarks)."""
        if self._transport is None:
            raise RuntimeError("the simulator is not started")
        return self._transport

    @property
    def path(self) -> str:
        """What zigpy opens: the pty symlink or the socket:// URL."""
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port.path

    @property
    def baud_rate(self) -> int | None:
        """The emulated line speed (None: no line emulation, bytes move at once)."""
        return self._baud_rate

    @baud_rate.setter
    def baud_rate(self, baud_rate: int | None) -> None:
        """Change the line emulation now (running) or for the next start."""
        if baud_rate is not None and baud_rate <= 0:
            raise ValueError(f"baud rate must be positive, not {baud_rate}")
        self._baud_rate = baud_rate
        if self._transport is not None:
            self._transport.baud_rate = baud_rate

    @property
    def nv(self) -> NvStore:
        """The stick's NV memory."""
        return self.engine.nv

    @property
    def faults(self) -> Faults:
        """Fault knobs of the coordinator (hang, confirms, corruption, broadcast limits)."""
        return self.engine.faults

    @property
    def unknown_requests(self) -> list[UnknownRequest]:
        """Requests answered with "command not recognized"; a test should end with none."""
        return self.engine.unknown_requests

    @property
    def multicasts(self) -> list[DataRequest]:
        """Group-addressed AF data requests the host sent, in order."""
        return self.engine.network.multicasts

    @property
    def line_byte_time_s(self) -> float:
        """How long one byte takes on the emulated line now (0 without emulation)."""
        return self._transport.byte_time_s if self._transport is not None else 0.0

    @property
    def requests_seen(self) -> list[str]:
        """Wire names of every request received, in order."""
        return self.engine.requests_seen

    # --- devices ----------------------------------------------------------------------------

    def add_device(
        self,
        kind: DeviceKind,
        ieee: int | str,
        *,
        is_joined: bool = False,
        nwk: int | None = None,
        manufacturer: str = "hubd-sim",
        model: str | None = None,
    ) -> SimDevice:
        """A device in range: joined already (to the network in NV; keep its ``nwk`` to match
        the host's database), or joining at the next permit-join window."""
        address = parse_ieee(ieee) if isinstance(ieee, str) else ieee
        spec = DeviceSpec(address, kind, manufacturer=manufacturer, model=model)
        return self.engine.network.add(spec, is_joined=is_joined, nwk=nwk)

    def add_devices(
        self, kinds: Iterable[DeviceKind], *, is_joined: bool = False
    ) -> list[SimDevice]:
        """Several devices with generated addresses ``00:0d:6f:00:00:00:xx:yy``."""
        start = len(self.engine.network.devices)
        return [
            self.add_device(kind, 0x000D6F0000000000 + start + i + 1, is_joined=is_joined)
            for i, kind in enumerate(kinds)
        ]

    def device(self, ieee: int | str) -> SimDevice:
        """The device with this IEEE address, for its physical-event hooks."""
        address = parse_ieee(ieee) if isinstance(ieee, str) else ieee
        try:
            return self.engine.network.devices[address]
        except KeyError:
            raise KeyError(f"no simulated device {format_ieee(address)}") from None

    @property
    def devices(self) -> list[SimDevice]:
        """All simulated devices."""
        return list(self.engine.network.devices.values())

    # --- faults -----------------------------------------------------------------------------

    def unplug(self) -> None:
        """Pull the stick: the host loses the port; NV is kept."""
        if self._port is not None:
            self._port.close()

    async def replug(self) -> None:
        """Plug the stick back in: it powers up (SYS.ResetInd) with the NV it had."""
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        if isinstance(self._port, PtyPort):
            self._port.open()
        else:
            await self._port.open()
        self.engine.reset(ResetReason.POWER_UP)

    def hang(self, is_hung: bool = True) -> None:
        """Stop (or resume) answering anything, as a crashed firmware does."""
        self.engine.faults.is_hung = is_hung

    def reset(self, reason: ResetReason = ResetReason.WATCHDOG) -> None:
        """A spontaneous reset: SYS.ResetInd, endpoints and the running network gone."""
        self.engine.reset(reason)

    def inject_garbage(self, data: bytes) -> None:
        """Put raw bytes on the line to the host."""
        self.engine.inject(data)
