"""The driver against the simulated repeater over a real pty and over TCP."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

import pytest

from hubd.core.events import AvailabilityChanged, ButtonEvent, DeviceJoined, RadioStatus, Report
from hubd.core.model import ButtonAction, Capability, Command, CommandStatus, Origin
from radios.lutron.settings import LutronDeviceConfig, LutronKind
from radios.lutron.sim.demo import (
    DEMO_DEVICES,
    DINING,
    KITCHEN,
    LIVING_LAMPS,
    LIVING_OCCUPANCY,
    LIVING_PICO,
    LIVING_SHADE,
    PICO_ON,
    PORCH,
)
from radios.lutron.sim.server import LutronSimulator
from tests.radios.lutron.conftest import Sink, running

BOTH = pytest.mark.parametrize("transport", ["serial", "telnet"])


def level(zone: int, pct: float, **kwargs: float) -> Command:
    return Command(f"lutron:{zone}", Capability.LEVEL, "set", {"level_pct": pct, **kwargs})


def is_button(action: ButtonAction, button: int = PICO_ON) -> Callable[[object], bool]:
    return lambda e: (isinstance(e, ButtonEvent) and e.device_id == f"lutron:{LIVING_PICO}"
                      and e.action is action and e.button == str(button))


@BOTH
async def test_devices_announced_and_levels_set_and_confirmed(sim: LutronSimulator,
                                                              transport: str) -> None:
    async with running(sim, transport) as (driver, sink):
        joined = {e.device.id for e in sink.events if isinstance(e, DeviceJoined)}
        assert joined == {f"lutron:{d.integration_id}" for d in DEMO_DEVICES}
        command = level(DINING, 42.0, transition_s=2.0)
        mark = sink.mark()
        result = await driver.send(command)
        assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
        assert 0 < result.latency_s < 2.0
        assert sim.engine.house.zones[DINING].target == 42.0
        assert any(r.line == "#OUTPUT,20,1,42.00,2" for r in sim.engine.received)
        report = await sink.wait_for(lambda e: isinstance(e, Report)
                                     and e.attribute == "level.level_pct", since=mark)
        assert (report.device_id, report.value) == (f"lutron:{DINING}", 42.0)
        assert report.context.origin == Origin.DIGITAL
        assert report.context.parent_id == command.context.id
        for cmd in (Command(f"lutron:{PORCH}", Capability.SWITCH, "on"),
                    Command(f"lutron:{LIVING_SHADE}", Capability.SHADE, "set_position",
                            {"position_pct": 30.0}),
                    Command(f"lutron:{DINING}", Capability.SWITCH, "toggle")):
            assert (await driver.send(cmd)).status is CommandStatus.CONFIRMED
        assert sim.engine.house.zones[PORCH].target == 100.0
        assert sim.engine.house.zones[LIVING_SHADE].target == 30.0
        assert sim.engine.house.zones[DINING].target == 0.0  # toggled off from 42 %


@BOTH
async def test_repeater_error_fails_the_command(sim: LutronSimulator, transport: str) -> None:
    ghost = LutronDeviceConfig(77, "Ghost", LutronKind.DIMMER)
    async with running(sim, transport, devices=(*DEMO_DEVICES, ghost)) as (driver, _):
        result = await driver.send(level(77, 10.0))
        assert result.status is CommandStatus.FAILED
        assert result.error == "the repeater answered ~ERROR,2: object does not exist"
        raised = await driver.send(Command(f"lutron:{KITCHEN}", Capability.LEVEL, "raise"))
        assert raised.status is CommandStatus.SENT
        assert sim.engine.house.zones[KITCHEN].is_ramping


async def test_bad_commands_fail_without_reaching_the_wire(sim: LutronSimulator) -> None:
    async with running(sim, "serial") as (driver, _):
        before = len(sim.engine.received)
        shade_level = await driver.send(level(LIVING_SHADE, 10.0))
        assert shade_level.status is CommandStatus.FAILED
        assert "has no level" in (shade_level.error or "")
        unknown = await driver.send(level(555, 10.0))
        assert unknown.error == "lutron:555 is not a known Lutron device"
        expired = await driver.send(Command(f"lutron:{DINING}", Capability.SWITCH, "on",
                                            deadline=0.0))
        assert expired.status is CommandStatus.EXPIRED
        assert len(sim.engine.received) == before


@BOTH
async def test_buttons_become_events_and_hold_is_synthesised(sim: LutronSimulator,
                                                             transport: str) -> None:
    async with running(sim, transport) as (_, sink):
        mark = sink.mark()
        sim.engine.tap(LIVING_PICO, PICO_ON)
        press = await sink.wait_for(is_button(ButtonAction.PRESS), since=mark)
        await sink.wait_for(is_button(ButtonAction.RELEASE), since=mark)
        assert press.context.origin == Origin.PHYSICAL
        assert not any(is_button(ButtonAction.HOLD)(e) for e in sink.events)
        mark = sink.mark()
        sim.engine.press(LIVING_PICO, PICO_ON)
        await sink.wait_for(is_button(ButtonAction.HOLD), since=mark, timeout_s=2.0)
        sim.engine.release(LIVING_PICO, PICO_ON)
        await sink.wait_for(is_button(ButtonAction.RELEASE), since=mark)
        actions = [e.action for e in sink.events[mark:] if isinstance(e, ButtonEvent)]
        assert actions == [ButtonAction.PRESS, ButtonAction.HOLD, ButtonAction.RELEASE]


async def test_physical_changes_are_physical(sim: LutronSimulator) -> None:
    async with running(sim, "serial") as (_, sink):
        mark = sink.mark()
        sim.engine.move_level(LIVING_LAMPS, 65.0)
        sim.engine.set_occupancy(LIVING_OCCUPANCY, True)
        lamp = await sink.wait_for(lambda e: isinstance(e, Report) and e.value == 65.0, since=mark)
        motion = await sink.wait_for(lambda e: isinstance(e, Report)
                                     and e.attribute == "motion.is_active" and e.value is True,
                                     since=mark)
        assert lamp.context.origin == motion.context.origin == Origin.PHYSICAL


async def test_reconnects_after_unplug_and_monitors_again(sim: LutronSimulator) -> None:
    async with running(sim, "serial") as (driver, sink):
        mark = sink.mark()
        sim.unplug()
        await sink.wait_health(RadioStatus.RECONNECTING, since=mark)
        await sink.wait_for(lambda e: isinstance(e, AvailabilityChanged) and not e.is_available,
                            since=mark)
        failed = await driver.send(level(DINING, 5.0))
        assert failed.status is CommandStatus.FAILED and "not connected" in (failed.error or "")
        sim.plug_in()  # a fresh pty behind the same path, monitoring off by default
        await sink.wait_health(RadioStatus.OK, since=mark)
        await sink.wait_for(lambda e: isinstance(e, AvailabilityChanged) and e.is_available,
                            since=mark)
        mark = sink.mark()
        sim.engine.tap(LIVING_PICO, PICO_ON)
        await sink.wait_for(is_button(ButtonAction.RELEASE), since=mark)
        assert driver.stats.connections >= 2


async def test_reconnects_after_telnet_drop(sim: LutronSimulator) -> None:
    async with running(sim, "telnet") as (driver, sink):
        mark = sink.mark()
        sim.drop_links()
        await sink.wait_health(RadioStatus.RECONNECTING, since=mark)
        await sink.wait_health(RadioStatus.OK, since=mark)
        assert (await driver.send(level(DINING, 7.0))).status is CommandStatus.CONFIRMED


@BOTH
async def test_reboot_restores_monitoring(sim: LutronSimulator, transport: str) -> None:
    async with running(sim, transport, liveness_interval_s=0.2) as (_, sink):
        mark = sink.mark()
        sim.reboot(boot_s=0.3)
        await sink.wait_health(RadioStatus.OK, since=mark, timeout_s=5.0)
        assert sim.engine.boots == 1
        mark = sink.mark()
        sim.engine.tap(LIVING_PICO, PICO_ON)
        await sink.wait_for(is_button(ButtonAction.PRESS), since=mark)


async def test_silent_half_open_link_is_replaced(sim: LutronSimulator) -> None:
    async with running(sim, "telnet", liveness_interval_s=0.2, login_timeout_s=0.5) as (_, sink):
        mark = sink.mark()
        sim.stall()
        health = await sink.wait_health(RadioStatus.RECONNECTING, since=mark)
        assert "silent" in health.detail
        sim.stall(False)
        await sink.wait_health(RadioStatus.OK, since=mark)


async def test_bad_credentials_fail_clearly_without_spinning(sim: LutronSimulator) -> None:
    pauses: list[float] = []
    parked = asyncio.Event()

    async def pause(delay_s: float) -> None:  # time stands still: the driver parks here
        pauses.append(delay_s)
        parked.set()
        await asyncio.Event().wait()

    async with running(sim, "telnet", wait_ok=False, password="wrong", backoff_max_s=30.0,
                       sleep=pause) as (_, sink):
        health = await sink.wait_health(RadioStatus.FAILED)
        assert "rejected the username or password" in health.detail
        async with asyncio.timeout(5):
            await parked.wait()
        # The next login only after the longest pause, not at once (no wall-clock wait here).
        assert pauses == [30.0]
        assert sim.engine.failed_logins == 1


async def test_garbage_lines_are_counted_and_skipped(sim: LutronSimulator) -> None:
    async with running(sim, "serial") as (driver, sink):
        mark = sink.mark()
        sim.engine.inject_garbage(b"\x00\x01garbage\r\n~OUTPUT,zz,1\r\n~" + b"x" * 400 +
                                  b"\r\nhello\r\n")
        sim.engine.tap(LIVING_PICO, PICO_ON)
        await sink.wait_for(is_button(ButtonAction.RELEASE), since=mark)
        stats = driver.stats
        assert (stats.garbage_lines, stats.overlong_lines) == (3, 1)


async def test_pacing_is_observed_on_the_simulator_side(sim: LutronSimulator) -> None:
    # The repeater drops commands closer than 50 ms. Writes paced 80 ms apart leave 30 ms for the
    # scheduling jitter of a busy test machine between the driver's write and the sim's read.
    sim.engine.min_command_gap_s = 0.05
    async with running(sim, "serial", pace_s=0.08) as (driver, _):
        zones = (DINING, LIVING_LAMPS, KITCHEN, PORCH, LIVING_SHADE)
        commands = [level(z, 11.0) if z != PORCH and z != LIVING_SHADE else
                    Command(f"lutron:{z}", Capability.SWITCH if z == PORCH else Capability.SHADE,
                            "on" if z == PORCH else "open") for z in zones]
        results = await asyncio.gather(*(driver.send(c) for c in commands))
        assert [r.status for r in results] == [CommandStatus.CONFIRMED] * 5
        times = [r.t for r in sim.engine.received if r.line.startswith("#OUTPUT")]
        assert len(times) == 5
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05
        assert sim.engine.ignored_commands == 0, [r for r in sim.engine.received if r.is_ignored]


async def test_without_pacing_the_repeater_drops_commands(sim: LutronSimulator) -> None:
    async with running(sim, "serial", pace_s=0.0, confirm_timeout_s=0.3) as (driver, _):
        sim.engine.min_command_gap_s = 0.045
        results = await asyncio.gather(*(driver.send(level(z, 12.0))
                                         for z in (DINING, LIVING_LAMPS, KITCHEN)))
        assert CommandStatus.FAILED in [r.status for r in results]
        assert sim.engine.ignored_commands > 0


async def test_pending_level_sets_coalesce(sim: LutronSimulator) -> None:
    async with running(sim, "serial", pace_s=0.1) as (driver, _):
        results = await asyncio.gather(*(driver.send(level(DINING, pct))
                                         for pct in (10.0, 20.0, 30.0, 40.0, 50.0)))
        assert [r.status for r in results] == [CommandStatus.CONFIRMED] * 5
        lines = [r.line for r in sim.engine.received if r.line.startswith("#OUTPUT,20")]
        # The first may already be on the wire when the others arrive; the rest merge into one.
        assert lines[-1] == "#OUTPUT,20,1,50.00" and len(lines) <= 2
        assert sim.engine.house.zones[DINING].target == 50.0
        assert driver.stats.coalesced == 5 - len(lines)


async def test_slow_replies_still_confirm(sim: LutronSimulator) -> None:
    async with running(sim, "telnet") as (driver, _):
        sim.reply_delay_s = 0.3
        result = await driver.send(level(DINING, 33.0))
        assert result.status is CommandStatus.CONFIRMED
        assert result.latency_s >= 0.3


async def test_line_speed_emulation_at_9600_baud() -> None:
    from radios.lutron.sim.demo import demo_house
    from radios.lutron.sim.engine import RepeaterEngine

    engine = RepeaterEngine(demo_house())
    async with LutronSimulator(engine, telnet=False, baudrate=9600) as slow, \
            running(slow, "serial") as (driver, _):
        result = await driver.send(level(DINING, 50.0))
        assert result.status is CommandStatus.CONFIRMED
        # "#OUTPUT,20,1,50.00\r\n" out and "~OUTPUT,20,1,50.00\r\n" back: 40 bytes, 10 bits each
        assert result.latency_s >= 40 * 10 / 9600


async def test_permit_join_explains_and_returns(sim: LutronSimulator,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="radios.lutron")
    async with running(sim, "serial") as (driver, _):
        await driver.permit_join(60)
        assert "programming software" in caplog.text


def test_sink_is_a_radio_sink() -> None:
    from radios.base import RadioSink

    sink: RadioSink = Sink()
    assert sink is not None


async def test_a_repeater_that_drops_after_login_sees_backoff_grow(sim: LutronSimulator) -> None:
    # Each link logs in (OK) and is dropped at once: never stable, so the pause must keep growing
    # instead of starting from the minimum after every successful login.
    async with running(sim, "telnet", backoff_min_s=0.01, backoff_max_s=10.0,
                       stable_after_s=30.0) as (driver, sink):
        for _ in range(4):
            mark = sink.mark()
            sim.drop_links()
            await sink.wait_health(RadioStatus.RECONNECTING, since=mark)
            await sink.wait_health(RadioStatus.OK, since=mark)
        assert driver.backoff.failures >= 4  # never reset by the logins in between
        assert driver.backoff.policy.cap_s(driver.backoff.failures) >= 0.08
