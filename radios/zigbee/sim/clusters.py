"""ZCL cluster servers of the simulated devices: their attributes and cluster-specific commands.

Attributes are declared as data per cluster (id, type, default, writable, reportable); the
command handlers are a table keyed by (cluster, command). A handler changes attributes (which
the device then reports) and returns the ZCL status and, where the spec defines one, its
cluster-specific response. Section numbers refer to the ZCL specification (07-5123).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from radios.zigbee.sim.attributes import ATTRIBUTES, AttrDef, ClusterId
from radios.zigbee.sim.wire import PayloadError, Reader, s16, u8, u16
from radios.zigbee.sim.zcl import AttrValue, ZclStatus


@dataclass
class Cluster:
    """One server cluster on an endpoint: current attribute values and what changed."""

    cluster_id: ClusterId
    values: dict[int, AttrValue]
    changed: list[int] = field(default_factory=list)
    followups: list[tuple[int, bytes]] = field(default_factory=list)

    def define(self, attr_id: int) -> AttrDef | None:
        """The declaration of an attribute, None if the cluster lacks it."""
        return ATTRIBUTES[self.cluster_id].get(attr_id)

    def get(self, attr_id: int) -> AttrValue:
        """The current value of an attribute."""
        return self.values[attr_id]

    def set(self, attr_id: int, value: AttrValue) -> None:
        """Change an attribute; a reportable change is remembered for the next report."""
        if self.values.get(attr_id) == value:
            return
        self.values[attr_id] = value
        definition = self.define(attr_id)
        if definition is not None and definition.is_reportable and attr_id not in self.changed:
            self.changed.append(attr_id)

    def take_changes(self) -> list[int]:
        """The attributes changed since the last call."""
        changed, self.changed = self.changed, []
        return changed

    def take_followups(self) -> list[tuple[int, bytes]]:
        """Cluster-specific commands the cluster wants to send on its own (server to client)."""
        followups, self.followups = self.followups, []
        return followups


def make_cluster(cluster_id: ClusterId, overrides: dict[int, AttrValue] | None = None) -> Cluster:
    """A cluster with its declared defaults, some replaced by ``overrides``."""
    values = {attr: d.default for attr, d in ATTRIBUTES[cluster_id].items()}
    values.update(overrides or {})
    return Cluster(cluster_id, values)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What a cluster command did: a ZCL status and optionally a specific response."""

    status: ZclStatus
    answer: tuple[int, bytes] | None = None


OK = CommandOutcome(ZclStatus.SUCCESS)


@dataclass
class EndpointState:
    """What commands of one endpoint act on: its clusters, group and scene tables."""

    clusters: dict[int, Cluster]
    groups: dict[int, str] = field(default_factory=dict)  # group id -> name
    scenes: dict[tuple[int, int], dict[tuple[ClusterId, int], AttrValue]] = field(
        default_factory=dict
    )

    def cluster(self, cluster_id: int) -> Cluster | None:
        """The endpoint's server cluster with that id, if any."""
        return self.clusters.get(cluster_id)


Handler = Callable[[EndpointState, Cluster, Reader], CommandOutcome]


def _set_on(ep: EndpointState, is_on: bool) -> None:
    on_off = ep.cluster(ClusterId.ON_OFF)
    if on_off is not None:
        on_off.set(0x0000, int(is_on))


