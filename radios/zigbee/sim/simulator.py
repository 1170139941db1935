"""The Z-Stack simulator as a whole: one ZStack engine on a pty or TCP port, its devices and
faults (the parts every stick shares live in radios.zigbee.sim.stick)."""

from __future__ import annotations

from pathlib import Path

from radios.zigbee.sim.commands import ResetReason
from radios.zigbee.sim.nvram import NvStore
from radios.zigbee.sim.stick import Stick
from radios.zigbee.sim.zstack import Faults, UnknownRequest, ZStack, ZStackConfig


class Simulator(Stick[ZStack]):
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
        super().__init__(lambda clock: ZStack(self.config, nv, clock=clock),
                         ResetReason.POWER_UP, baud_rate=baud_rate, link_dir=link_dir)

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

    def reset(self, reason: ResetReason = ResetReason.WATCHDOG) -> None:
        """A spontaneous reset: SYS.ResetInd, endpoints and the running network gone."""
        self.engine.reset(reason)
