"""`hubd demo`: the real daemon on simulated radios, telling a person what happens in the house.

The radios are the real drivers on real byte streams: the virtual radio in process, a simulated
Lutron RA2 repeater on a pty, and a simulated TI Z-Stack coordinator on a pty that unmodified
zigpy-znp drives (its devices join when the demo opens the network, and are remembered in the
state directory). Z-Wave runs on Z-Wave JS's own mock controller, driven by a zwave-js-server
that hubd spawns and supervises. Everything else is the daemon as systemd runs it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

from hubd.config import HubConfig
from hubd.core.errors import ConfigError
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    DeviceLeft,
    Notice,
    RadioHealth,
    RadioStatus,
    RuleRan,
    StateChanged,
)
from hubd.daemon import Daemon, Extra
from hubd.hub import Hub
from radios.lutron.sim.demo import demo_repeater
from radios.zigbee.settings import RadioType, ZigbeeSettings
from radios.zigbee.sim.demo import DemoCoordinator, demo_coordinator
from radios.zigbee.sim.ezsp.demo import demo_ncp
from radios.zwave.sim.demo import demo_stick as zwave_demo_stick
from radios.zwave.sim.demo import run_activity as zwave_activity
from radios.zwave.sim.mock import MockStick

ZIGBEE_DEVICES = 24
ZIGBEE_FAMILY_ENV = "HUBD_DEMO_ZIGBEE"  # "znp" (default) or "ezsp": which coordinator to simulate
CLOUD_DEVICE = "virtual:2"  # the porch light of examples/hub.toml: the app toggles it

SHOWN = (DeviceJoined, DeviceLeft, AvailabilityChanged, StateChanged, ButtonEvent, CommandResult,
         RadioHealth, Notice, RuleRan)


class DemoPrinter:
    """Prints one readable line per event: devices appearing, state, commands with latency."""

    def __init__(self, hub: Hub, out: TextIO = sys.stdout) -> None:
        self._hub = hub
        self._out = out
        self._t0 = hub.clock.monotonic()
        self._health: dict[str, tuple[RadioStatus, str]] = {}  # what was last said of each radio

    async def run(self) -> None:
        """Subscribe to the bus and print until cancelled."""
        self._hub.bus.subscribe(SHOWN, self.show, name="demo-printer")
        self._line("hub", "demo running: Ctrl-C stops it")

    def _name(self, device_id: str) -> str:
        device = self._hub.state.get_device(device_id)
        return device.name if device is not None and device.name else device_id

    def line(self, kind: str, text: str) -> None:
        """Print one line of the demo's story."""
        self._line(kind, text)

    def _line(self, kind: str, text: str) -> None:
        elapsed = self._hub.clock.monotonic() - self._t0
        self._out.write(f"{elapsed:8.3f}  {kind:<8} {text}\n")
        self._out.flush()

    def show(self, event: object) -> None:
        """Print one event."""
        match event:
            case DeviceJoined(device=d):
                caps = ",".join(sorted(d.capabilities))
                self._line("device", f"+ {d.name or d.id:<22} {d.id:<34} {caps}"
                                     f"{'  [' + d.room + ']' if d.room else ''}")
            case DeviceLeft(device_id=did):
                self._line("device", f"- {self._name(did)} left")
            case AvailabilityChanged(device_id=did, is_available=up):
                self._line("device", f"{self._name(did)} is {'back' if up else 'unreachable'}")
            case StateChanged(device_id=did, attribute=attr, old=old, new=new, context=ctx):
                self._line("state", f"{self._name(did):<22} {attr:<20} {old!s:>6} → {new!s:<6}"
                                    f" ({ctx.origin})")
            case ButtonEvent(device_id=did, button=b, action=a, count=n, context=ctx):
                times = f" x{n}" if n > 1 else ""
                self._line("button", f"{self._name(did):<22} button {b} {a}{times} ({ctx.origin})")
            case CommandResult(command=cmd, status=status, latency_s=latency, error=error):
                why = f": {error}" if error else ""
                self._line("command", f"{self._name(cmd.device_id):<22} {cmd.qualified_name:<20}"
                                      f" {status} in {latency * 1e3:.2f} ms"
                                      f" ({cmd.context.origin}){why}")
            case RadioHealth(radio=radio, status=status, detail=detail):
                # A radio retrying says the same at each attempt: once is news, again is noise.
                if self._health.get(radio) != (status, detail):
                    self._health[radio] = (status, detail)
                    self._line("radio", f"{radio} {status}: {detail}")
            case RuleRan(rule_id=rule, outcome=outcome, trigger=trigger, trigger_ts=t0, end_ts=t1,
                         commands=n, note=note):
                why = f": {note}" if note else ""
                self._line("rule", f"{rule:<22} {outcome} {_duration(t1 - t0)} after {trigger}"
                                   f" ({n} command{'s' if n != 1 else ''}){why}")
            case Notice(source=source, message=message):
                self._line("notice", f"{source}: {message}")


def demo_zigbee_family() -> RadioType:
    """The coordinator family the demo simulates, from HUBD_DEMO_ZIGBEE (default znp)."""
    value = os.environ.get(ZIGBEE_FAMILY_ENV, "znp").strip().lower() or "znp"
    try:
        return RadioType(value)
    except ValueError:
        raise ConfigError(f"{ZIGBEE_FAMILY_ENV} must be znp or ezsp, not {value!r}",
                          key=ZIGBEE_FAMILY_ENV) from None


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.1f} s"


