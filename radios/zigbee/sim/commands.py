"""The MT commands the simulated Z-Stack knows, declared as data with their wire names.

Names and ids follow TI's Z-Stack Monitor and Test API (SYS, AF, ZDO, UTIL, APP_CNF
interfaces). A request not in REQUESTS is answered with an RPC error (MT API 2.1.3
"RPC_Error": command not recognised) and recorded by the simulator as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from radios.zigbee.sim.mt import CommandType, MtFrame, Subsystem


@dataclass(frozen=True, slots=True)
class CommandDef:
    """One MT command: its wire name, type, subsystem and id."""

    name: str
    type: CommandType
    subsystem: Subsystem
    command_id: int

    def frame(self, payload: bytes = b"") -> MtFrame:
        """An MT frame of this command carrying ``payload``."""
        return MtFrame(self.type, self.subsystem, self.command_id, payload)


def _sreq(name: str, subsystem: Subsystem, command_id: int) -> CommandDef:
    return CommandDef(name, CommandType.SREQ, subsystem, command_id)


def _areq(name: str, subsystem: Subsystem, command_id: int) -> CommandDef:
    return CommandDef(name, CommandType.AREQ, subsystem, command_id)


S, A, Z, U, C = Subsystem.SYS, Subsystem.AF, Subsystem.ZDO, Subsystem.UTIL, Subsystem.APP_CNF

# Requests from the host that the simulator implements (host -> ZNP).
REQUEST_DEFS: tuple[CommandDef, ...] = (
    _areq("SYS.ResetReq", S, 0x00),
    _sreq("SYS.Ping", S, 0x01),
    _sreq("SYS.Version", S, 0x02),
    _sreq("SYS.GetExtAddr", S, 0x04),
    _sreq("SYS.OSALNVItemInit", S, 0x07),
    _sreq("SYS.OSALNVRead", S, 0x08),
    _sreq("SYS.OSALNVWrite", S, 0x09),
    _sreq("SYS.OSALNVDelete", S, 0x12),
    _sreq("SYS.OSALNVLength", S, 0x13),
    _sreq("SYS.StackTune", S, 0x0F),
    _sreq("SYS.SetTxPower", S, 0x14),
    _sreq("SYS.OSALNVReadExt", S, 0x1C),
    _sreq("SYS.OSALNVWriteExt", S, 0x1D),
    _sreq("SYS.NVCreate", S, 0x30),
    _sreq("SYS.NVDelete", S, 0x31),
    _sreq("SYS.NVLength", S, 0x32),
    _sreq("SYS.NVRead", S, 0x33),
    _sreq("SYS.NVWrite", S, 0x34),
    _sreq("AF.Register", A, 0x00),
    _sreq("AF.DataRequest", A, 0x01),
    _sreq("AF.DataRequestExt", A, 0x02),
    _sreq("AF.DataRequestSrcRtg", A, 0x03),
    _sreq("AF.Delete", A, 0x04),
    _sreq("AF.InterPanCtl", A, 0x10),
    # ZDO requests as MT commands (MT API 3.12.1): the response comes back as the per-cluster
    # callback (ZDO_DIRECT_CB) and as ZDO.MsgCbIncoming (registered clusters).
    _sreq("ZDO.NwkAddrReq", Z, 0x00),
    _sreq("ZDO.IEEEAddrReq", Z, 0x01),
    _sreq("ZDO.NodeDescReq", Z, 0x02),
    _sreq("ZDO.PowerDescReq", Z, 0x03),
    _sreq("ZDO.SimpleDescReq", Z, 0x04),
    _sreq("ZDO.ActiveEpReq", Z, 0x05),
    _sreq("ZDO.BindReq", Z, 0x21),
    _sreq("ZDO.UnbindReq", Z, 0x22),
    _sreq("ZDO.MgmtLqiReq", Z, 0x31),
    _sreq("ZDO.MgmtRtgReq", Z, 0x32),
    _sreq("ZDO.MgmtBindReq", Z, 0x33),
    _sreq("ZDO.MgmtLeaveReq", Z, 0x34),
    _sreq("ZDO.MgmtPermitJoinReq", Z, 0x36),
    _sreq("ZDO.MgmtNwkUpdateReq", Z, 0x37),
    _sreq("ZDO.MsgCallbackRegister", Z, 0x3E),
    _sreq("ZDO.MsgCallbackRemove", Z, 0x3F),
    _sreq("ZDO.StartupFromApp", Z, 0x40),
    _sreq("ZDO.ExtRouteDisc", Z, 0x45),
    _sreq("ZDO.ExtRouteChk", Z, 0x46),
    _sreq("ZDO.ExtRemoveGroup", Z, 0x47),
    _sreq("ZDO.ExtRemoveAllGroup", Z, 0x48),
    _sreq("ZDO.ExtFindAllGroupsEndpoint", Z, 0x49),
    _sreq("ZDO.ExtFindGroup", Z, 0x4A),
    _sreq("ZDO.ExtAddGroup", Z, 0x4B),
    _sreq("ZDO.ExtCountAllGroups", Z, 0x4C),
    _sreq("ZDO.ExtNwkInfo", Z, 0x50),
    _sreq("UTIL.GetDeviceInfo", U, 0x00),
    _sreq("UTIL.LEDControl", U, 0x0A),
    _sreq("UTIL.AssocFindDevice", U, 0x49),
    _sreq("UTIL.AssocGetWithAddress", U, 0x4A),
    _sreq("UTIL.AssocRemove", U, 0x63),
    _sreq("UTIL.AssocAdd", U, 0x64),
    _sreq("APP_CNF.BDBAddInstallCode", C, 0x04),
    _sreq("APP_CNF.BDBStartCommissioning", C, 0x05),
    _sreq("APP_CNF.BDBSetChannel", C, 0x08),
)

REQUESTS: dict[tuple[CommandType, int, int], CommandDef] = {
    (d.type, d.subsystem, d.command_id): d for d in REQUEST_DEFS
}


class Rsp:
    """Synchronous responses and asynchronous callbacks the simulator sends (ZNP -> host)."""

    RPC_ERROR = CommandDef("RPC_Error", CommandType.SRSP, Subsystem.RPC_ERROR, 0x00)
    RESET_IND = _areq("SYS.ResetInd", S, 0x80)
    DATA_CONFIRM = _areq("AF.DataConfirm", A, 0x80)
    INCOMING_MSG = _areq("AF.IncomingMsg", A, 0x81)
    NWK_ADDR_RSP = _areq("ZDO.NwkAddrRsp", Z, 0x80)
    IEEE_ADDR_RSP = _areq("ZDO.IEEEAddrRsp", Z, 0x81)
    NODE_DESC_RSP = _areq("ZDO.NodeDescRsp", Z, 0x82)
    POWER_DESC_RSP = _areq("ZDO.PowerDescRsp", Z, 0x83)
    SIMPLE_DESC_RSP = _areq("ZDO.SimpleDescRsp", Z, 0x84)
    ACTIVE_EP_RSP = _areq("ZDO.ActiveEpRsp", Z, 0x85)
    BIND_RSP = _areq("ZDO.BindRsp", Z, 0xA1)
    UNBIND_RSP = _areq("ZDO.UnbindRsp", Z, 0xA2)
    MGMT_LQI_RSP = _areq("ZDO.MgmtLqiRsp", Z, 0xB1)
    MGMT_RTG_RSP = _areq("ZDO.MgmtRtgRsp", Z, 0xB2)
    MGMT_BIND_RSP = _areq("ZDO.MgmtBindRsp", Z, 0xB3)
    MGMT_LEAVE_RSP = _areq("ZDO.MgmtLeaveRsp", Z, 0xB4)
    MGMT_PERMIT_JOIN_RSP = _areq("ZDO.MgmtPermitJoinRsp", Z, 0xB6)
    MGMT_NWK_UPDATE_NOTIFY = _areq("ZDO.MgmtNwkUpdateNotify", Z, 0xB8)
    STATE_CHANGE_IND = _areq("ZDO.StateChangeInd", Z, 0xC0)
    END_DEVICE_ANNCE_IND = _areq("ZDO.EndDeviceAnnceInd", Z, 0xC1)
    LEAVE_IND = _areq("ZDO.LeaveInd", Z, 0xC9)
    TC_DEV_IND = _areq("ZDO.TCDevInd", Z, 0xCA)
    PERMIT_JOIN_IND = _areq("ZDO.PermitJoinInd", Z, 0xCB)
    MSG_CB_INCOMING = _areq("ZDO.MsgCbIncoming", Z, 0xFF)
    BDB_COMMISSIONING_NOTIFICATION = _areq("APP_CNF.BDBCommissioningNotification", C, 0x80)


def srsp(request: CommandDef, payload: bytes) -> MtFrame:
    """The synchronous response to an SREQ: same subsystem and id, type SRSP."""
    return MtFrame(CommandType.SRSP, request.subsystem, request.command_id, payload)


def describe(frame: MtFrame) -> str:
    """A frame's wire name if known, else its type, subsystem and id in hex."""
    known = REQUESTS.get((frame.type, frame.subsystem, frame.command_id))
    if known is not None:
        return known.name
    try:
        subsystem = Subsystem(frame.subsystem).name
    except ValueError:
        subsystem = f"0x{frame.subsystem:02X}"
    return f"{frame.type.name} {subsystem} 0x{frame.command_id:02X}"


