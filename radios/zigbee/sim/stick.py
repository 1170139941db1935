"""What every simulated coordinator stick shares: its engine behind a pty or TCP port, the
line between them, its devices and the faults of the stick itself (unplug, hang, reset).

The Z-Stack simulator (``Simulator``) and the EmberZNet one (``EzspSimulator``) differ only in
their engine and its persistent memory (NV items, tokens); this is the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.kinds import DeviceKind, DeviceSpec
from radios.zigbee.sim.network import DataRequest, Network
from radios.zigbee.sim.transport import Engine, LineTransport, PtyPort, TcpPort
from radios.zigbee.sim.wire import format_ieee, parse_ieee


class HangFaults(Protocol):
    """The fault knob every engine has."""

    is_hung: bool


class StickEngine(Engine, Protocol):
    """A coordinator engine as the stick drives it."""

    @property
    def network(self) -> Network: ...

    @property
    def faults(self) -> HangFaults: ...

    @property
    def requests_seen(self) -> list[str]: ...

    @property
    def unknown_requests(self) -> Sequence[object]: ...

    def reset(self, reason: Any) -> None: ...

    def inject(self, raw: bytes) -> None: ...


E = TypeVar("E", bound=StickEngine)
CONNECT_BOOT_S = 0.2  # from a host's connection to the restarted radio's first word


class Stick(Generic[E]):
    """A simulated coordinator stick with simulated devices, on a pty or TCP.

    Use as ``async with Sim() as sim:`` (a pty) or call ``start_pty()`` / ``start_tcp()`` and
    ``close()``; ``sim.path`` is what the host opens.
    """

    def __init__(self, new_engine: Callable[[Callable[[], float]], E], power_on: int, *,
                 baud_rate: int | None, link_dir: Path | None) -> None:
        self._new_engine = new_engine
        self._power_on = power_on
        self._baud_rate = baud_rate
        self._link_dir = link_dir
        self._engine: E | None = None
        self._transport: LineTransport | None = None
        self._port: PtyPort | TcpPort | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def _build(self) -> LineTransport:
        self._engine = self._new_engine(asyncio.get_running_loop().time)
        self._transport = LineTransport(self._engine, baud_rate=self._baud_rate)
        return self._transport

    async def start_pty(self) -> str:
        """Power up on a new pty; returns the path the host opens (a stable symlink)."""
        port = PtyPort(self._build(), self._link_dir)
        port.open()
        self._port = port
        self.engine.reset(self._power_on)
        return port.path

    async def start_tcp(self, port: int = 0, *, reset_on_connect: bool = False) -> str:
        """Power up behind a TCP listener on 127.0.0.1; returns ``socket://127.0.0.1:PORT``.

        With ``reset_on_connect`` the stick resets whenever a host connects and says so once
        booted (as zigbeed and network sticks that restart their radio on a new connection
        do); the host must be listening by then, as bellows is on a socket:// port."""

        def reset_after_boot() -> None:
            loop = asyncio.get_running_loop()
            loop.call_later(CONNECT_BOOT_S, lambda: self.engine.reset(self._power_on))

        on_connect = reset_after_boot if reset_on_connect else None
        tcp = TcpPort(self._build(), port, on_connect=on_connect)
        await tcp.open()
        self._port = tcp
        self.engine.reset(self._power_on)
        return tcp.path

    async def close(self) -> None:
        """Unplug for good and remove the pty symlink."""
        if isinstance(self._port, PtyPort):
            self._port.remove()
        elif self._port is not None:
            self._port.close()
        if self._transport is not None:
            self._transport.close()

    async def __aenter__(self) -> Self:
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
    def engine(self) -> E:
        """The running engine (after start)."""
        if self._engine is None:
            raise RuntimeError("the simulator is not started")
        return self._engine

    @property
    def line(self) -> LineTransport:
        """The byte mover between the engine and the port (its stamps serve benchmarks)."""
        if self._transport is None:
            raise RuntimeError("the simulator is not started")
        return self._transport

    @property
    def path(self) -> str:
        """What the host opens: the pty symlink or the socket:// URL."""
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
    def line_byte_time_s(self) -> float:
        """How long one byte takes on the emulated line now (0 without emulation)."""
        return self._transport.byte_time_s if self._transport is not None else 0.0

    @property
    def requests_seen(self) -> list[str]:
        """Wire names of every request received, in order."""
        return self.engine.requests_seen

    @property
    def unknown_requests(self) -> Sequence[object]:
        """Requests the firmware did not know (answered with its own error); a test should
        end with none."""
        return self.engine.unknown_requests

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
        """A device in range: joined already (to the network in the stick's memory; keep its
        ``nwk`` to match the host's database), or joining at the next permit-join window."""
        address = parse_ieee(ieee) if isinstance(ieee, str) else ieee
        spec = DeviceSpec(address, kind, manufacturer=manufacturer, model=model)
        device = self.engine.network.add(spec, is_joined=is_joined, nwk=nwk)
        if is_joined:
            self._remember_joined(device)
        return device

    def _remember_joined(self, device: SimDevice) -> None:
        """A device added as joined: a stick whose memory lists its children notes it there."""

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
        """Pull the stick: the host loses the port; the stick's memory is kept."""
        if self._port is not None:
            self._port.close()

    async def replug(self) -> None:
        """Plug the stick back in: it powers up with the memory it had."""
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        if isinstance(self._port, PtyPort):
            self._port.open()
        else:
            await self._port.open()
        self.engine.reset(self._power_on)

    def hang(self, is_hung: bool = True) -> None:
        """Stop (or resume) answering anything, as a crashed firmware does."""
        self.engine.faults.is_hung = is_hung

    def inject_garbage(self, data: bytes) -> None:
        """Put raw bytes on the line to the host."""
        self.engine.inject(data)
