"""Handlers of the MT requests the simulated Z-Stack implements, one function per command.

Each takes the engine and a Reader over the request payload and returns the SRSP payload
(None for an AREQ). Section numbers refer to TI's Z-Stack Monitor and Test API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from radios.zigbee.sim.commands import (
    AddrMode,
    BdbMode,
    BdbStatus,
    DeviceState,
    ResetReason,
    Rsp,
    Status,
)
from radios.zigbee.sim.handlers_zdo import MORE_HANDLERS
from radios.zigbee.sim.lifecycle import is_formed, reboot, start_network
from radios.zigbee.sim.network import BROADCAST_ADDRESSES, DataRequest
from radios.zigbee.sim.nvram import (
    NvKey,
    OsalNv,
    osal,
)
from radios.zigbee.sim.wire import Reader, ieee_bytes, short_bytes, u8, u16, u32
from radios.zigbee.sim.zdo import SimpleDescriptor

if TYPE_CHECKING:
    from radios.zigbee.sim.zstack import ZStack

Handler = Callable[["ZStack", Reader], bytes | None]

# SYS.Ping capabilities of a CC2652 ZNP build: SYS, AF, ZDO, UTIL, GP, APP_CNF (3.8.1.2)
CAPABILITIES = 0x0001 | 0x0008 | 0x0010 | 0x0040 | 0x0200 | 0x0400
_READ_MAX = 248  # what fits in one SRSP after status and length (250-byte MT payload)


# --- SYS: reset, ping, version ----------------------------------------------------------------


def _reset_req(zs: ZStack, args: Reader) -> bytes | None:
    args.u8()  # hard or soft: both restart the ZNP here
    reboot(zs, ResetReason.EXTERNAL)
    return None


def _ping(zs: ZStack, args: Reader) -> bytes | None:
    return u16(CAPABILITIES)


def _version(zs: ZStack, args: Reader) -> bytes | None:
    # transport rev 2, product 1 (CC26x2), release 2.7.1, build date, no bootloader
    return bytes((2, 1, 2, 7, 1)) + u32(zs.config.code_revision) + u8(0) + u32(0xFFFFFFFF)


def _set_tx_power(zs: ZStack, args: Reader) -> bytes | None:
    args.s8()
    return u8(Status.SUCCESS)  # Z-Stack 3.30 answers a status, not the power


# --- SYS: OSAL NV (3.8.1.x) and the 3.30 NV API -----------------------------------------------


def _osal_item_init(zs: ZStack, args: Reader) -> bytes | None:
    nv_id, length, value = args.u16(), args.u16(), args.short_bytes()
    if len(value) > length:
        return u8(Status.INVALID_PARAMETER)
    return u8(zs.nv.create(osal(nv_id), length, value))


def _osal_read(zs: ZStack, args: Reader, *, is_ext: bool) -> bytes:
    nv_id = args.u16()
    offset = args.u16() if is_ext else args.u8()
    status, value = zs.nv.read(osal(nv_id), offset, _READ_MAX)
    return u8(status) + short_bytes(value)


def _osal_write(zs: ZStack, args: Reader, *, is_ext: bool) -> bytes:
    nv_id = args.u16()
    offset = args.u16() if is_ext else args.u8()
    value = args.long_bytes() if is_ext else args.short_bytes()
    return u8(zs.nv.write(osal(nv_id), offset, value))


def _osal_delete(zs: ZStack, args: Reader) -> bytes | None:
    nv_id, _length = args.u16(), args.u16()
    return u8(zs.nv.delete(osal(nv_id)))


def _osal_length(zs: ZStack, args: Reader) -> bytes | None:
    return u16(zs.nv.length(osal(args.u16())))


def _nv_key(args: Reader) -> NvKey:
    return (args.u8(), args.u16(), args.u16())


def _nv_create(zs: ZStack, args: Reader) -> bytes | None:
    key = _nv_key(args)
    length = args.u32()
    return u8(zs.nv.create(key, length, bytes(length)))


def _nv_delete(zs: ZStack, args: Reader) -> bytes | None:
    return u8(zs.nv.delete(_nv_key(args)))


def _nv_length(zs: ZStack, args: Reader) -> bytes | None:
    return u32(zs.nv.length(_nv_key(args)))


def _nv_read(zs: ZStack, args: Reader) -> bytes | None:
    key = _nv_key(args)
    offset, length = args.u16(), args.u8()
    status, value = zs.nv.read(key, offset, min(length, _READ_MAX))
    if status is not Status.SUCCESS:
        status = Status.FAILURE  # the NV API answers FAILURE for a missing item
    return u8(status) + short_bytes(value)


def _nv_write(zs: ZStack, args: Reader) -> bytes | None:
    key = _nv_key(args)
    offset, value = args.u16(), args.short_bytes()
    status = zs.nv.write(key, offset, value)
    return u8(Status.FAILURE if status is not Status.SUCCESS else status)


# --- AF (3.2.1.x) -----------------------------------------------------------------------------


def _af_register(zs: ZStack, args: Reader) -> bytes | None:
    endpoint, profile, device_type, version = args.u8(), args.u16(), args.u16(), args.u8()
    args.u8()  # latency requirement
    inputs = tuple(args.u16() for _ in range(args.u8()))
    outputs = tuple(args.u16() for _ in range(args.u8()))
    if endpoint in zs.network.endpoints:
        return u8(0xB8)  # ZApsDuplicateEntry
    zs.network.endpoints[endpoint] = SimpleDescriptor(
        endpoint, profile, device_type, inputs, outputs, version
    )
    return u8(Status.SUCCESS)


def _af_delete(zs: ZStack, args: Reader) -> bytes | None:
    found = zs.network.endpoints.pop(args.u8(), None)
    return u8(Status.SUCCESS if found else Status.INVALID_PARAMETER)


def _af_data_request(zs: ZStack, args: Reader) -> bytes | None:
    nwk, dst_ep, src_ep, cluster, tsn = args.u16(), args.u8(), args.u8(), args.u16(), args.u8()
    args.u8(), args.u8()  # options, radius
    mode = AddrMode.BROADCAST if nwk in BROADCAST_ADDRESSES else AddrMode.NWK
    request = DataRequest(mode, nwk, dst_ep, src_ep, cluster, tsn, args.short_bytes())
    return u8(_submit(zs, request))


def _af_data_request_ext(zs: ZStack, args: Reader) -> bytes | None:
    mode, raw_address = args.u8(), args.raw(8)
    address = int.from_bytes(raw_address if mode == AddrMode.IEEE else raw_address[:2], "little")
    dst_ep, _pan, src_ep = args.u8(), args.u16(), args.u8()
    cluster, tsn = args.u16(), args.u8()
    args.u8(), args.u8()  # options, radius
    data = args.long_bytes()
    return u8(_submit(zs, DataRequest(mode, address, dst_ep, src_ep, cluster, tsn, data)))


def _af_data_request_src_rtg(zs: ZStack, args: Reader) -> bytes | None:
    nwk, dst_ep, src_ep, cluster, tsn = args.u16(), args.u8(), args.u8(), args.u16(), args.u8()
    args.u8(), args.u8()  # options, radius
    for _ in range(args.u8()):
        args.u16()  # relays: every simulated device is one hop away
    request = DataRequest(AddrMode.NWK, nwk, dst_ep, src_ep, cluster, tsn, args.short_bytes())
    return u8(_submit(zs, request))


def _submit(zs: ZStack, request: DataRequest) -> Status:
    """Accept or refuse a data request (the SRSP status), then deliver it."""
    if not zs.is_started:
        return Status.NWK_INVALID_REQUEST  # not on a network yet
    if request.addr_mode in (AddrMode.BROADCAST, AddrMode.GROUP):
        # Broadcasts and multicasts each hold a broadcast-table entry for the delivery time
        faults, now = zs.faults, zs.now()
        while faults.broadcasts and faults.broadcasts[0] <= now - faults.broadcast_window_s:
            faults.broadcasts.popleft()
        if len(faults.broadcasts) >= faults.max_broadcasts:
            return Status(faults.broadcast_full_status)
        faults.broadcasts.append(now)
    network = zs.network
    network.confirm_delay_s = zs.faults.confirm_delay_s
    network.is_dropping_confirms = zs.faults.is_dropping_confirms
    network.send(request)
    return Status.SUCCESS


# --- ZDO (3.12.1.x) ---------------------------------------------------------------------------


def _mgmt_permit_join(zs: ZStack, args: Reader) -> bytes | None:
    mode, dst, duration = args.u8(), args.u16(), args.u8()
    args.u8()  # trust center significance
    if not zs.is_started:
        return u8(Status.NWK_INVALID_REQUEST)
    source = 0x0000 if mode == AddrMode.BROADCAST else dst
    zs.emit(Rsp.MGMT_PERMIT_JOIN_RSP.frame(u16(source) + u8(Status.SUCCESS)))
    if mode == AddrMode.BROADCAST or dst == 0x0000:
        zs.network.permit_join(duration)
    return u8(Status.SUCCESS)


def _msg_callback_register(zs: ZStack, args: Reader) -> bytes | None:
    zs.network.zdo_callbacks.add(args.u16())
    return u8(Status.SUCCESS)


def _startup_from_app(zs: ZStack, args: Reader) -> bytes | None:
    args.u16()  # start delay
    is_restored = start_network(zs)
    return u8(0x00 if is_restored else 0x01)  # restored / new network state


def _ext_route_disc(zs: ZStack, args: Reader) -> bytes | None:
    args.u16(), args.u8(), args.u8()
    return u8(Status.SUCCESS)


def _ext_route_chk(zs: ZStack, args: Reader) -> bytes | None:
    dst = args.u16()
    args.u8(), args.u8()
    is_known = dst == 0x0000 or zs.network.by_nwk(dst) is not None
    return u8(0x00 if is_known else 0x04)  # RTG_SUCCESS / RTG_NO_ENTRY


# --- UTIL (3.11.1.x) --------------------------------------------------------------------------


def _get_device_info(zs: ZStack, args: Reader) -> bytes | None:
    nwk = 0x0000 if zs.is_started else 0xFFFE
    state = DeviceState.ZB_COORD if zs.is_started else DeviceState.HOLD
    ieee = zs.nv.get(osal(OsalNv.EXTADDR), ieee_bytes(zs.config.ieee))
    return u8(Status.SUCCESS) + ieee + u16(nwk) + u8(0x07) + u8(state) + u8(0)


def _led_control(zs: ZStack, args: Reader) -> bytes | None:
    args.u8(), args.u8()
    return u8(Status.SUCCESS)


def _assoc_find_device(zs: ZStack, args: Reader) -> bytes | None:
    args.u8()
    # The raw associated_devices_t of a CC2652 (36 bytes with 32-bit alignment), empty slot
    return b"\xff" * 36


def _assoc_get_with_address(zs: ZStack, args: Reader) -> bytes | None:
    ieee, nwk = int.from_bytes(args.raw(8), "little"), args.u16()
    device = zs.network.devices.get(ieee) or zs.network.by_nwk(nwk)
    if device is None or not zs.network.is_reachable(device):
        return b"\xff" * 36
    relation = 0x03 if device.is_router else 0x01  # CHILD_FFD / CHILD_RFD
    body = u16(device.nwk) + u16(0) + u8(relation) + bytes(3)
    return body.ljust(36, b"\x00")


def _assoc_ok(zs: ZStack, args: Reader) -> bytes | None:
    args.rest()
    return u8(Status.SUCCESS)


# --- APP_CNF: BDB commissioning (Z-Stack 3) ---------------------------------------------------


def _bdb_set_channel(zs: ZStack, args: Reader) -> bytes | None:
    is_primary, channels = args.u8(), args.u32()
    if is_primary:
        zs.primary_channels = channels
    return u8(Status.SUCCESS)


def _bdb_start_commissioning(zs: ZStack, args: Reader) -> bytes | None:
    mode = args.u8()
    if not mode & BdbMode.NWK_FORMATION:
        notification = u8(BdbStatus.SUCCESS) + u8(mode) + u8(BdbMode.NONE)
        zs.emit(Rsp.BDB_COMMISSIONING_NOTIFICATION.frame(notification))
        return u8(Status.SUCCESS)
    was_formed = is_formed(zs)
    if not was_formed:
        zs.emit(Rsp.STATE_CHANGE_IND.frame(u8(DeviceState.COORD_STARTING)))
        progress = u8(BdbStatus.IN_PROGRESS) + u8(BdbMode.NWK_FORMATION) + u8(BdbMode.NWK_FORMATION)
        zs.emit(Rsp.BDB_COMMISSIONING_NOTIFICATION.frame(progress))
        if zs.faults.is_formation_stalled:
            return u8(Status.SUCCESS)
    start_network(zs)
    if was_formed:
        # A formed node restores its network; formation itself then "fails" (bdb.c)
        restored = u8(BdbStatus.NETWORK_RESTORED) + u8(BdbMode.NONE) + u8(BdbMode.NWK_FORMATION)
        done = u8(BdbStatus.FORMATION_FAILURE) + u8(BdbMode.NWK_FORMATION) + u8(BdbMode.NONE)
        zs.emit(Rsp.BDB_COMMISSIONING_NOTIFICATION.frame(restored))
    else:
        done = u8(BdbStatus.SUCCESS) + u8(BdbMode.NWK_FORMATION) + u8(BdbMode.NONE)
    zs.emit(Rsp.BDB_COMMISSIONING_NOTIFICATION.frame(done))
    return u8(Status.SUCCESS)


HANDLERS: dict[str, Handler] = {
    "SYS.ResetReq": _reset_req,
    "SYS.Ping": _ping,
    "SYS.Version": _version,
    "SYS.OSALNVItemInit": _osal_item_init,
    "SYS.OSALNVRead": lambda zs, a: _osal_read(zs, a, is_ext=False),
    "SYS.OSALNVReadExt": lambda zs, a: _osal_read(zs, a, is_ext=True),
    "SYS.OSALNVWrite": lambda zs, a: _osal_write(zs, a, is_ext=False),
    "SYS.OSALNVWriteExt": lambda zs, a: _osal_write(zs, a, is_ext=True),
    "SYS.OSALNVDelete": _osal_delete,
    "SYS.OSALNVLength": _osal_length,
    "SYS.SetTxPower": _set_tx_power,
    "SYS.NVCreate": _nv_create,
    "SYS.NVDelete": _nv_delete,
    "SYS.NVLength": _nv_length,
    "SYS.NVRead": _nv_read,
    "SYS.NVWrite": _nv_write,
    "AF.Register": _af_register,
    "AF.DataRequest": _af_data_request,
    "AF.DataRequestExt": _af_data_request_ext,
    "AF.DataRequestSrcRtg": _af_data_request_src_rtg,
    "AF.Delete": _af_delete,
    "ZDO.MgmtPermitJoinReq": _mgmt_permit_join,
    "ZDO.MsgCallbackRegister": _msg_callback_register,
    "ZDO.StartupFromApp": _startup_from_app,
    "ZDO.ExtRouteDisc": _ext_route_disc,
    "ZDO.ExtRouteChk": _ext_route_chk,
    "UTIL.GetDeviceInfo": _get_device_info,
    "UTIL.LEDControl": _led_control,
    "UTIL.AssocFindDevice": _assoc_find_device,
    "UTIL.AssocGetWithAddress": _assoc_get_with_address,
    "UTIL.AssocRemove": _assoc_ok,
    "UTIL.AssocAdd": _assoc_ok,
    "APP_CNF.BDBStartCommissioning": _bdb_start_commissioning,
    "APP_CNF.BDBSetChannel": _bdb_set_channel,
    **MORE_HANDLERS,
}
