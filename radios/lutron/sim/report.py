"""The simulated repeater's integration report (DbXmlInfo.xml), built from its house.

Shaped like a RadioRA 2 export: the project's top Area holds one Area per room; a room with an
occupancy group takes the group's id as its IntegrationID (LIP reports ~GROUP under the area's
id) and names the group in ``OccupancyGroupAssignedToID``.
"""

from __future__ import annotations

import itertools
from xml.etree import ElementTree as ET

from radios.lutron.settings import LutronKind
from radios.lutron.sim.house import House, SimKeypad

_OUTPUT_TYPES = {LutronKind.DIMMER: "INC", LutronKind.SWITCH: "NON_DIM",
                 LutronKind.SHADE: "SYSTEM_SHADE"}


def integration_report(house: House) -> str:
    """DbXmlInfo.xml for the house, as text."""
    uuids = itertools.count(1)
    root = ET.Element("Project")
    ET.SubElement(root, "ProjectName", ProjectName=house.name, UUID=str(next(uuids)))
    ET.SubElement(root, "GUID").text = "5c7a1f00d5e84c1b9b1e0f0a0b0c0d0e"
    top = ET.SubElement(ET.SubElement(root, "Areas"), "Area", Name=house.name,
                        UUID=str(next(uuids)), IntegrationID="0", OccupancyGroupAssignedToID="0")
    rooms = ET.SubElement(top, "Areas")
    groups = ET.SubElement(root, "OccupancyGroups")
    room_names = sorted({z.room for z in house.zones.values()} | {k.room for k in
                        house.keypads.values()} | {g.room for g in house.groups.values()})
    spare_ids = (n for n in itertools.count(1000) if n not in house.ids())
    for room in room_names:
        group = next((g for g in house.groups.values() if g.room == room), None)
        area_id = group.integration_id if group is not None else next(spare_ids)
        area = ET.SubElement(rooms, "Area", Name=room or "Unassigned", UUID=str(next(uuids)),
                             IntegrationID=str(area_id))
        if group is not None:
            area.set("OccupancyGroupAssignedToID", str(area_id))
            ET.SubElement(groups, "OccupancyGroup", UUID=str(next(uuids)),
                          OccupancyGroupNumber=str(area_id))
        device_group = ET.SubElement(ET.SubElement(area, "DeviceGroups"), "DeviceGroup",
                                     Name=room or "Unassigned")
        devices = ET.SubElement(device_group, "Devices")
        for keypad in (k for k in house.keypads.values() if k.room == room):
            _keypad(devices, house, keypad, uuids)
        outputs = ET.SubElement(area, "Outputs")
        for zone in (z for z in house.zones.values() if z.room == room):
            ET.SubElement(outputs, "Output", Name=zone.name, UUID=str(next(uuids)),
                          IntegrationID=str(zone.integration_id),
                          OutputType=_OUTPUT_TYPES[zone.kind], Wattage="0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _keypad(devices: ET.Element, house: House, keypad: SimKeypad,
            uuids: itertools.count[int]) -> None:
    device_type = ("MAIN_REPEATER" if keypad.is_repeater else
                   "PICO_KEYPAD" if keypad.kind is LutronKind.PICO else "SEETOUCH_KEYPAD")
    device = ET.SubElement(devices, "Device", Name=keypad.name, UUID=str(next(uuids)),
                           SerialNumber=str(100000 + keypad.integration_id),
                           IntegrationID=str(keypad.integration_id), DeviceType=device_type)
    components = ET.SubElement(device, "Components")
    for number in keypad.buttons:
        preset = house.presets.get(number) if keypad.is_repeater else None
        component = ET.SubElement(components, "Component", ComponentNumber=str(number),
                                  ComponentType="BUTTON")
        ET.SubElement(component, "Button", Name=f"Button {number}",
                      Engraving=preset.name if preset else f"Button {number}",
                      ButtonType="SingleAction", Direction="Press", UUID=str(next(uuids)))
    for number in house.led_components(keypad):
        component = ET.SubElement(components, "Component", ComponentNumber=str(number),
                                  ComponentType="LED")
        ET.SubElement(component, "LED", UUID=str(next(uuids)))
