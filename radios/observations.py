"""What a radio's mapping makes of a device's report, before the driver turns it into events.

Each radio family maps its own wire values (a ZCL attribute, a Z-Wave JS value) onto the
vocabulary; the result is the same for all of them: an attribute took a value, or a button did
something. The driver adds the device, the time and the context (``Report``, ``ButtonEvent``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hubd.core.model import ButtonAction, Value


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """A vocabulary attribute (``switch.on``) took a value, in the vocabulary's units."""

    attribute: str
    value: Value


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A remote's button (a Central Scene key, a Pico button) did something."""

    button: str
    action: ButtonAction
    count: int = 1


Observation = AttributeValue | ButtonPress
