"""The EZSP simulator as a whole: one Ncp engine on a pty or TCP port, its devices and faults
(the parts every stick shares live in radios.zigbee.sim.stick)."""

from __future__ import annotations

from pathlib import Path

from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.ezsp.framing import ResetCode
from radios.zigbee.sim.ezsp.ncp import Ncp, NcpConfig, NcpFaults, UnknownRequest
from radios.zigbee.sim.ezsp.state import Tokens
from radios.zigbee.sim.stick import Stick


class EzspSimulator(Stick[Ncp]):
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
        super().__init__(lambda clock: Ncp(self.config, self.tokens, clock=clock),
                         ResetCode.POWER_ON, baud_rate=baud_rate, link_dir=link_dir)

    @property
    def faults(self) -> NcpFaults:
        """Fault knobs of the NCP."""
        return self.engine.faults

    @property
    def unknown_requests(self) -> list[UnknownRequest]:
        """Frames answered with invalidCommand; a test should end with none."""
        return self.engine.unknown_requests

    def _remember_joined(self, device: SimDevice) -> None:
        """An end device added as joined is in the NCP's child table (its tokens)."""
        if not device.is_router:
            self.tokens.children[device.ieee] = (device.nwk, 0x03)

    # --- faults -----------------------------------------------------------------------------

    def unplug(self) -> None:
        """Pull the stick: the host loses the port; tokens are kept."""
        super().unplug()
        self.engine.ash.forget_line()

    def reset(self, code: int = ResetCode.WATCHDOG) -> None:
        """A spontaneous reset: RSTACK, the running network and configuration gone."""
        self.engine.reset(code)

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
