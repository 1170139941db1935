"""The EZSP simulator as a whole: one Ncp engine on a pty or TCP port, its devices and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.ezsp.framing import ResetCode
from radios.zigbee.sim.ezsp.ncp import Ncp, NcpConfig, NcpFaults, UnknownRequest
from radios.zigbee.sim.ezsp.state import Tokens
from radios.zigbee.sim.kinds import DeviceKind, DeviceSpec
from radios.zigbee.sim.network import DataRequest
from radios.zigbee.sim.transport import LineTransport, PtyPort, TcpPort
from radios.zigbee.sim.wire import format_ieee, parse_ieee


class EzspSimulator:
    """A simulated Silicon Labs EmberZNet NCP with simulated devices, on a pty or TCP.

    Use as ``async with EzspSimulator() as sim:`` (a pty) or call ``start_pty()`` /
    ``start_tcp()`` and ``close()``; ``sim.path`` is what bellows opens.
    """

    def __init__(
        self,
        config: NcpConfig | None = None,
        tokens: Tokens | None = None,
        *,
        baud_rate: int | None = None,
        link_dir: Path | None = None,
    ) -> None:
        self.config = config or NcpConfig()
        self.tokens = tokens if tokens is not None else Tokens()
        self._baud_rate = baud_rate
        self._link_dir = link_dir
        self.ncp: Ncp | None = None
        self._transport: LineTransport | None = None
        self._port: PtyPort | TcpPort | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def _build(self) -> LineTransport:
        loop = asyncio.get_running_loop()
        self.ncp = Ncp(self.config, self.tokens, clock=loop.time)
        self._transport = LineTransport(self.ncp, baud_rate=self._baud_rate)
        return self._transport

    async def start_pty(self) -> str:
        """Power up on a new pty; returns the path the host opens (a stable symlink)."""
        port = PtyPort(self._build(), self._link_dir)
        port.open()
        self._port = port
        self.engine.reset(ResetCode.POWER_ON)
        return port.path

    async def start_tcp(self, port: int = 0) -> str:
        """Power up behind a TCP listener on 127.0.0.1; returns ``socket://127.0.0.1:PORT``."""
        tcp = TcpPort(self._build(), port)
        await tcp.open()
        self._port = tcp
        self.engine.reset(ResetCode.POWER_ON)
        return tcp.path

    async def close(self) -> None:
        """Unplug for good and remove the pty symlink."""
        if isinstance(self._port, PtyPort):
            self._port.remove()
        elif self._port is not None:
            self._port.close()
        if self._transport is not None:
            self._transport.close()

    async def __aenter__(self) -> EzspSimulator:
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
    def engine(self) -> Ncp:
        """The running engine (after start)."""
        if self.ncp is None:
            raise RuntimeError("the simulator is not started")
        return self.ncp

    @property
    def path(self) -> str:
        """What bellows opens: the pty symlink or the socket:// URL."""
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port.path

    @property
    def baud_rate(self) -> int | None:
        """The emulated line speed (None: bytes move at once)."""
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
    def faults(self) -> NcpFaults:
        """Fault knobs of the NCP."""
        return self.engine.faults

    @property
    def unknown_requests(self) -> list[UnknownRequest]:
        """Frames answered with invalidCommand; a test should end with none."""
        return self.engine.unknown_requests

    @property
    def requests_seen(self) -> list[str]:
        """Names of every EZSP command received, in order."""
        return self.engine.requests_seen

    @property
    def multicasts(self) -> list[DataRequest]:
        """Group-addressed requests the host sent, in order."""
        return self.engine.network.multicasts

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
        """A device in range: joined already (to the network in the tokens), or joining at
        the next permit-join window."""
        address = parse_ieee(ieee) if isinstance(ieee, str) else ieee
        spec = DeviceSpec(address, kind, manufacturer=manufacturer, model=model)
        device = self.engine.network.add(spec, is_joined=is_joined, nwk=nwk)
        if is_joined and not device.is_router:
            self.tokens.children[address] = (device.nwk, 0x03)
        return device

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
        """Pull the stick: the host loses the port; tokens are kept."""
        if self._port is not None:
            self._port.close()
        self.engine.ash.forget_line()

    async def replug(self) -> None:
        """Plug the stick back in: it powers up (RSTACK, power-on) with its tokens."""
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        if isinstance(self._port, PtyPort):
            self._port.open()
        else:
            await self._port.open()
        self.engine.reset(ResetCode.POWER_ON)

    def hang(self, is_hung: bool = True) -> None:
        """Stop (or resume) answering anything, as a wedged NCP does."""
        self.engine.faults.is_hung = is_hung

    def reset(self, code: int = ResetCode.WATCHDOG) -> None:
        """A spontaneous reset: RSTACK, the running network and configuration gone."""
        self.engine.reset(code)

    def inject_garbage(self, data: bytes) -> None:
        """Put raw bytes on the line to the host."""
        self.engine.inject(data)

    def drop_next_frames(self, count: int = 1) -> None:
        """The next ``count`` DATA frames to the host are lost on the line (ASH resends them)."""
        self.engine.ash.drop_next_frames += count

    def nak_next_host_frames(self, count: int = 1) -> None:
        """Answer the next ``count`` good frames from the host with a NAK (it resends them)."""
        self.engine.ash.nak_next_frames += count

    def drop_next_host_frames(self, count: int = 1) -> None:
        """The next ``count`` frames from the host are lost on the line (the host resends)."""
        self.engine.faults.drop_incoming_frames += count


__all__ = ["EzspSimulator"]