def _on_off(value: bool | None) -> Handler:
    def handler(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
        # 3.8.2.3: Off / On / Toggle (and their effect variants, which end in the same state)
        target = (not cluster.get(0x0000)) if value is None else value
        _set_on(ep, target)
        return OK

    return handler


def _move_to_level(with_on_off: bool) -> Handler:
    def handler(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
        level = args.u8()
        args.u16()  # transition time: the sim moves at once
        return _apply_level(ep, cluster, level, with_on_off)

    return handler


def _step_level(with_on_off: bool) -> Handler:
    def handler(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
        mode, step = args.u8(), args.u8()
        if mode not in (0, 1):
            return CommandOutcome(ZclStatus.INVALID_FIELD)
        current = int(cluster.get(0x0000))
        return _apply_level(
            ep, cluster, current + step if mode == 0 else current - step, with_on_off
        )

    return handler


def _move_level(with_on_off: bool) -> Handler:
    def handler(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
        mode = args.u8()
        args.u8()  # rate: the sim arrives at once
        if mode not in (0, 1):
            return CommandOutcome(ZclStatus.INVALID_FIELD)
        return _apply_level(ep, cluster, 254 if mode == 0 else 1, with_on_off)

    return handler


def _apply_level(
    ep: EndpointState, cluster: Cluster, level: int, with_on_off: bool
) -> CommandOutcome:
    level = max(1, min(254, level))
    cluster.set(0x0000, level)
    if with_on_off:
        # 3.10.2.4.1: the "with On/Off" variants switch on above the minimum, off at it
        _set_on(ep, level > 1)
    return OK


def _stop(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    return OK


def _move_to_color_temp(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    mireds = args.u16()
    args.u16()  # transition time
    low, high = int(cluster.get(0x400B)), int(cluster.get(0x400C))
    cluster.set(0x0007, max(low, min(high, mireds)))
    cluster.set(0x0008, 2)
    return OK


def _lock(state: int, response_id: int) -> Handler:
    def handler(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
        # 7.3.2.17: Lock/Unlock Door get a Lock/Unlock Door Response carrying a status
        cluster.set(0x0000, state)
        return CommandOutcome(ZclStatus.SUCCESS, (response_id, u8(ZclStatus.SUCCESS)))

    return handler


def _setpoint_raise_lower(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    mode, amount = args.u8(), args.s8()
    if mode > 2:
        return CommandOutcome(ZclStatus.INVALID_FIELD)
    # 6.3.3.3.1: amount in steps of 0.1 C; setpoints are in 0.01 C
    if mode in (0, 2):
        cluster.set(0x0012, int(cluster.get(0x0012)) + amount * 10)
    if mode in (1, 2):
        cluster.set(0x0011, int(cluster.get(0x0011)) + amount * 10)
    return OK


def _identify(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    cluster.values[0x0000] = args.u16()
    return OK


GROUP_CAPACITY = 16  # entries in a simulated light's group table


def _is_group_id(group: int) -> bool:
    return 0x0001 <= group <= 0xFFF7  # 3.6.2.3.2: other ids are INVALID_VALUE


def _add_group(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    group = args.u16()
    status = _add_to_table(ep, group, args)
    return CommandOutcome(ZclStatus.SUCCESS, (0x00, u8(status) + u16(group)))


def _add_to_table(ep: EndpointState, group: int, args: Reader) -> ZclStatus:
    """3.6.2.3.2: add an entry to the group table, with its name (up to 16 characters)."""
    name = args.short_bytes().decode(errors="replace") if args.remaining else ""
    if not _is_group_id(group):
        return ZclStatus.INVALID_VALUE
    if group in ep.groups:
        return ZclStatus.DUPLICATE_EXISTS
    if len(ep.groups) >= GROUP_CAPACITY:
        return ZclStatus.INSUFFICIENT_SPACE
    ep.groups[group] = name[:16]
    return ZclStatus.SUCCESS


def _add_group_if_identifying(
    ep: EndpointState, cluster: Cluster, args: Reader
) -> CommandOutcome:
    identify = ep.cluster(ClusterId.IDENTIFY)
    if identify is None or not identify.get(0x0000):
        return OK  # 3.6.2.3.7: ignored unless identifying
    return CommandOutcome(_add_to_table(ep, args.u16(), args))


def _view_group(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    group = args.u16()
    name = ep.groups.get(group)
    if name is None:
        status = ZclStatus.NOT_FOUND if _is_group_id(group) else ZclStatus.INVALID_VALUE
        return CommandOutcome(ZclStatus.SUCCESS, (0x01, u8(status) + u16(group) + u8(0)))
    raw = name.encode()
    return CommandOutcome(ZclStatus.SUCCESS, (0x01, u8(0) + u16(group) + u8(len(raw)) + raw))


def _remove_group(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    group = args.u16()
    status = ZclStatus.SUCCESS if group in ep.groups else ZclStatus.NOT_FOUND
    ep.groups.pop(group, None)
    return CommandOutcome(ZclStatus.SUCCESS, (0x03, u8(status) + u16(group)))


def _group_membership(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    asked = {args.u16() for _ in range(args.u8())}
    found = sorted(set(ep.groups) if not asked else set(ep.groups) & asked)
    capacity = GROUP_CAPACITY - len(ep.groups)
    payload = u8(capacity) + u8(len(found)) + b"".join(u16(g) for g in found)
    return CommandOutcome(ZclStatus.SUCCESS, (0x02, payload))


def _remove_all_groups(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    ep.groups.clear()
    return OK


def _scene_snapshot(ep: EndpointState) -> dict[tuple[ClusterId, int], AttrValue]:
    snapshot: dict[tuple[ClusterId, int], AttrValue] = {}
    for cluster_id, attr in ((ClusterId.ON_OFF, 0), (ClusterId.LEVEL, 0), (ClusterId.COLOR, 7)):
        cluster = ep.cluster(cluster_id)
        if cluster is not None:
            snapshot[(cluster_id, attr)] = cluster.get(attr)
    return snapshot


def _store_scene(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    group, scene = args.u16(), args.u8()
    ep.scenes[(group, scene)] = _scene_snapshot(ep)
    cluster.values[0x0000] = len(ep.scenes)
    return CommandOutcome(ZclStatus.SUCCESS, (0x04, u8(0) + u16(group) + u8(scene)))


def _recall_scene(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    group, scene = args.u16(), args.u8()
    stored = ep.scenes.get((group, scene))
    if stored is None:
        return CommandOutcome(ZclStatus.FAILURE)  # NOT_FOUND in ZCL 8; FAILURE is older
    for (cluster_id, attr), value in stored.items():
        target = ep.cluster(cluster_id)
        if target is not None:
            target.set(attr, value)
    cluster.values[0x0001], cluster.values[0x0002] = scene, group
    return OK


def _remove_all_scenes(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    group = args.u16()
    for key in [k for k in ep.scenes if k[0] == group]:
        del ep.scenes[key]
    cluster.values[0x0000] = len(ep.scenes)
    return CommandOutcome(ZclStatus.SUCCESS, (0x03, u8(0) + u16(group)))


def _zone_enroll_response(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    code, zone_id = args.u8(), args.u8()
    # 8.2.2.3.1: code 0 = success: the zone is enrolled with the id the CIE gave it
    if code == 0:
        cluster.set(0x0000, 1)
        cluster.values[0x0011] = zone_id
    return OK


def _no_op(ep: EndpointState, cluster: Cluster, args: Reader) -> CommandOutcome:
    return OK


C = ClusterId
HANDLERS: dict[tuple[ClusterId, int], Handler] = {
    (C.BASIC, 0x00): _no_op,  # reset to factory defaults
    (C.IDENTIFY, 0x00): _identify,
    (C.GROUPS, 0x00): _add_group,
    (C.GROUPS, 0x01): _view_group,
    (C.GROUPS, 0x02): _group_membership,
    (C.GROUPS, 0x03): _remove_group,
    (C.GROUPS, 0x04): _remove_all_groups,
    (C.GROUPS, 0x05): _add_group_if_identifying,
    (C.SCENES, 0x03): _remove_all_scenes,
    (C.SCENES, 0x04): _store_scene,
    (C.SCENES, 0x05): _recall_scene,
    (C.ON_OFF, 0x00): _on_off(False),
    (C.ON_OFF, 0x01): _on_off(True),
    (C.ON_OFF, 0x02): _on_off(None),
    (C.ON_OFF, 0x40): _on_off(False),  # off with effect
    (C.ON_OFF, 0x41): _on_off(True),  # on with recall global scene
    (C.LEVEL, 0x00): _move_to_level(False),
    (C.LEVEL, 0x01): _move_level(False),
    (C.LEVEL, 0x02): _step_level(False),
    (C.LEVEL, 0x03): _stop,
    (C.LEVEL, 0x04): _move_to_level(True),
    (C.LEVEL, 0x05): _move_level(True),
    (C.LEVEL, 0x06): _step_level(True),
    (C.LEVEL, 0x07): _stop,
    (C.COLOR, 0x0A): _move_to_color_temp,
    (C.COLOR, 0x47): _stop,  # stop move step
    (C.DOOR_LOCK, 0x00): _lock(1, 0x00),
    (C.DOOR_LOCK, 0x01): _lock(2, 0x01),
    (C.THERMOSTAT, 0x00): _setpoint_raise_lower,
    (C.IAS_ZONE, 0x00): _zone_enroll_response,
    (C.IAS_ZONE, 0x01): _no_op,  # initiate normal operation mode
}


def run_command(
    ep: EndpointState, cluster: Cluster, command_id: int, args: bytes
) -> CommandOutcome:
    """Run a cluster-specific command; UNSUP_CLUSTER_COMMAND when the cluster has none such."""
    handler = HANDLERS.get((cluster.cluster_id, command_id))
    if handler is None:
        return CommandOutcome(ZclStatus.UNSUP_CLUSTER_COMMAND)
    try:
        return handler(ep, cluster, Reader(args))
    except PayloadError:
        return CommandOutcome(ZclStatus.MALFORMED_COMMAND)


def zone_enroll_request(cluster: Cluster, manufacturer_code: int) -> tuple[int, bytes]:
    """The Zone Enroll Request a zone sends once its CIE address is written (8.2.2.4.2)."""
    return (0x01, u16(int(cluster.get(0x0001))) + u16(manufacturer_code))


def zone_status_change(cluster: Cluster) -> tuple[int, bytes]:
    """A Zone Status Change Notification for the current zone status (8.2.2.4.1)."""
    zone_id = int(cluster.get(0x0011))
    return (0x00, u16(int(cluster.get(0x0002))) + u8(0) + u8(zone_id) + s16(0))


__all__ = ["ATTRIBUTES", "AttrDef", "Cluster", "ClusterId", "CommandOutcome", "EndpointState"]
