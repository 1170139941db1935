"""What a simulated device keeps in its own flash across a coordinator restart, and its JSON.

A real Zigbee device does not forget, when the coordinator reboots or the hub restarts, what
the hub told it: its IAS CIE address, zone id and enrolment (ZCL 8.2.2.2.3), its binding table
(Zigbee spec 2.2.8.2), its reporting configuration (ZCL 2.5.7), its group table (ZCL 3.6) and
scenes, and its attribute values. ``capture`` takes that from a SimDevice as a DeviceMemory,
``restore`` puts it back into a freshly built one; ``to_json`` / ``from_json`` carry it through
the demo's state file. Restoring writes values silently: a device coming back sends no reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from radios.zigbee.sim.attributes import ClusterId
from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.foundation import ReportingConfig
from radios.zigbee.sim.zcl import AttrValue
from radios.zigbee.sim.zdo import Binding


class MemoryJson(TypedDict):
    """The JSON form of a DeviceMemory (numbers as JSON numbers, bytes as hex)."""

    values: list[list[int | str]]  # [cluster, attribute, value]
    bindings: list[list[int | str]]  # [src endpoint, cluster, destination hex]
    reporting: list[list[int]]  # [cluster, attribute, type, min s, max s, change]
    groups: list[list[int | str]]  # [group, name]
    scenes: list[list[int]]  # [group, scene, cluster, attribute, value]


@dataclass(frozen=True, slots=True)
class AttributeMemory:
    """One remembered attribute value."""

    cluster_id: int
    attribute_id: int
    value: AttrValue


@dataclass(frozen=True, slots=True)
class ReportingMemory:
    """One remembered reporting configuration."""

    cluster_id: int
    attribute_id: int
    config: ReportingConfig


@dataclass(frozen=True, slots=True)
class SceneMemory:
    """One attribute value stored in a scene."""

    group_id: int
    scene_id: int
    cluster_id: int
    attribute_id: int
    value: AttrValue


@dataclass(frozen=True, slots=True)
class DeviceMemory:
    """Everything a device keeps in its own NVRAM."""

    values: tuple[AttributeMemory, ...] = ()
    bindings: tuple[Binding, ...] = ()
    reporting: tuple[ReportingMemory, ...] = ()
    groups: tuple[tuple[int, str], ...] = ()
    scenes: tuple[SceneMemory, ...] = ()

    def to_json(self) -> MemoryJson:
        """The memory as JSON-ready data."""
        return {
            "values": [[v.cluster_id, v.attribute_id, v.value] for v in self.values],
            "bindings": [[b.src_endpoint, b.cluster_id, b.dst.hex()] for b in self.bindings],
            "reporting": [
                [r.cluster_id, r.attribute_id, r.config.data_type, r.config.min_interval_s,
                 r.config.max_interval_s, r.config.reportable_change]
                for r in self.reporting
            ],
            "groups": [[group, name] for group, name in self.groups],
            "scenes": [
                [s.group_id, s.scene_id, s.cluster_id, s.attribute_id, int(s.value)]
                for s in self.scenes
            ],
        }

    @classmethod
    def from_json(cls, raw: object) -> DeviceMemory:
        """A memory from ``to_json`` output; ValueError says what is malformed."""
        if not isinstance(raw, Mapping):
            raise ValueError("device memory must be an object")
        try:
            return cls(
                values=tuple(
                    AttributeMemory(_int(c), _int(a), _value(v)) for c, a, v in _rows(raw, "values")
                ),
                bindings=tuple(
                    Binding(_int(ep), _int(c), bytes.fromhex(str(dst)))
                    for ep, c, dst in _rows(raw, "bindings")
                ),
                reporting=tuple(
                    ReportingMemory(_int(c), _int(a), ReportingConfig(
                        _int(t), _int(lo), _int(hi), _int(change)))
                    for c, a, t, lo, hi, change in _rows(raw, "reporting")
                ),
                groups=tuple((_int(g), str(name)) for g, name in _rows(raw, "groups")),
                scenes=tuple(
                    SceneMemory(_int(g), _int(s), _int(c), _int(a), _int(v))
                    for g, s, c, a, v in _rows(raw, "scenes")
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed device memory: {exc}") from exc


def _rows(raw: Mapping[str, object], key: str) -> list[list[object]]:
    rows = raw.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ValueError(f"{key!r} must be a list of lists")
    return rows


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _value(value: object) -> AttrValue:
    if isinstance(value, str):
        return value
    return _int(value)


def capture(device: SimDevice) -> DeviceMemory:
    """What the device would still know after a power cycle."""
    ep = device.endpoint
    return DeviceMemory(
        values=tuple(
            AttributeMemory(cluster_id, attr_id, value)
            for cluster_id, cluster in ep.clusters.items()
            for attr_id, value in cluster.values.items()
        ),
        bindings=tuple(device.node.bindings),
        reporting=tuple(
            ReportingMemory(cluster_id, attr_id, config)
            for cluster_id, configs in device.reporting.items()
            for attr_id, config in configs.items()
        ),
        groups=tuple(ep.groups.items()),
        scenes=tuple(
            SceneMemory(group, scene, cluster_id, attr_id, value)
            for (group, scene), stored in ep.scenes.items()
            for (cluster_id, attr_id), value in stored.items()
        ),
    )


def restore(device: SimDevice, memory: DeviceMemory) -> None:
    """Put a captured memory back into a freshly built device of the same kind.

    Entries for clusters or attributes the device does not have are skipped: a kind's
    definition may have changed since the memory was taken.
    """
    ep = device.endpoint
    for item in memory.values:
        cluster = ep.clusters.get(item.cluster_id)
        if cluster is not None and cluster.define(item.attribute_id) is not None:
            cluster.values[item.attribute_id] = item.value  # silently: no report
    device.node.bindings = list(memory.bindings)
    device.reporting = {}
    for report in memory.reporting:
        if report.cluster_id in ep.clusters:
            device.reporting.setdefault(report.cluster_id, {})[report.attribute_id] = (
                report.config
            )
    if ep.cluster(ClusterId.GROUPS) is not None:
        ep.groups = dict(memory.groups)
    ep.scenes = {}
    for scene in memory.scenes:
        if scene.cluster_id not in ep.clusters:
            continue
        stored = ep.scenes.setdefault((scene.group_id, scene.scene_id), {})
        stored[(ClusterId(scene.cluster_id), scene.attribute_id)] = scene.value
