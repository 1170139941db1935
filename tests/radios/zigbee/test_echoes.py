"""Echoes: a report is a command's doing only when it is what the command asked for."""

from __future__ import annotations

from hubd.core.model import Capability, Command, Context, Origin
from radios.zigbee.echoes import MAX_PER_DEVICE, EchoBook, expected_reports

IEEE = "00:0d:6f:00:00:00:01:01"


def on() -> Command:
    return Command(f"zigbee:{IEEE}", Capability.SWITCH, "on")


def test_the_commanded_value_is_the_echo_and_comes_once() -> None:
    book = EchoBook()
    command = on()
    context = command.context.child(Origin.DIGITAL)
    book.expect(IEEE, command, context, until=105.0, now=100.0)
    assert book.match(IEEE, "switch.on", True, 100.1) == context
    assert book.match(IEEE, "switch.on", True, 100.2) is None  # used up


def test_a_different_value_or_attribute_is_physical() -> None:
    book = EchoBook()
    command = on()
    book.expect(IEEE, command, command.context.child(Origin.DIGITAL), until=105.0, now=100.0)
    assert book.match(IEEE, "switch.on", False, 101.0) is None  # someone pressed it off
    assert book.match(IEEE, "level.level_pct", 40.0, 101.0) is None
    assert book.match(IEEE, "switch.on", True, 106.0) is None  # too late: expired
    assert len(book) == 0


def test_levels_allow_the_devices_rounding_and_switch_it_on() -> None:
    command = Command(f"zigbee:{IEEE}", Capability.LEVEL, "set", {"level_pct": 50})
    book = EchoBook()
    context = Context.new(Origin.DIGITAL)
    book.expect(IEEE, command, context, until=10.0, now=0.0)
    assert book.match(IEEE, "level.level_pct", 50.4, 1.0) == context
    assert book.match(IEEE, "switch.on", True, 1.0) == context
    assert [e.attribute for e in expected_reports(command)] == ["level.level_pct", "switch.on"]


def test_expectations_are_bounded_per_device() -> None:
    book = EchoBook()
    for n in range(50):
        command = Command(f"zigbee:{IEEE}", Capability.LEVEL, "raise" if n % 2 else "lower")
        book.expect(IEEE, command, Context.new(Origin.DIGITAL), until=1e9, now=0.0)
        book.expect(f"00:00:00:00:00:00:00:{n:02x}", on(), Context.new(Origin.DIGITAL),
                    until=float(n), now=float(n))
    assert len(book) <= 50 + MAX_PER_DEVICE
    book.expect(IEEE, on(), Context.new(Origin.DIGITAL), until=1e9, now=1e6)
    assert book.match(IEEE, "switch.on", True, 1e6) is not None
