"""Configured Zigbee groups as hub devices, and their membership kept in sync with zigpy.

A group ``[[radios.zigbee.groups]]`` is announced as the device ``zigbee:group:<id>`` whose
capabilities are the actuator capabilities (switch, level, colour) every member known so far
shares; it changes as members join and leave. Commands to it go out as one multicast. A group
never reports state: its members report their own.

Membership: when a member is onboarded (joined or rejoined) it is asked to add the group (ZCL
3.6.2.3.2 Add Group; "duplicate exists" counts as done), since a device reset loses its group
table. At each start, zigpy's own record of members (its database) is compared with the
configuration; only the differences go over the air: missing members are added, devices no
longer configured are removed (ZCL 3.6.2.3.5 Remove Group).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol

from hubd.core.errors import HubError
from hubd.core.events import DeviceJoined
from hubd.core.model import Capability, Context, Device, Origin
from radios.zigbee import mapping
from radios.zigbee.model import NodeInfo
from radios.zigbee.settings import ZigbeeGroup

log = logging.getLogger(__name__)

RADIO = "zigbee"
GROUP_CAPABILITIES = frozenset({Capability.SWITCH, Capability.LEVEL, Capability.COLOR})


class GroupAdapter(Protocol):
    """What membership sync needs from the zigpy adapter."""

    def group_members(self, group_id: int) -> frozenset[str]:
        """IEEE addresses zigpy has as members of the group."""
        ...

    async def add_to_group(self, ieee: str, group_id: int) -> None:
        """Ask a device to add the group (DeviceError if it cannot)."""
        ...

    async def remove_from_group(self, ieee: str, group_id: int) -> None:
        """Ask a device to remove the group (DeviceError if it cannot)."""
        ...


def group_capabilities(group: ZigbeeGroup, nodes: Mapping[str, NodeInfo]
                       ) -> frozenset[Capability]:
    """The actuator capabilities all known members share (none while no member is known)."""
    members = [nodes[ieee] for ieee in sorted(group.member_ieees) if ieee in nodes]
    if not members:
        return frozenset()
    shared = GROUP_CAPABILITIES
    for node in members:
        shared &= mapping.capabilities(node)
    return frozenset(shared)


def group_device(group: ZigbeeGroup, capabilities: frozenset[Capability]) -> Device:
    """The hub device that stands for a group."""
    return Device(id=group.device_id, radio=RADIO, address=f"group:{group.id}", name=group.name,
                  room=group.room, model="group", capabilities=capabilities, is_available=True)


class GroupKeeper:
    """The configured groups: announced as devices, members kept in the groups."""

    def __init__(self, groups: Iterable[ZigbeeGroup], report: Callable[[DeviceJoined], None],
                 now: Callable[[], float]) -> None:
        self.groups = tuple(groups)
        self._report = report
        self._now = now
        self._announced: dict[int, frozenset[Capability]] = {}
        self._is_live = False

    def groups_of(self, ieee: str) -> list[ZigbeeGroup]:
        """The configured groups a device belongs to."""
        return [g for g in self.groups if ieee in g.member_ieees]

    def announce_all(self, nodes: Mapping[str, NodeInfo]) -> None:
        """Announce every group (at each start, after the devices)."""
        self._is_live = True
        for group in self.groups:
            self._announce(group, group_capabilities(group, nodes))

    def members_changed(self, nodes: Mapping[str, NodeInfo]) -> None:
        """A device came or went: announce again the groups whose capabilities changed."""
        if not self._is_live:
            return
        for group in self.groups:
            capabilities = group_capabilities(group, nodes)
            if self._announced.get(group.id) != capabilities:
                self._announce(group, capabilities)

    def _announce(self, group: ZigbeeGroup, capabilities: frozenset[Capability]) -> None:
        self._announced[group.id] = capabilities
        self._report(DeviceJoined(group_device(group, capabilities), self._now(),
                                  Context.new(Origin.SYSTEM)))

    async def join(self, adapter: GroupAdapter, ieee: str) -> None:
        """A member was onboarded: put it in each of its groups (its table may be empty)."""
        for group in self.groups_of(ieee):
            await _step(f"add to group {group.id}", ieee, adapter.add_to_group(ieee, group.id))

    async def sync(self, adapter: GroupAdapter, nodes: Mapping[str, NodeInfo]) -> None:
        """Make zigpy's membership match the configuration, for the devices known now."""
        for group in self.groups:
            wanted = group.member_ieees & nodes.keys()
            present = adapter.group_members(group.id)
            for ieee in sorted(wanted - present):
                await _step(f"add to group {group.id}", ieee, adapter.add_to_group(ieee, group.id))
            for ieee in sorted((present - group.member_ieees) & nodes.keys()):
                await _step(f"remove from group {group.id}", ieee,
                            adapter.remove_from_group(ieee, group.id))


async def _step(what: str, ieee: str, request: Awaitable[None]) -> None:
    """One membership request, best effort: a sleepy or absent device is tried again at its
    next join or the next start."""
    try:
        await request
    except (HubError, TimeoutError) as exc:
        log.info("event=zigbee_group_sync_failed ieee=%s step=%r error=%r", ieee, what, exc)
