"""What the simulated NCP does for the messaging frames (UG100 section 3.5): unicast,
broadcast and multicast sends with their messageSentHandler, the address table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.commands import AddrMode, Status
from radios.zigbee.sim.events import SendConfirmed
from radios.zigbee.sim.ezsp.commands import EmberStatus, SlStatus
from radios.zigbee.sim.ezsp.layouts import Value, as_bytes, as_int, as_tuple
from radios.zigbee.sim.ezsp.registry import Args, handles
from radios.zigbee.sim.ezsp.state import BLANK_EUI64
from radios.zigbee.sim.network import ZDO_ENDPOINT, DataRequest

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp


# --- messaging -----------------------------------------------------------------------------


def _send(ncp: Ncp, mode: int, address: int, aps: tuple[Value, ...], tag: int,
          message: bytes) -> tuple[Value, ...]:  # fmt: skip
    if not ncp.ram.is_network_up:
        return (EmberStatus.NETWORK_DOWN, 0)
    profile, cluster, src_ep, dst_ep, _, _, _ = (as_int(v) for v in aps)
    sequence = ncp.next_aps_sequence()
    network = ncp.network
    network.confirm_delay_s = ncp.faults.confirm_delay_s
    network.is_dropping_confirms = ncp.faults.is_dropping_confirms
    # The NCP keeps ZDO's own transaction number: the payload starts with it (2.4.2.8)
    request = DataRequest(mode, address, dst_ep, src_ep, cluster, sequence, message, profile, tag)
    network.send(request)
    if dst_ep == ZDO_ENDPOINT and mode != AddrMode.GROUP:
        # The shared network confirms only AF frames (Z-Stack sends ZDO by its own MT
        # requests); EmberZNet confirms every APS frame with messageSentHandler.
        is_delivered = (
            mode == AddrMode.BROADCAST or address == 0x0000 or network.by_nwk(address) is not None
        )
        status = Status.SUCCESS if is_delivered else Status.NWK_NO_ROUTE
        if not ncp.faults.is_dropping_confirms:
            ncp.report(SendConfirmed(request, status), ncp.faults.confirm_delay_s)
    return (EmberStatus.SUCCESS, sequence)


@handles("sendUnicast")
def _send_unicast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    aps = as_tuple(args[2])
    return _send(ncp, AddrMode.NWK, as_int(args[1]), aps, as_int(args[3]), as_bytes(args[4]))


@handles("sendBroadcast")
def _send_broadcast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    aps = as_tuple(args[1])
    tag = as_int(args[3])
    return _send(ncp, AddrMode.BROADCAST, as_int(args[0]), aps, tag, as_bytes(args[4]))


@handles("sendMulticast")
def _send_multicast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    aps = as_tuple(args[0])
    group = as_int(aps[5])
    return _send(ncp, AddrMode.GROUP, group, aps, as_int(args[3]), as_bytes(args[4]))


@handles("setExtendedTimeout")
def _set_extended_timeout(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    eui64 = as_int(args[0])
    if as_int(args[1]):
        ncp.ram.extended_timeouts.add(eui64)
    else:
        ncp.ram.extended_timeouts.discard(eui64)
    return ()


@handles("getExtendedTimeout")
def _get_extended_timeout(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (int(as_int(args[0]) in ncp.ram.extended_timeouts),)


@handles("getAddressTableRemoteNodeId")
def _get_address_table_node(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (0xFFFF,)


@handles("getAddressTableInfo")
def _get_address_table_info(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # v14+: the address table holds no entry the host could read back (see above)
    return (SlStatus.NOT_FOUND, 0xFFFF, int.from_bytes(BLANK_EUI64, "little"))


@handles("replaceAddressTableEntry")
def _replace_address_table_entry(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.SUCCESS, int.from_bytes(BLANK_EUI64, "little"), 0xFFFF, 0)


@handles("sendReply")
def _send_reply(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.INVALID_CALL,)


__all__ = []  # the handlers register themselves
