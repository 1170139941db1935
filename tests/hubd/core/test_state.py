"""StateStore: the only writer of state."""

import pytest

from hubd.core.errors import UnknownDeviceError
from hubd.core.events import AvailabilityChanged, DeviceJoined, DeviceLeft, Report
from hubd.core.model import Capability, Context, Device, Origin
from hubd.core.state import StateStore

CTX = Context.new(Origin.PHYSICAL)


def lamp(name: str = "Hall light", did: str = "virtual:1") -> Device:
    return Device(did, "virtual", did.split(":")[1], name,
                  capabilities=frozenset({Capability.SWITCH}))


def joined(store: StateStore, device: Device) -> None:
    store.apply(DeviceJoined(device, 0.0, CTX))


def test_report_yields_state_changed_only_on_change() -> None:
    store = StateStore()
    joined(store, lamp())
    first = store.apply(Report("virtual:1", "switch.on", True, 1.0, CTX))
    assert first is not None
    assert (first.old, first.new, first.context) == (None, True, CTX)
    assert store.apply(Report("virtual:1", "switch.on", True, 2.0, CTX)) is None
    second = store.apply(Report("virtual:1", "switch.on", False, 3.0, CTX))
    assert second is not None and (second.old, second.new) == (True, False)
    assert store.value("virtual:1", "switch.on") is False


def test_unknown_device_and_attribute_are_rejected() -> None:
    store = StateStore()
    with pytest.raises(UnknownDeviceError):
        store.apply(Report("virtual:9", "switch.on", True, 1.0, CTX))
    joined(store, lamp())
    with pytest.raises(ValueError, match="unknown attribute"):
        store.apply(Report("virtual:1", "switch.brightness", 3, 1.0, CTX))
    with pytest.raises(ValueError, match="true or false"):
        store.apply(Report("virtual:1", "switch.on", "yes", 1.0, CTX))
    assert store.value("virtual:1", "switch.on") is None


def test_resolve_by_id_and_case_insensitive_name() -> None:
    store = StateStore()
    joined(store, lamp())
    assert store.resolve("hall LIGHT").id == "virtual:1"
    assert store.resolve("virtual:1").name == "Hall light"
    with pytest.raises(UnknownDeviceError):
        store.resolve("kitchen")


def test_rename_keeps_names_unique() -> None:
    store = StateStore()
    joined(store, lamp())
    joined(store, lamp("Porch", "virtual:2"))
    with pytest.raises(ValueError, match="taken"):
        store.rename("virtual:2", "hall light")
    store.rename("virtual:2", "Front porch", room="Outside")
    assert store.resolve("front porch").room == "Outside"
    with pytest.raises(UnknownDeviceError):
        store.resolve("porch")


def test_rejoin_without_name_keeps_the_users_name() -> None:
    store = StateStore()
    joined(store, lamp("Desk"))
    joined(store, lamp(""))
    assert store.resolve("virtual:1").name == "Desk"


def test_availability_and_leave() -> None:
    store = StateStore()
    joined(store, lamp())
    store.apply(Report("virtual:1", "switch.on", True, 1.0, CTX))
    store.apply(AvailabilityChanged("virtual:1", False, 2.0, CTX))
    assert store.resolve("virtual:1").is_available is False
    store.apply(DeviceLeft("virtual:1", 3.0, CTX))
    assert store.get_device("virtual:1") is None
    assert store.entries() == []
    entries, devices = store.drain_dirty()
    assert entries == [] and devices == {"virtual:1": None}
    assert store.drain_dirty() == ([], {})


def test_drain_dirty_coalesces_per_attribute() -> None:
    store = StateStore()
    joined(store, lamp())
    store.drain_dirty()
    for i, on in enumerate([True, False, True]):
        store.apply(Report("virtual:1", "switch.on", on, float(i), CTX))
    entries, _ = store.drain_dirty()
    assert [(e.value, e.ts) for e in entries] == [(True, 2.0)]
