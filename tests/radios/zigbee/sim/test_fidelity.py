"""Z-Stack 3.x answers a host needs whatever library it is: ZDO as MT commands, callbacks,
network info, groups, inter-PAN, install codes, factory NV, TCLK entries, energy scans."""

from __future__ import annotations

import random

from radios.zigbee.sim import DeviceKind, Status, ZStack, ZStackConfig
from radios.zigbee.sim.commands import Rsp
from radios.zigbee.sim.kinds import DeviceSpec
from radios.zigbee.sim.mt import Subsystem
from radios.zigbee.sim.nvram import SYS_ZSTACK, ExNv, OsalNv, osal
from radios.zigbee.sim.security import aes_mmo_hash
from radios.zigbee.sim.wire import ieee_bytes, s8, u8, u16, u32
from radios.zigbee.sim.zdo import energy_scan
from tests.radios.zigbee.sim.test_zstack import formed, frames, sreq

SYS, AF, ZDO, APP_CNF = Subsystem.SYS, Subsystem.AF, Subsystem.ZDO, Subsystem.APP_CNF
LIGHT = 0x000D6F0000000101
CONTACT = 0x000D6F0000000102


def named(engine: ZStack) -> list[tuple[str, bytes]]:
    """The frames out as (callback name or 'SRSP', payload)."""
    names = {(d.subsystem, d.command_id): d.name for d in vars(Rsp).values() if hasattr(d, "name")}
    out = []
    for frame in frames(engine):
        is_srsp = frame.type.name == "SRSP"
        name = "SRSP" if is_srsp else names[(frame.subsystem, frame.command_id)]
        out.append((name, frame.payload))
    return out


