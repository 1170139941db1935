"""The example rules load without problems against the devices of examples/hub.toml, and work."""

import datetime as dt
import tomllib
from pathlib import Path

from hubd.core.clock import ManualClock
from hubd.core.model import Capability as C
from hubd.core.model import Device
from radios.lutron.devices import to_device
from radios.lutron.sim.demo import DEMO_DEVICES
from radios.virtual.driver import CAPABILITIES
from radios.virtual.settings import VirtualKind
from radios.zwave.sim.demo import DEMO_NODES, KIND_CAPABILITIES
from rules.engine import EngineSettings
from rules.parse import load_rules_dir
from tests.rules.conftest import Harness, make_harness, make_state

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# What the demo's simulated Zigbee devices are (radios/zigbee/sim/demo.py HOUSE_MIX, in order).
ZIGBEE_KINDS = (
    {C.CONTACT, C.BATTERY}, {C.SWITCH, C.LEVEL, C.COLOR}, {C.MOTION, C.BATTERY}, {C.SWITCH},
    {C.TEMPERATURE, C.HUMIDITY, C.BATTERY}, {C.SWITCH, C.POWER}, {C.BUTTON, C.BATTERY},
    {C.LOCK, C.BATTERY}, {C.THERMOSTAT},
)


def _devices() -> tuple[Device, ...]:
    """The demo house: the virtual devices, the Lutron demo repeater's, and the named Zigbee."""
    config = tomllib.loads((EXAMPLES / "hub.toml").read_text())
    virtual = [Device(f"virtual:{d['address']}", "virtual", d["address"], d["name"],
                      capabilities=CAPABILITIES[VirtualKind(d["kind"])])
               for d in config["radios"]["virtual"]["devices"]]
    lutron = [to_device(d) for d in DEMO_DEVICES]
    zigbee = [Device(d["id"], "zigbee", d["id"].removeprefix("zigbee:"), d["name"],
                     capabilities=frozenset(ZIGBEE_KINDS[n]))
              for n, d in enumerate(config["devices"])]
    zwave = [Device(f"zwave:{n}", "zwave", str(n), name, room, capabilities=KIND_CAPABILITIES[kind])
             for n, (kind, name, room) in DEMO_NODES.items()]
    return (*virtual, *lutron, *zigbee, *zwave)


def _harness(start: float) -> Harness:
    config = tomllib.loads((EXAMPLES / "hub.toml").read_text())["hub"]
    return make_harness(clock=ManualClock(start), state=make_state(_devices()),
                        settings=EngineSettings(latitude=config["latitude"],
                                                longitude=config["longitude"],
                                                timezone=config["timezone"]))


async def test_example_rules_load_without_problems() -> None:
    rules, problems = load_rules_dir(EXAMPLES / "rules")
    assert problems == []
    assert {r.id for r in rules} == {"door_hall_light", "hall_motion_light", "porch_evening",
                                     "kitchen_evening", "pico_dinner", "living_occupied",
                                     "back_door_light", "back_door_closed", "bedside_garage",
                                     "hall_window_light", "entry_remote_welcome"}
    h = _harness(1_700_000_000.0)
    assert h.engine.load(rules) == []
    assert all(s.is_enabled for s in h.engine.statuses())


async def test_example_rules_do_what_they_say() -> None:
    paris_noon = dt.datetime(2024, 6, 21, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    h = _harness(paris_noon.timestamp())
    rules, _ = load_rules_dir(EXAMPLES / "rules")
    h.engine.load(rules)
    await h.start()
    await h.report("Front door", "contact.is_open", True)
    assert h.house.sent() == ["Hall light: switch.on"]
    await h.report("Hall motion", "motion.is_active", True)
    await h.report("Hall motion", "motion.is_active", False)
    await h.engine.advance(60)
    await h.report("Hall motion", "motion.is_active", True)  # restarts the two minutes
    await h.report("Hall motion", "motion.is_active", False)
    await h.engine.advance(119)
    assert h.house.sent()[-1] == "Hall light: level.set"
    await h.engine.advance(1)
    assert h.house.sent()[-1] == "Hall light: switch.off"
    await h.press("Kitchen remote", "1")
    assert h.house.sent()[-3:] == ["Kitchen light: level.set", "Living lamp: switch.on",
                                   "Hall light: level.set"]
    # Paris sunset on 21 June 2024 is 21:58 CEST; off at 23:00. It is 12:03 now.
    await h.engine.advance(9 * 3600 + 52 * 60)
    assert "Porch light: switch.on" not in h.house.sent()
    await h.engine.advance(5 * 60)
    assert h.house.sent()[-1] == "Porch light: switch.on"
    await h.engine.advance(60 * 60)
    assert h.house.sent()[-1] == "Porch light: switch.off"
    await h.stop()


async def test_the_radio_demo_rules_do_what_they_say() -> None:
    h = _harness(1_700_000_000.0)
    rules, _ = load_rules_dir(EXAMPLES / "rules")
    h.engine.load(rules)
    await h.start()
    await h.press("Living Pico", "3")
    assert sorted(h.house.sent()) == ["Dining lights: level.set", "Living lamps: level.set",
                                      "Living shade: shade.set_position"]
    await h.report("Back door", "contact.is_open", True)
    assert h.house.sent()[-1] == "Back hall light: switch.on"
    await h.press("Bedside remote", "1")
    assert h.house.sent()[-1] == "Garage light: switch.toggle"
    await h.report("Hall window", "contact.is_open", True)
    assert h.house.sent()[-2:] == ["Hall light: switch.on", "Hall lamp: switch.on"]
    await h.press("Entry remote", "1")
    assert sorted(h.house.sent()[-2:]) == ["Dining dimmer: level.set", "Hall lamp: switch.on"]
    await h.stop()
