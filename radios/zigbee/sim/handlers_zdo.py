"""Handlers of the ZDO MT requests beyond startup: ZDO requests as commands, network info,
the coordinator's groups, inter-PAN, install codes, the extended address and stack tuning.

Section numbers refer to TI's Z-Stack Monitor and Test API (SYS 3.8, AF 3.2, ZDO 3.12,
APP_CNF 3.13). Each handler takes the engine and a Reader over the request payload and returns
the SRSP payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from radios.zigbee.sim.commands import AddrMode, DeviceState, Status
from radios.zigbee.sim.network import BROADCAST_ADDRESSES, DataRequest
from radios.zigbee.sim.nvram import NibField, OsalNv, nib_get, osal
from radios.zigbee.sim.security import add_install_code
from radios.zigbee.sim.wire import Reader, ieee_bytes, u8, u16
from radios.zigbee.sim.zdo_mt import ZDO_REQUEST_NAMES, parse_request

if TYPE_CHECKING:
    from radios.zigbee.sim.zstack import ZStack

Handler = Callable[["ZStack", Reader], bytes | None]

_APS_DUPLICATE_ENTRY = 0xB8  # ZApsDuplicateEntry
_APS_TABLE_FULL = 0xBA  # ZApsTableFull
_MAX_GROUPS = 16  # APS_MAX_GROUPS of the CC2652 ZNP build
_GROUP_NAME_LEN = 16  # APS_GROUP_NAME_LEN: aps_Group_t.name


# --- SYS ------------------------------------------------------------------------------------


def _get_ext_addr(zs: ZStack, args: Reader) -> bytes:
    # 3.8.1.x SYS_GET_EXTADDR: the IEEE address the stack uses (the EXTADDR item)
    return zs.nv.get(osal(OsalNv.EXTADDR), ieee_bytes(zs.config.ieee))


def _stack_tune(zs: ZStack, args: Reader) -> bytes:
    # 3.8.1.x SYS_STACK_TUNE: operation 0 sets the transmit power (dBm) and answers it;
    # the others (rx on when idle, ...) answer the value they set.
    operation, value = args.u8(), args.s8()
    if operation == 0:
        zs.tx_power_dbm = max(-20, min(5, value))  # the CC2652's range
        return u8(zs.tx_power_dbm & 0xFF)
    return u8(value & 0xFF)


# --- AF -------------------------------------------------------------------------------------


def _inter_pan_ctl(zs: ZStack, args: Reader) -> bytes:
    # 3.2.1.x AF_INTER_PAN_CTL: 0 InterPanClr, 1 InterPanSet(channel), 2 InterPanReg(ep),
    # 3 InterPanChk(panid, ep)
    command = args.u8()
    match command:
        case 0:
            zs.inter_pan_channel = None
        case 1:
            channel = args.u8()
            if not 11 <= channel <= 26:
                return u8(Status.INVALID_PARAMETER)
            zs.inter_pan_channel = channel
        case 2:
            endpoint = args.u8()
            if endpoint not in zs.network.endpoints:
                return u8(Status.INVALID_PARAMETER)  # afStatus_INVALID_PARAMETER
            zs.inter_pan_endpoints.add(endpoint)
        case 3:
            _pan, endpoint = args.u16(), args.u8()
            is_ok = zs.inter_pan_channel is not None and endpoint in zs.inter_pan_endpoints
            return u8(Status.SUCCESS if is_ok else Status.FAILURE)
        case _:
            return u8(Status.INVALID_PARAMETER)
    return u8(Status.SUCCESS)


# --- ZDO requests as MT commands (3.12.1.x) --------------------------------------------------


def _zdo_request(name: str) -> Handler:
    def handler(zs: ZStack, args: Reader) -> bytes:
        request = parse_request(name, args)
        if not zs.is_started:
            return u8(Status.NWK_INVALID_REQUEST)  # ZDO is not on a network yet
        tsn = zs.next_zdp_tsn()
        mode = AddrMode.BROADCAST if request.dst in BROADCAST_ADDRESSES else AddrMode.NWK
        data = u8(tsn) + request.payload
        zs.network.send(DataRequest(mode, request.dst, 0, 0, request.cluster_id, tsn, data))
        return u8(Status.SUCCESS)

    return handler


def _msg_callback_remove(zs: ZStack, args: Reader) -> bytes:
    cluster = args.u16()
    if cluster not in zs.network.zdo_callbacks:
        return u8(Status.FAILURE)
    zs.network.zdo_callbacks.discard(cluster)
    return u8(Status.SUCCESS)


def _ext_nwk_info(zs: ZStack, args: Reader) -> bytes:
    # 3.12.1.x ZDO_EXT_NWK_INFO: ShortAddr, DevState, PanId, ParentAddr, ExtendedPanId,
    # ParentExtAddr, Channel, all from the running NIB
    nib = zs.nv.get(osal(OsalNv.NIB))
    if not zs.is_started or len(nib) < NibField.UPDATE_ID:
        state, short, parent = DeviceState.HOLD, 0xFFFE, 0xFFFE
    else:
        state, short = DeviceState.ZB_COORD, nib_get(nib, NibField.DEV_ADDRESS, 2)
        parent = nib_get(nib, NibField.COORD_ADDRESS, 2)
    pan = nib_get(nib, NibField.PAN_ID, 2) if nib else 0xFFFF
    ext_pan = nib[NibField.EXTENDED_PAN_ID : NibField.EXTENDED_PAN_ID + 8] if nib else bytes(8)
    channel = nib_get(nib, NibField.LOGICAL_CHANNEL, 1) if nib else 0
    return (
        u16(short) + u8(state) + u16(pan) + u16(parent) + ext_pan + bytes(8) + u8(channel)
    )


# --- the coordinator's APS groups (3.12.1.x ZDO_EXT_*GROUP*) ---------------------------------


def _ext_add_group(zs: ZStack, args: Reader) -> bytes:
    endpoint, group = args.u8(), args.u16()
    name = args.short_bytes()
    groups = zs.groups.setdefault(endpoint, {})
    if group in groups:
        return u8(_APS_DUPLICATE_ENTRY)
    if sum(len(g) for g in zs.groups.values()) >= _MAX_GROUPS:
        return u8(_APS_TABLE_FULL)
    groups[group] = name[: _GROUP_NAME_LEN - 1]
    return u8(Status.SUCCESS)


def _ext_find_group(zs: ZStack, args: Reader) -> bytes:
    # The SRSP is always Status + aps_Group_t (ID, name[16] with its length first)
    endpoint, group = args.u8(), args.u16()
    name = zs.groups.get(endpoint, {}).get(group)
    if name is None:
        return u8(Status.FAILURE) + bytes(2 + _GROUP_NAME_LEN)
    return u8(Status.SUCCESS) + u16(group) + (u8(len(name)) + name).ljust(_GROUP_NAME_LEN, b"\0")


def _ext_remove_group(zs: ZStack, args: Reader) -> bytes:
    endpoint, group = args.u8(), args.u16()
    if zs.groups.get(endpoint, {}).pop(group, None) is None:
        return u8(Status.FAILURE)
    return u8(Status.SUCCESS)


def _ext_remove_all_group(zs: ZStack, args: Reader) -> bytes:
    zs.groups.pop(args.u8(), None)
    return u8(Status.SUCCESS)


def _ext_find_all_groups(zs: ZStack, args: Reader) -> bytes:
    groups = sorted(zs.groups.get(args.u8(), {}))
    return u8(len(groups)) + b"".join(u16(g) for g in groups)


def _ext_count_all_groups(zs: ZStack, args: Reader) -> bytes:
    return u8(sum(len(groups) for groups in zs.groups.values()))  # aps_CountAllGroups


# --- APP_CNF (3.13.1.x) ----------------------------------------------------------------------


def _bdb_add_install_code(zs: ZStack, args: Reader) -> bytes:
    code_format, ieee = args.u8(), int.from_bytes(args.raw(8), "little")
    return u8(add_install_code(zs.nv, code_format, ieee, args.rest()))


MORE_HANDLERS: dict[str, Handler] = {
    "SYS.GetExtAddr": _get_ext_addr,
    "SYS.StackTune": _stack_tune,
    "AF.InterPanCtl": _inter_pan_ctl,
    "ZDO.MsgCallbackRemove": _msg_callback_remove,
    "ZDO.ExtNwkInfo": _ext_nwk_info,
    "ZDO.ExtAddGroup": _ext_add_group,
    "ZDO.ExtFindGroup": _ext_find_group,
    "ZDO.ExtRemoveGroup": _ext_remove_group,
    "ZDO.ExtRemoveAllGroup": _ext_remove_all_group,
    "ZDO.ExtFindAllGroupsEndpoint": _ext_find_all_groups,
    "ZDO.ExtCountAllGroups": _ext_count_all_groups,
    "APP_CNF.BDBAddInstallCode": _bdb_add_install_code,
    **{name: _zdo_request(name) for name in ZDO_REQUEST_NAMES},
}
