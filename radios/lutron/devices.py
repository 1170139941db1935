"""Lutron devices: the integration report (DbXmlInfo.xml), config, and the capability vocabulary.

A RadioRA 2 / HomeWorks QS repeater describes its system in ``DbXmlInfo.xml``: Areas (rooms)
nested under the project's top Area, each with Outputs (zones: dimmers, switches, shades),
DeviceGroups holding Devices (keypads, Picos, sensors) whose Components are buttons and LEDs, and
an ``OccupancyGroupAssignedToID`` naming its occupancy group. LIP reports an occupancy group's
state under the Area's integration id (``~GROUP,<area id>,3,<state>``), so that is the id here.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree import ElementTree

from hubd.core.errors import RemoteProtocolError
from hubd.core.model import Capability, Device, device_id
from radios.lutron.codec import LipMessage, group_query, output_query
from radios.lutron.settings import LutronDeviceConfig, LutronKind

RADIO = "lutron"

CAPABILITIES: dict[LutronKind, frozenset[Capability]] = {
    LutronKind.DIMMER: frozenset({Capability.SWITCH, Capability.LEVEL}),
    LutronKind.SWITCH: frozenset({Capability.SWITCH}),
    LutronKind.SHADE: frozenset({Capability.SHADE}),
    LutronKind.KEYPAD: frozenset({Capability.BUTTON}),
    LutronKind.PICO: frozenset({Capability.BUTTON}),
    LutronKind.OCCUPANCY: frozenset({Capability.MOTION}),
}

ZONE_KINDS = frozenset({LutronKind.DIMMER, LutronKind.SWITCH, LutronKind.SHADE})
BUTTON_KINDS = frozenset({LutronKind.KEYPAD, LutronKind.PICO})

_SHADE_OUTPUTS = frozenset({"SYSTEM_SHADE", "SIVOIA_QED", "SIVOIA_QS_SHADE"})
_SWITCH_OUTPUTS = frozenset({"NON_DIM", "NON_DIM_INC", "NON_DIM_ELV", "RELAY_LIGHTING",
                             "EXHAUST_FAN_TYPE", "SWITCHED_MOTOR", "CCO_PULSED",
                             "CCO_MAINTAINED"})
_KEYPAD_DEVICES = frozenset({"SEETOUCH_KEYPAD", "SEETOUCH_TABLETOP_KEYPAD",
                             "HYBRID_SEETOUCH_KEYPAD", "INTERNATIONAL_SEETOUCH_KEYPAD",
                             "HWI_SEETOUCH_KEYPAD",
                             "HOMEOWNER_KEYPAD", "PALLADIOM_KEYPAD", "HWI_SLIM",
                             "GRAFIK_T_HYBRID_KEYPAD", "MAIN_REPEATER"})


def to_device(config: LutronDeviceConfig) -> Device:
    """The hub's Device for an integration id."""
    address = str(config.integration_id)
    return Device(device_id(RADIO, address), RADIO, address, config.name, config.room, "Lutron",
                  config.kind.value, CAPABILITIES[config.kind])


def output_kind(output_type: str) -> LutronKind:
    """What an Output's ``OutputType`` is on the capability vocabulary."""
    if output_type in _SHADE_OUTPUTS:
        return LutronKind.SHADE
    if output_type in _SWITCH_OUTPUTS or output_type.startswith("CCO_"):
        return LutronKind.SWITCH
    return LutronKind.DIMMER


def parse_integration_report(xml: bytes | str) -> tuple[LutronDeviceConfig, ...]:
    """Zones, keypads, Picos and occupancy groups from DbXmlInfo.xml, in document order."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise RemoteProtocolError(f"the integration report is not XML: {exc}") from exc
    top = root.find("Areas/Area")
    if top is None:
        raise RemoteProtocolError("the integration report has no Areas/Area (not DbXmlInfo.xml?)")
    found: list[LutronDeviceConfig] = []
    for area in top.iterfind("Areas/Area"):
        _parse_area(area, found)
    # An id seen twice (a device listed in two groups) is kept once, as first seen.
    unique: dict[int, LutronDeviceConfig] = {}
    for config in found:
        unique.setdefault(config.integration_id, config)
    return tuple(unique.values())


def _int(element: ElementTree.Element, name: str) -> int:
    text = element.get(name, "")
    if not text.isdigit():
        raise RemoteProtocolError(f"<{element.tag} {name}={text!r}> is not a number")
    return int(text)


def _parse_area(area: ElementTree.Element, found: list[LutronDeviceConfig]) -> None:
    room = area.get("Name", "")
    for output in area.iterfind("Outputs/Output"):
        found.append(LutronDeviceConfig(_int(output, "IntegrationID"), output.get("Name", ""),
                                        output_kind(output.get("OutputType", "")), room))
    groups = area.find("DeviceGroups")
    devices: list[ElementTree.Element] = []
    if groups is not None:
        for child in groups:
            if child.tag == "Device":
                devices.append(child)
            elif child.tag == "DeviceGroup":
                devices.extend(child.iterfind("Devices/Device"))
    for device in devices:
        device_type = device.get("DeviceType", "")
        if device_type == "PICO_KEYPAD":
            kind = LutronKind.PICO
        elif device_type in _KEYPAD_DEVICES:
            kind = LutronKind.KEYPAD
        else:
            continue  # sensors report through their occupancy group
        buttons = tuple(_int(c, "ComponentNumber") for c in device.iterfind("Components/Component")
                        if c.get("ComponentType") == "BUTTON")
        found.append(LutronDeviceConfig(_int(device, "IntegrationID"), device.get("Name", ""),
                                        kind, room, buttons))
    if area.get("OccupancyGroupAssignedToID", "0") not in ("", "0") and \
            area.get("IntegrationID", "0") != "0":
        found.append(LutronDeviceConfig(_int(area, "IntegrationID"), f"{room} occupancy",
                                        LutronKind.OCCUPANCY, room))


def merge_devices(configured: Iterable[LutronDeviceConfig],
                  reported: Iterable[LutronDeviceConfig]) -> tuple[LutronDeviceConfig, ...]:
    """The report's devices, overridden (and extended) by the configured ones."""
    merged = {d.integration_id: d for d in reported}
    merged.update((d.integration_id, d) for d in configured)
    return tuple(merged.values())


def sync_queries(devices: Iterable[LutronDeviceConfig]) -> tuple[LipMessage, ...]:
    """What SYNC asks after (re)connecting: every zone's level and every group's occupancy."""
    queries: list[LipMessage] = []
    for config in devices:
        if config.kind in ZONE_KINDS:
            queries.append(output_query(config.integration_id))
        elif config.kind is LutronKind.OCCUPANCY:
            queries.append(group_query(config.integration_id))
    return tuple(queries)
