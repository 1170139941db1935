"""The tunnel's update commands without a network: routing, refusals and their codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubd.core.errors import UpdateBusyError, UpdateError
from hubd.core.events import UpdatePhase
from hubd.core.update import UpdateStatus
from hubd.tunnel.session import CommandReceived
from hubd.tunnel.updates import run_update_command

IDLE = UpdateStatus("1.0", "A", UpdatePhase.IDLE, "", 0, 0, "", False, 1000, None)


@dataclass
class Offers:
    """An UpdateOffers that records what it was asked and refuses on demand."""

    error: Exception | None = None
    offered: list[tuple[str, int | None, str]] = field(default_factory=list)
    reboots: int = 0

    def status(self) -> UpdateStatus:
        return IDLE

    def offer(self, url: str, size_bytes: int | None, origin: str) -> UpdateStatus:
        if self.error is not None:
            raise self.error
        self.offered.append((url, size_bytes, origin))
        return IDLE

    async def reboot(self, origin: str) -> None:
        if self.error is not None:
            raise self.error
        self.reboots += 1


def command(name: str, **args: str | int) -> CommandReceived:
    return CommandReceived("c1", "hub", "update", name, args, 1e9)


async def test_offer_status_and_reboot_reach_the_port() -> None:
    offers = Offers()
    result = await run_update_command(offers, command("offer", url="https://x/b", size_bytes=9))
    assert result["status"] == "accepted" and offers.offered == [("https://x/b", 9, "cloud")]
    assert (await run_update_command(offers, command("status")))["update"]["phase"] == "idle"
    assert (await run_update_command(offers, command("reboot")))["status"] == "confirmed"
    assert offers.reboots == 1


async def test_refusals_carry_a_code() -> None:
    assert (await run_update_command(None, command("status")))["code"] == "off"
    offers = Offers()
    assert (await run_update_command(offers, command("offer")))["code"] == "invalid"
    assert (await run_update_command(offers, command("offer", url="u", size_bytes=-1))
            )["code"] == "invalid"
    assert (await run_update_command(offers, command("explode")))["code"] == "invalid"
    offers.error = UpdateBusyError("an install is under way")
    busy = await run_update_command(offers, command("offer", url="https://x/b"))
    assert busy["status"] == "failed" and busy["code"] == "busy"
    offers.error = UpdateError("no committed update to reboot into")
    refused = await run_update_command(offers, command("reboot"))
    assert refused["code"] == "refused" and "no committed" in refused["error"]
    assert offers.offered == [] and offers.reboots == 0
