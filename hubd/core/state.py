"""The in-memory device registry and state: the only writer of state, pure and synchronous.

Persistence is write-behind: the store remembers which keys changed (``drain_dirty``) and the
daemon writes them to SQLite in batches, so the hot path never waits on the disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import NamedTuple

from hubd.core.errors import InvalidValueError, UnknownDeviceError
from hubd.core.events import (
    AvailabilityChanged,
    DeviceJoined,
    DeviceLeft,
    Report,
    StateChanged,
    unexpected_event,
)
from hubd.core.model import Device, Value, validate_value


class StateEntry(NamedTuple):
    """The last known value of one attribute and when it changed (a NamedTuple: one is made
    per change, see ``hubd.core.events``)."""

    device_id: str
    attribute: str
    value: Value
    ts: float


class StateStore:
    """Devices by id and by name, and their attribute values."""

    def __init__(self) -> None:
        self._devices: dict[str, Device] = {}
        self._by_name: dict[str, str] = {}
        self._values: dict[tuple[str, str], StateEntry] = {}
        self._dirty: dict[tuple[str, str], StateEntry] = {}
        self._dirty_devices: dict[str, Device | None] = {}
        self.version = 0

    # -- devices -----------------------------------------------------------------------------

    def devices(self) -> Iterator[Device]:
        """All known devices."""
        return iter(self._devices.values())

    def get_device(self, device_id: str) -> Device | None:
        """The device with that id, if any."""
        return self._devices.get(device_id)

    def resolve(self, ref: str) -> Device:
        """The device named by id or by unique name (case-insensitive)."""
        device = self._devices.get(ref)
        if device is None:
            found = self._by_name.get(ref.casefold())
            device = self._devices.get(found) if found else None
        if device is None:
            raise UnknownDeviceError(ref, "no device has this id or name")
        return device

    def load(self, devices: Iterable[Device], entries: Iterable[StateEntry]) -> None:
        """Fill the store from persisted data at boot, without marking anything dirty."""
        for device in devices:
            self._put_device(device)
        for entry in entries:
            if entry.device_id in self._devices:
                self._values[(entry.device_id, entry.attribute)] = entry

    def _put_device(self, device: Device) -> None:
        old = self._devices.get(device.id)
        if old is not None and self._by_name.get(old.name.casefold()) == old.id:
            del self._by_name[old.name.casefold()]
        self._devices[device.id] = device
        key = device.name.casefold()
        if key and key not in self._by_name:
            self._by_name[key] = device.id

    # -- the writer --------------------------------------------------------------------------

    def apply(self, event: Report | DeviceJoined | DeviceLeft | AvailabilityChanged
              ) -> StateChanged | None:
        """Fold an event into state; a Report whose value changed yields a StateChanged."""
        match event:
            case Report():
                return self.apply_report(event)
            case DeviceJoined():
                old = self._devices.get(event.device.id)
                device = event.device
                if old is not None and not device.name:
                    device = replace(device, name=old.name, room=device.room or old.room)
                self._put_device(device)
                self._dirty_devices[device.id] = device
            case DeviceLeft():
                self._remove(event.device_id)
            case AvailabilityChanged():
                if event.device_id in self._devices:
                    device = replace(self._devices[event.device_id],
                                     is_available=event.is_available)
                    self._devices[device.id] = device
                    self._dirty_devices[device.id] = device
            case _:
                unexpected_event(event)
        self.version += 1
        return None

    def apply_report(self, report: Report) -> StateChanged | None:
        """``apply`` for a Report, the hot path's one event: the StateChanged if it changed."""
        key = (report.device_id, report.attribute)
        old = self._values.get(key)
        if old is not None and old.value == report.value:
            return None
        if report.device_id not in self._devices:
            raise UnknownDeviceError(report.device_id, "report for an unknown device")
        value = validate_value(report.attribute, report.value)
        entry = StateEntry(report.device_id, report.attribute, value, report.ts)
        self._values[key] = entry
        self._dirty[key] = entry
        self.version += 1
        return StateChanged(report.device_id, report.attribute, old.value if old else None,
                            value, report.ts, report.context)

    def _remove(self, device_id: str) -> None:
        device = self._devices.pop(device_id, None)
        if device is None:
            return
        if self._by_name.get(device.name.casefold()) == device_id:
            del self._by_name[device.name.casefold()]
        for key in [k for k in self._values if k[0] == device_id]:
            del self._values[key]
            self._dirty.pop(key, None)
        self._dirty_devices[device_id] = None

    def rename(self, device_id: str, name: str, room: str | None = None) -> Device:
        """Give a device a user-chosen name (and room); names must stay unique."""
        device = self.resolve(device_id)
        other = self._by_name.get(name.casefold())
        if other is not None and other != device.id:
            raise InvalidValueError(f"the name {name!r} is taken by {other}")
        renamed = replace(device, name=name, room=device.room if room is None else room)
        self._put_device(renamed)
        self._dirty_devices[renamed.id] = renamed
        self.version += 1
        return renamed

    # -- readers -----------------------------------------------------------------------------

    def value(self, device_id: str, attribute: str) -> Value:
        """The last known value, or None."""
        entry = self._values.get((device_id, attribute))
        return entry.value if entry else None

    def entry(self, device_id: str, attribute: str) -> StateEntry | None:
        """The last known value with the time it changed."""
        return self._values.get((device_id, attribute))

    def entries(self, device_id: str | None = None) -> list[StateEntry]:
        """All state entries, or those of one device."""
        if device_id is None:
            return list(self._values.values())
        return [e for (d, _), e in self._values.items() if d == device_id]

    # -- write-behind ------------------------------------------------------------------------

    def drain_dirty(self) -> tuple[list[StateEntry], dict[str, Device | None]]:
        """Entries and devices changed since the last drain (None: device removed)."""
        entries, devices = list(self._dirty.values()), self._dirty_devices
        self._dirty, self._dirty_devices = {}, {}
        return entries, devices