def with_devices(*, is_direct: bool) -> tuple[ZStack, int, int]:
    engine = formed()
    engine.nv.put(osal(OsalNv.ZDO_DIRECT_CB), u8(int(is_direct)))
    light = engine.network.add(DeviceSpec(LIGHT, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    contact = engine.network.add(DeviceSpec(CONTACT, DeviceKind.CONTACT_SENSOR), is_joined=True)
    return engine, light.nwk, contact.nwk


def test_factory_nv_has_the_network_key_items_before_any_formation() -> None:
    engine = ZStack()
    engine.receive_data(sreq(SYS, 0x13, u16(OsalNv.NWKKEY)), now=0.0)  # OSALNVLength
    engine.receive_data(sreq(SYS, 0x13, u16(OsalNv.NWK_ACTIVE_KEY_INFO)), now=0.0)
    engine.receive_data(sreq(SYS, 0x04), now=0.0)  # GetExtAddr
    assert [p for _, p in named(engine)] == [u16(24), u16(17), ieee_bytes(0x00124B0000000001)]
    formed_nv = formed().nv.get(osal(OsalNv.NWKKEY))
    assert formed_nv[1:17] == formed().nv.get(osal(OsalNv.PRECFGKEY))


def test_zdo_requests_as_commands_answer_with_the_per_cluster_callback() -> None:
    engine, light, _ = with_devices(is_direct=True)
    engine.receive_data(sreq(ZDO, 0x02, u16(light) + u16(light)), now=0.0)  # NodeDescReq
    engine.receive_data(sreq(ZDO, 0x05, u16(light) + u16(light)), now=0.0)  # ActiveEpReq
    engine.receive_data(sreq(ZDO, 0x01, u16(light) + u8(0) + u8(0)), now=0.0)  # IEEEAddrReq
    out = named(engine)
    assert [n for n, _ in out] == [
        "SRSP", "ZDO.NodeDescRsp", "SRSP", "ZDO.ActiveEpRsp", "SRSP", "ZDO.IEEEAddrRsp"]
    assert [p for n, p in out if n == "SRSP"] == [u8(Status.SUCCESS)] * 3
    assert out[1][1][:5] == u16(light) + u8(0) + u16(light)  # SrcAddr, Status, NWKAddrOfInterest
    assert out[3][1] == u16(light) + u8(0) + u16(light) + u8(1) + u8(1)  # one endpoint: 1
    # 3.12.2.x: no SrcAddr; StartIndex before NumAssocDev, both present
    assert out[5][1] == u8(0) + ieee_bytes(LIGHT) + u16(light) + u8(0) + u8(0)


def test_without_direct_callbacks_only_registered_clusters_come_back() -> None:
    engine, light, _ = with_devices(is_direct=False)
    engine.receive_data(sreq(ZDO, 0x05, u16(light) + u16(light)), now=0.0)
    assert [n for n, _ in named(engine)] == ["SRSP"]  # nothing registered, no direct callbacks
    engine.receive_data(sreq(ZDO, 0x3E, u16(0x8005)), now=0.0)  # MsgCallbackRegister
    engine.receive_data(sreq(ZDO, 0x05, u16(light) + u16(light)), now=0.0)
    engine.receive_data(sreq(ZDO, 0x02, u16(light) + u16(light)), now=0.0)  # not registered
    assert [n for n, _ in named(engine)] == ["SRSP", "SRSP", "ZDO.MsgCbIncoming", "SRSP"]
    engine.receive_data(sreq(ZDO, 0x3F, u16(0x8005)), now=0.0)  # MsgCallbackRemove
    engine.receive_data(sreq(ZDO, 0x3F, u16(0x8005)), now=0.0)
    assert [p for _, p in named(engine)] == [u8(Status.SUCCESS), u8(Status.FAILURE)]


def test_bind_unbind_leave_lqi_rtg_and_nwk_addr() -> None:
    engine, light, contact = with_devices(is_direct=True)
    coordinator = ieee_bytes(0x00124B0000000001)
    bind = u16(light) + ieee_bytes(LIGHT) + u8(1) + u16(0x0006) + u8(3) + coordinator + u8(1)
    for command in (0x21, 0x21, 0x22, 0x22):  # bind twice, unbind twice
        engine.receive_data(sreq(ZDO, command, bind), now=0.0)
    engine.receive_data(sreq(ZDO, 0x31, u16(0) + u8(0)), now=0.0)  # MgmtLqiReq to us
    engine.receive_data(sreq(ZDO, 0x32, u16(light) + u8(0)), now=0.0)  # MgmtRtgReq
    engine.receive_data(sreq(ZDO, 0x00, ieee_bytes(CONTACT) + u8(0) + u8(0)), now=0.0)
    engine.receive_data(sreq(ZDO, 0x34, u16(contact) + ieee_bytes(CONTACT) + u8(0)), now=0.0)
    callbacks = [(n, p) for n, p in named(engine) if n != "SRSP"]
    assert callbacks[:4] == [
        ("ZDO.BindRsp", u16(light) + u8(0)), ("ZDO.BindRsp", u16(light) + u8(0)),
        ("ZDO.UnbindRsp", u16(light) + u8(0)), ("ZDO.UnbindRsp", u16(light) + u8(0x88)),
    ]  # the second unbind finds no entry
    lqi = callbacks[4]
    assert lqi[0] == "ZDO.MgmtLqiRsp" and lqi[1][:5] == u16(0) + u8(0) + u8(2) + u8(0)
    assert callbacks[5] == ("ZDO.MgmtRtgRsp", u16(light) + u8(0) + u8(0) + u8(0) + u8(0))
    assert callbacks[6] == ("ZDO.NwkAddrRsp", u8(0) + ieee_bytes(CONTACT) + u16(contact) + bytes(2))
    assert callbacks[7] == ("ZDO.MgmtLeaveRsp", u16(contact) + u8(0))
    assert callbacks[8][0] == "ZDO.LeaveInd"
    assert not engine.network.is_reachable(engine.network.devices[CONTACT])


def test_energy_scans_vary_from_scan_to_scan_and_are_seeded() -> None:
    engine, _, _ = with_devices(is_direct=True)
    request = u16(0) + u8(0x02) + u32(0x07FFF800) + u8(2) + u8(1) + u16(0)
    scans = []
    for _ in range(4):
        engine.receive_data(sreq(ZDO, 0x37, request), now=0.0)  # MgmtNwkUpdateReq
        notify = [p for n, p in named(engine) if n == "ZDO.MgmtNwkUpdateNotify"]
        assert notify[0][:8] == u16(0) + u8(0) + u32(0x07FFF800) + u8(0)
        scans.append(notify[0][12:])
    assert all(len(s) == 16 for s in scans)
    assert len(set(scans)) == 4  # no repeating pattern
    first = energy_scan(range(11, 27), random.Random(7))
    assert first == energy_scan(range(11, 27), random.Random(7))  # reproducible from a seed
    assert all(0 <= value <= 255 for value in first)


def test_ext_nwk_info_and_the_coordinators_groups() -> None:
    engine = formed()
    engine.receive_data(sreq(ZDO, 0x50), now=0.0)  # ExtNwkInfo
    info = named(engine)[0][1]
    assert info[:5] == u16(0x0000) + u8(0x09) + u16(0x1A62)  # coordinator, ZB_COORD, PAN id
    assert len(info) == 24 and 11 <= info[-1] <= 26
    group = u8(242) + u16(0x0B84)
    engine.receive_data(sreq(ZDO, 0x4A, group), now=0.0)  # ExtFindGroup: none yet
    engine.receive_data(sreq(ZDO, 0x4B, group + u8(2) + b"gp"), now=0.0)  # ExtAddGroup
    engine.receive_data(sreq(ZDO, 0x4B, group + u8(0)), now=0.0)  # again: duplicate
    engine.receive_data(sreq(ZDO, 0x4A, group), now=0.0)
    engine.receive_data(sreq(ZDO, 0x49, u8(242)), now=0.0)  # ExtFindAllGroupsEndpoint
    engine.receive_data(sreq(ZDO, 0x4C), now=0.0)  # ExtCountAllGroups
    engine.receive_data(sreq(ZDO, 0x47, group), now=0.0)  # ExtRemoveGroup
    assert [p for _, p in named(engine)] == [
        u8(Status.FAILURE) + bytes(18), u8(Status.SUCCESS), u8(0xB8),
        u8(Status.SUCCESS) + u16(0x0B84) + (u8(2) + b"gp").ljust(16, b"\0"),
        u8(1) + u16(0x0B84), u8(1), u8(Status.SUCCESS),
    ]


def test_inter_pan_and_stack_tune() -> None:
    engine = formed()
    engine.receive_data(sreq(AF, 0x00, u8(12) + u16(0x0104) + bytes(5) + u8(0) + u8(0)), now=0.0)
    for command in (u8(1) + u8(15), u8(2) + u8(12), u8(3) + u16(0x1234) + u8(12),
                    u8(0), u8(3) + u16(0x1234) + u8(12), u8(1) + u8(40)):
        engine.receive_data(sreq(AF, 0x10, command), now=0.0)  # InterPanCtl
    engine.receive_data(sreq(SYS, 0x0F, u8(0) + s8(20)), now=0.0)  # StackTune tx power
    assert [p for _, p in named(engine)] == [
        u8(0), u8(0), u8(0), u8(0), u8(0), u8(Status.FAILURE), u8(Status.INVALID_PARAMETER),
        u8(5),  # clamped to what the CC2652 transmits
    ]


def test_install_codes_are_checked_and_stored_as_provisional_keys() -> None:
    engine = formed()
    code = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")  # with its CRC
    device = ieee_bytes(0x000D6F00000000AA)
    engine.receive_data(sreq(APP_CNF, 0x04, u8(1) + device + code), now=0.0)
    engine.receive_data(sreq(APP_CNF, 0x04, u8(1) + device + code[:-1] + b"\x00"), now=0.0)
    assert [p for _, p in named(engine)] == [u8(Status.SUCCESS), u8(Status.INVALID_PARAMETER)]
    key = engine.nv.get((SYS_ZSTACK, ExNv.TCLK_IC_TABLE, 0))[:16]
    assert key == aes_mmo_hash(code) == bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
    entries = [e for e in engine.nv.table(ExNv.TCLK_TABLE) if e[8:16] == device]
    assert entries == [bytes(8) + device + bytes((0x00, 0, 0, 0))]  # provisional, index 0


def test_joined_devices_keep_a_tclk_entry_and_lose_it_when_they_leave() -> None:
    engine, _, _ = with_devices(is_direct=True)
    tclk = {e[8:16]: e for e in engine.nv.table(ExNv.TCLK_TABLE)}
    assert tclk[ieee_bytes(LIGHT)][16] == 0x02  # VERIFIED_KEY
    assert tclk[ieee_bytes(CONTACT)][16] == 0x02
    types = {e[4:12]: e[0] for e in engine.nv.table(ExNv.ADDRMGR)}
    assert (types[ieee_bytes(LIGHT)], types[ieee_bytes(CONTACT)]) == (0x02, 0x03)
    engine.network.devices[CONTACT].leave()
    assert ieee_bytes(CONTACT) not in {e[8:16] for e in engine.nv.table(ExNv.TCLK_TABLE)}


def test_zdo_requests_before_the_network_runs_are_refused() -> None:
    engine = ZStack(ZStackConfig(seed=1))
    engine.receive_data(sreq(ZDO, 0x02, u16(0) + u16(0)), now=0.0)
    assert named(engine) == [("SRSP", u8(Status.NWK_INVALID_REQUEST))]
    assert engine.unknown_requests == []
