"""What devices say, as hubd's data: zigpy's cluster callbacks and the packet entry's frames
turned into ``radios.zigbee.model`` events for an ``AdapterListener``.

``DeviceEvents`` attaches to each interviewed device's clusters (attribute events, the legacy
cluster-command listener, the Default Response hold) and hears the frames the packet entry
(``entry.PacketEntry``) takes before zigpy; while zigpy replays such a frame it stays silent,
so each frame reaches hubd once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import zigpy.device
from zigpy.zcl import Cluster

from radios.zigbee.adapter.entry import PacketEntry
from radios.zigbee.adapter.glue import DefaultResponseHold, plain
from radios.zigbee.mapping import IAS_ZONE_TYPE, SCALING
from radios.zigbee.model import (
    AttributeEvent,
    ClusterCommandEvent,
    ClusterId,
    EndpointInfo,
    NodeInfo,
)

_ATTRIBUTE_EVENTS = ("attribute_report", "attribute_read", "attribute_updated")


class AdapterListener(Protocol):
    """What the adapter tells the driver; every call is synchronous and returns at once."""

    def node_ready(self, node: NodeInfo) -> None:
        """A device finished its interview (new, rejoined or re-interviewed)."""
        ...

    def node_left(self, ieee: str) -> None:
        """A device left the network or was removed."""
        ...

    def node_seen(self, ieee: str) -> None:
        """A device sent something (any frame)."""
        ...

    def attribute(self, event: AttributeEvent) -> None:
        """A device reported an attribute, or answered a read."""
        ...

    def cluster_command(self, event: ClusterCommandEvent) -> None:
        """A device sent a cluster command to the hub."""
        ...

    def link_lost(self, reason: str) -> None:
        """The coordinator is gone (unplugged, reset, not answering); stop using this adapter."""
        ...

    def notice(self, message: str) -> None:
        """Something the people of the house should know (zigbee.db rebuilt, a flood)."""
        ...

    def frame_allowed(self, nwk: int) -> bool:
        """A device frame arrived from ``nwk``: may it come in (False: drop it, a flood)?"""
        ...

    def frame_expected(self, nwk: int) -> None:
        """A request goes to the device ``nwk``: the frames it answers with may come in."""
        ...


def node_info(device: zigpy.device.Device) -> NodeInfo:
    """A zigpy device as plain data."""
    endpoints = tuple(
        EndpointInfo(ep.endpoint_id, frozenset(ep.in_clusters), frozenset(ep.out_clusters))
        for ep in device.non_zdo_endpoints
    )
    zone_type = None
    for ep in device.non_zdo_endpoints:
        ias = ep.in_clusters.get(ClusterId.IAS_ZONE)
        if ias is not None:
            cached = ias.get(IAS_ZONE_TYPE)
            zone_type = int(cached) if isinstance(cached, int) else None
    node_desc = device.node_desc
    return NodeInfo(
        ieee=str(device.ieee), nwk=int(device.nwk), manufacturer=device.manufacturer or "",
        model=device.model or "", endpoints=endpoints,
        is_mains_powered=True if node_desc is None else bool(node_desc.is_mains_powered),
        zone_type=zone_type, last_seen=device.last_seen,
    )


class _CommandListener:
    """zigpy still delivers received cluster commands only through the legacy listener."""

    def __init__(self, events: DeviceEvents, ieee: str, endpoint_id: int, cluster_id: int
                 ) -> None:
        self._events, self._ieee = events, ieee
        self._endpoint_id, self._cluster_id = endpoint_id, cluster_id

    def cluster_command(self, tsn: int, command_id: int, args: Any) -> None:
        """Called by zigpy for every cluster command the device sent."""
        if self._events.entry.is_replaying:  # hubd heard it at the packet entry
            return
        self._events.on_cluster_command(self._ieee, self._endpoint_id, self._cluster_id,
                                        command_id, args)


class DeviceEvents:
    """Devices' frames and zigpy's cluster callbacks as events for the listener."""

    def __init__(self, listener: AdapterListener, hold: DefaultResponseHold, is_holding: bool,
                 enroll: Callable[[str, int], None]) -> None:
        self._listener = listener
        self._hold, self._is_holding = hold, is_holding
        self._enroll = enroll
        self._detach: dict[str, list[Callable[[], None]]] = {}
        self._servers: dict[str, dict[int, Cluster]] = {}
        self.entry = PacketEntry(self)

    def attach(self, device: zigpy.device.Device) -> None:
        """Listen to an interviewed device's clusters (again, after a re-interview)."""
        ieee = str(device.ieee)
        self.detach(ieee)
        detachers: list[Callable[[], None]] = []
        servers: dict[int, Cluster] = {}
        for ep in device.non_zdo_endpoints:
            for cluster_id, server in ep.in_clusters.items():
                servers.setdefault(cluster_id, server)
            for cluster in (*ep.in_clusters.values(), *ep.out_clusters.values()):
                for name in _ATTRIBUTE_EVENTS:
                    detachers.append(cluster.on_event(name, self._make_attr_cb(cluster)))
                if self._is_holding:
                    detachers.append(self._hold.install(cluster))
                listener = _CommandListener(self, ieee, ep.endpoint_id, cluster.cluster_id)
                cluster.add_listener(listener)
                detachers.append(_remover(cluster, listener))
        self._detach[ieee] = detachers
        self._servers[ieee] = servers
        self.entry.track(device)

    def detach(self, ieee: str) -> None:
        """Stop listening to a device's clusters."""
        self._servers.pop(ieee, None)
        for detach in self._detach.pop(ieee, []):
            detach()

    def server_cluster(self, ieee: str, cluster_id: int) -> Cluster | None:
        """An attached device's server cluster, on the first endpoint that has it (None if
        the device is not attached or has no such cluster)."""
        servers = self._servers.get(ieee)
        return None if servers is None else servers.get(cluster_id)

    def detach_all(self) -> None:
        """Stop listening to every device (the adapter stops)."""
        for ieee in list(self._detach):
            self.detach(ieee)

    def _make_attr_cb(self, cluster: Cluster) -> Callable[[Any], None]:
        scaling = SCALING.get(cluster.cluster_id)

        def on_attribute(event: Any) -> None:
            if not self.entry.is_replaying:  # hubd heard it at the packet entry
                self._attribute(cluster, scaling, event.device_ieee, event.endpoint_id,
                                event.attribute_id, event.value)

        return on_attribute

    def _attribute(self, cluster: Cluster, scaling: tuple[int, int] | None, ieee: str,
                   endpoint_id: int, attribute_id: int, value: Any) -> None:
        multiplier = divisor = 1
        if scaling is not None:
            multiplier = int(cluster.get(scaling[0], 1) or 1)
            divisor = int(cluster.get(scaling[1], 1) or 1)
        self._listener.attribute(AttributeEvent(ieee, endpoint_id, cluster.cluster_id,
                                                attribute_id, plain(value), multiplier, divisor))

    # -- frames taken at zigpy's packet entry (radios.zigbee.adapter.entry) ------------------

    def entry_seen(self, ieee: str) -> None:
        """A device sent a frame hubd takes before zigpy: it is alive."""
        self._listener.node_seen(ieee)

    def entry_command(self, ieee: str, endpoint_id: int, cluster: Cluster, command_id: int,
                      args: Any) -> None:
        """A cluster command, heard before zigpy's handling."""
        self.on_cluster_command(ieee, endpoint_id, cluster.cluster_id, command_id, args)

    def entry_attribute(self, ieee: str, endpoint_id: int, cluster: Cluster, attribute_id: int,
                        value: Any) -> None:
        """A reported attribute, heard before zigpy's handling."""
        self._attribute(cluster, SCALING.get(cluster.cluster_id), ieee, endpoint_id,
                        attribute_id, value)

    def on_cluster_command(self, ieee: str, endpoint_id: int, cluster_id: int,
                           command_id: int, args: Any) -> None:
        """A cluster command arrived; IAS enroll requests are answered (ZCL 8.2.2.4.2)."""
        values = args.as_tuple() if hasattr(args, "as_tuple") else tuple(args or ())
        event = ClusterCommandEvent(ieee, endpoint_id, cluster_id, command_id,
                                    tuple(plain(v) for v in values))
        if cluster_id == ClusterId.IAS_ZONE and command_id == 0x01:
            self._enroll(ieee, endpoint_id)
        self._listener.cluster_command(event)


def _remover(cluster: Cluster, listener: _CommandListener) -> Callable[[], None]:
    return lambda: cluster.remove_listener(listener)
