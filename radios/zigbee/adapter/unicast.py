"""A cluster command to one device as one zigpy packet: the frame built here, the answer
matched by zigpy.

Theory of operation. zigpy's ``Cluster.command`` builds the command's schema and a ZCL header,
serializes both, ``Device.request`` parses that header back to learn the answer's key, and
``ControllerApplication.request`` builds the packet: about a millisecond on a busy hub for a
three-byte On/Off frame, spent between the rule's decision and the radio library's write.
``send_command`` does what those layers do for a cluster-specific command to a server
cluster, and nothing more:

- the ZCL frame (ZCL 2.4.1): frame control "cluster-specific, client to server, Default
  Response wanted" (as zigpy sends commands to a server cluster), the TSN from the device's
  own counter (the one zigpy's requests to it draw from, so no two pending requests to a
  device share a TSN), the command id, and the payload encoded by the cluster's own schema;
- the answer's key (endpoint, cluster, server-to-client direction, TSN) in the device's table
  of pending requests, the table zigpy's packet handling resolves with the device's Default
  Response (ZCL 2.5.12) or the command's own response; zigpy's handling of every received
  frame is thus unchanged;
- the packet, addressed and optioned as ``ControllerApplication.request`` would (NWK
  addresses, source route when configured, extended timeout for sleepy devices, APS
  encryption when the cluster wants it), handed to the radio library's ``send_packet``
  (zigpy-znp's or bellows': their route repair and concurrency limit still apply);
- zigpy's retries: a send that fails, or an answer that does not come within zigpy's reply
  timeout, is tried again (with route discovery forced), twice at most.

The caller bounds the whole with its own deadline; a status other than success is the
caller's to judge (``requests.check_answer``).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import zigpy.application
import zigpy.config
import zigpy.const
import zigpy.device
import zigpy.exceptions
import zigpy.profiles.zha
import zigpy.profiles.zll
import zigpy.types as zt
from zigpy.zcl import Cluster, foundation

# ZCL 2.4.1.1 Frame Control: cluster-specific (0b01), client to server, Default Response on.
_CLUSTER_COMMAND_TO_SERVER = 0x01
RETRIES = zigpy.device.DEFAULT_REQUEST_RETRIES
RETRY_DELAY_S = zigpy.device.DEFAULT_REQUEST_RETRY_DELAY


def frame(cluster: Cluster, tsn: int, command_id: int, args: tuple[int, ...]) -> bytes:
    """The ZCL frame of a cluster-specific command to a server cluster (ZCL 2.4.1)."""
    command = cluster.server_commands.get(command_id)
    if command is None:
        raise ValueError(f"cluster 0x{cluster.cluster_id:04x} has no command 0x{command_id:02x}")
    return bytes((_CLUSTER_COMMAND_TO_SERVER, tsn, command_id)) + _payload(command.schema, args)


@functools.lru_cache(maxsize=256)
def _payload(schema: type, args: tuple[int, ...]) -> bytes:
    # A command's payload by its schema and arguments: a house sends the same few (On, Off,
    # a few levels) again and again, and zigpy's struct encoding is the costly part.
    return bytes(schema(*args).serialize())


def packet(app: zigpy.application.ControllerApplication, cluster: Cluster, tsn: int,
           data: bytes, *, force_route_discovery: bool = False) -> zt.ZigbeePacket:
    """The unicast packet zigpy's ``ControllerApplication.request`` would build for it."""
    endpoint = cluster.endpoint
    device = endpoint.device
    profile_id = endpoint.profile_id
    if profile_id is None or profile_id == zigpy.profiles.zll.PROFILE_ID:
        profile_id = zigpy.profiles.zha.PROFILE_ID  # ZLL devices take ZHA commands
    tx_options = zt.TransmitOptions.NONE  # the answer, not an APS ack, confirms it
    if force_route_discovery:
        tx_options |= zt.TransmitOptions.FORCE_ROUTE_DISCOVERY
    if cluster.aps_encryption:
        tx_options |= zt.TransmitOptions.APS_Encryption
    source_route = None
    if app.config[zigpy.config.CONF_SOURCE_ROUTING]:
        source_route = app.build_source_route_to(dest=device)
    # Plain ints where zigpy's annotations say uint8_t/uint16_t, as its own ``request`` passes.
    fields: dict[str, Any] = {
        "src": zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=app.state.node_info.nwk),
        "src_ep": endpoint.endpoint_id,
        "dst": zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=device.nwk),
        "dst_ep": endpoint.endpoint_id, "tsn": tsn, "profile_id": profile_id,
        "cluster_id": cluster.cluster_id, "data": zt.SerializableBytes(data),
        "extended_timeout": _is_sleepy(device), "source_route": source_route,
        "tx_options": tx_options,
    }
    return zt.ZigbeePacket(**fields)


def _is_sleepy(device: zigpy.device.Device) -> bool:
    # As zigpy: an unknown node descriptor counts as an end device (slower APS retries).
    return device.node_desc is None or bool(device.node_desc.is_end_device)


async def send_command(cluster: Cluster, command_id: int, args: tuple[int, ...]) -> Any:
    """Send a cluster command to a device's server cluster; the device's answer as zigpy
    parsed it (a Default Response or the command's own response)."""
    device: zigpy.device.Device = cluster.endpoint.device
    app: zigpy.application.ControllerApplication = device.application
    tsn = device.get_sequence()
    data = frame(cluster, tsn, command_id, args)
    key = zigpy.device.ResponseKey(endpoint_id=cluster.endpoint.endpoint_id,
                                   cluster_id=cluster.cluster_id,
                                   direction=foundation.Direction.Server_to_Client, tsn=tsn)
    if key in device._requests:
        raise zigpy.exceptions.ControllerException(f"a request is pending as {key}")
    reply_timeout_s = (zigpy.const.APS_REPLY_TIMEOUT_EXTENDED if _is_sleepy(device)
                       else zigpy.const.APS_REPLY_TIMEOUT)
    for attempt in range(RETRIES + 1):
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        device._requests[key] = future
        try:
            await app.send_packet(packet(app, cluster, tsn, data,
                                         force_route_discovery=attempt > 0))
            async with asyncio.timeout(reply_timeout_s):
                return await future
        except (TimeoutError, zigpy.exceptions.DeliveryError):
            if attempt >= RETRIES:
                raise
        finally:
            if not future.done():
                future.cancel()
            if device._requests.get(key) is future:
                del device._requests[key]
        await asyncio.sleep(RETRY_DELAY_S)
    raise AssertionError("unreachable")  # pragma: no cover