class Status(IntEnum):
    """Z-Stack status codes used in SRSPs and confirms (ZComDef.h, MT API 'Status')."""

    SUCCESS = 0x00
    FAILURE = 0x01
    INVALID_PARAMETER = 0x02
    NV_ITEM_UNINIT = 0x09
    NV_OPER_FAILED = 0x0A
    MEM_ERROR = 0x10
    BUFFER_FULL = 0x11
    APS_NO_ACK = 0xB7
    NWK_INVALID_REQUEST = 0xC2
    NWK_TABLE_FULL = 0xC7
    NWK_NO_ROUTE = 0xCD
    MAC_CHANNEL_ACCESS_FAILURE = 0xE1
    MAC_NO_ACK = 0xE9
    MAC_TRANSACTION_EXPIRED = 0xF0


class RpcErrorCode(IntEnum):
    """Why an RPC error was returned (MT API 2.1.3)."""

    INVALID_SUBSYSTEM = 0x01
    INVALID_COMMAND_ID = 0x02
    INVALID_PARAMETER = 0x03
    INVALID_LENGTH = 0x04


class DeviceState(IntEnum):
    """ZDO device states reported by ZDO.StateChangeInd (MT API 3.12.2.x)."""

    HOLD = 0x00
    INIT = 0x01
    COORD_STARTING = 0x08
    ZB_COORD = 0x09


class ResetReason(IntEnum):
    """SYS.ResetInd reason (MT API 3.8.1.x)."""

    POWER_UP = 0x00
    EXTERNAL = 0x01
    WATCHDOG = 0x02


class BdbStatus(IntEnum):
    """APP_CNF.BDBCommissioningNotification status (Z-Stack 3 bdb.h)."""

    SUCCESS = 0x00
    IN_PROGRESS = 0x01
    NO_NETWORK = 0x02
    FORMATION_FAILURE = 0x08
    NETWORK_RESTORED = 0x0D


class BdbMode(IntEnum):
    """BDB commissioning modes (Z-Stack 3 bdb.h)."""

    NONE = 0x00
    NWK_STEERING = 0x02
    NWK_FORMATION = 0x04


class AddrMode(IntEnum):
    """Address modes of AF.DataRequestExt and ZDO.MgmtPermitJoinReq (MT API 'AddrMode')."""

    NOT_PRESENT = 0x00
    GROUP = 0x01
    NWK = 0x02
    IEEE = 0x03
    BROADCAST = 0x0F