async def run_demo(config: HubConfig, activity_s: float, out: TextIO = sys.stdout,
                   cloud: bool = True, fleet: bool = False) -> None:
    """Start the simulators, point the config at them, and run the daemon until stopped."""
    radios = config.radios
    state_dir = config.hub.state_dir
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        if radios.virtual is not None:
            virtual = dataclasses.replace(radios.virtual, activity_interval_s=activity_s)
            radios = dataclasses.replace(radios, virtual=virtual)
        if radios.lutron is None:
            lutron = await stack.enter_async_context(
                demo_repeater("serial", activity_interval_s=activity_s * 4))
            radios = dataclasses.replace(radios, lutron=lutron)
        zigbee: DemoCoordinator[Any] | None = None
        if radios.zigbee is None and demo_zigbee_family() is RadioType.EZSP:
            # HUBD_DEMO_ZIGBEE=ezsp: a Silicon Labs stick (EmberZNet NCP) driven by bellows
            ncp = await stack.enter_async_context(
                demo_ncp(ZIGBEE_DEVICES, state_path=state_dir / "zigbee-sim-ezsp.json"))
            zigbee = ncp
            radios = dataclasses.replace(radios, zigbee=ZigbeeSettings(
                path=ncp.path, channel=15, radio_type=RadioType.EZSP))
        elif radios.zigbee is None:
            znp = await stack.enter_async_context(
                demo_coordinator(ZIGBEE_DEVICES, state_path=state_dir / "zigbee-sim.json"))
            zigbee = znp
            radios = dataclasses.replace(radios, zigbee=ZigbeeSettings(
                path=znp.path, channel=15, skip_bootloader=False))

        printers: list[DemoPrinter] = []
        zwave: MockStick | None = None
        if radios.zwave is None:
            # Z-Wave JS's mock controller; hubd spawns zwave-js-server on it, as in development.
            zwave, zwave_settings = await stack.enter_async_context(zwave_demo_stick(state_dir))
            radios = dataclasses.replace(radios, zwave=zwave_settings)

        async def printer(hub: Hub) -> None:
            printers.append(DemoPrinter(hub, out))
            await printers[0].run()

        extras: list[Extra] = [printer]
        if cloud:
            # A local relay; the hub provisioned by claim and dialing it over mutual TLS.
            from hubd.demo_cloud import cloud_round_trips, demo_relay
            from hubd.tunnel.settings import TunnelSettings

            relay = await stack.enter_async_context(demo_relay(state_dir, fleet))
            config = dataclasses.replace(config, tunnel=dataclasses.replace(
                config.tunnel or TunnelSettings(), url=relay.tunnel_url))
            extras.append(cloud_round_trips(relay, CLOUD_DEVICE, out, activity_s * 3,
                                            lambda kind, text: printers[0].line(kind, text)))
        if zigbee is not None:
            extras.append(_zigbee_house(zigbee, activity_s * 2))
        if zwave is not None:
            extras.append(_zwave_house(zwave, activity_s * 3))
        daemon = Daemon(dataclasses.replace(config, radios=radios))
        daemon.extras = [*extras, _tell_api(daemon, out)]
        await daemon.run()


def _tell_api(daemon: Daemon, out: TextIO) -> Extra:
    """Once the hub is up, print where its LAN API is and how to pair with it."""

    async def run(hub: Hub) -> None:
        await daemon.ready.wait()
        api = daemon.api
        if api is None or not api.url:
            return
        state_dir = daemon.config.hub.state_dir
        out.write(f"\nLAN API  {api.url}   setup code {api.setup_code}\n"
                  f"console  {api.url}/  (open it in a browser; accept the hub's certificate)\n"
                  f"         pin {api.state.pin_sha256}\n"
                  f"From a second terminal:  hubctl pair {api.url} --code {api.setup_code}\n"
                  f"   (or: hubd pair-button --state-dir {state_dir}; then hubctl pair "
                  f"{api.url})\n"
                  "   then: hubctl devices | hubctl set 'Hall light' level 40 | hubctl events\n\n")
        out.flush()

    return run


def _zwave_house(stick: MockStick, interval_s: float
                 ) -> Callable[[Hub], Coroutine[Any, Any, None]]:
    """Once zwave-js-server is up, make the Z-Wave house lively."""

    async def run(hub: Hub) -> None:
        if interval_s <= 0 or await hub.wait_radios(120.0, ["zwave"]):
            return
        await zwave_activity(stick, interval_s)

    return run


def _zigbee_house(coordinator: DemoCoordinator[Any], interval_s: float
                  ) -> Callable[[Hub], Coroutine[Any, Any, None]]:
    """Open the network for the simulated devices, then make the Zigbee house lively."""

    async def run(hub: Hub) -> None:
        if await hub.wait_radios(60.0, ["zigbee"]):
            return
        # Devices joined on an earlier run are remembered; new ones join in this window.
        await hub.drivers["zigbee"].permit_join(60.0)
        if interval_s > 0:
            await coordinator.run_activity(interval_s)

    return run
