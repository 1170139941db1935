"""The stick's life cycle: reboot (applying STARTUP_OPTION), network formation and start.

The network state lives in NV only, so a reboot restores exactly what Z-Stack restores from
flash: bdbNodeIsOnANetwork, the NIB and the keys (Z-Stack 3.x bdb.c, ZDApp.c).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.commands import DeviceState, ResetReason, Rsp
from radios.zigbee.sim.network import Identity
from radios.zigbee.sim.nvram import (
    NIB_SIZE,
    NWK_STATE_ROUTER,
    SYS_ZSTACK,
    TABLE_ENTRY_FILL,
    ExNv,
    NibField,
    OsalNv,
    StartupOption,
    default_nib,
    nib_get,
    nib_set,
    osal,
)
from radios.zigbee.sim.wire import ieee_bytes, u8, u32

if TYPE_CHECKING:
    from radios.zigbee.sim.zstack import ZStack


def reboot(zs: ZStack, reason: ResetReason) -> None:
    """Restart the stick: apply STARTUP_OPTION, forget RAM state, announce SYS.ResetInd."""
    nv = zs.nv
    option = nv.get(osal(OsalNv.STARTUP_OPTION), b"\x00")[0]
    if option & StartupOption.CLEAR_STATE:
        _clear_network_state(zs)
    if option & (StartupOption.CLEAR_STATE | StartupOption.CLEAR_CONFIG):
        nv.put(osal(OsalNv.STARTUP_OPTION), b"\x00")
    if not nv.has(osal(OsalNv.EXTADDR)):
        # The EXTADDR item comes back from the hardware address when deleted
        nv.put(osal(OsalNv.EXTADDR), ieee_bytes(zs.config.ieee))
    network = zs.network
    network.endpoints.clear()
    network.zdo_callbacks.clear()
    network.permit_until = 0.0
    network.identity = None
    zs.is_started = False
    zs.primary_channels = 0
    payload = u8(reason) + bytes((2, 1, 2, 7, 1))  # transport rev, product, 2.7.1
    zs.emit(Rsp.RESET_IND.frame(payload), zs.config.boot_time_s)


def _clear_network_state(zs: ZStack) -> None:
    nv = zs.nv
    nv.put(osal(OsalNv.NIB), default_nib())
    nv.delete(osal(OsalNv.BDBNODEISONANETWORK))
    for item in (OsalNv.NWK_ACTIVE_KEY_INFO, OsalNv.NWK_ALTERN_KEY_INFO):
        nv.put(osal(item), bytes(17))
    nv.put(osal(OsalNv.NWKKEY), bytes(24))
    for table, fill in TABLE_ENTRY_FILL.items():
        for sub_id in range(len(nv.table(table))):
            nv.put((SYS_ZSTACK, table, sub_id), fill)


def is_formed(zs: ZStack) -> bool:
    """Whether NV holds a formed network (bdbNodeIsOnANetwork and a running NIB)."""
    nib = zs.nv.get(osal(OsalNv.NIB))
    return (
        zs.nv.get(osal(OsalNv.BDBNODEISONANETWORK)) == b"\x01"
        and len(nib) == NIB_SIZE
        and nib_get(nib, NibField.LOGICAL_CHANNEL, 1) != 0
    )


def start_network(zs: ZStack) -> bool:
    """Start as coordinator: restore the network from NV, or form one. True if restored."""
    is_restored = is_formed(zs)
    if not is_restored:
        _form(zs)
    nib = zs.nv.get(osal(OsalNv.NIB))
    zs.network.identity = Identity(
        pan_id=nib_get(nib, NibField.PAN_ID, 2),
        extended_pan_id=nib_get(nib, NibField.EXTENDED_PAN_ID, 8),
        channel=nib_get(nib, NibField.LOGICAL_CHANNEL, 1),
    )
    zs.network.coordinator.ieee = int.from_bytes(zs.nv.get(osal(OsalNv.EXTADDR)), "little")
    zs.is_started = True
    zs.emit(Rsp.STATE_CHANGE_IND.frame(u8(DeviceState.ZB_COORD)))
    return is_restored


def _form(zs: ZStack) -> None:
    """Form a network from the configured NV items, as bdb_startTopLevelCommissioning does."""
    nv = zs.nv
    channels = zs.primary_channels or int.from_bytes(nv.get(osal(OsalNv.CHANLIST)), "little")
    channel = next((c for c in range(11, 27) if channels & (1 << c)), 11)
    pan_id = int.from_bytes(nv.get(osal(OsalNv.PANID)), "little")
    if pan_id == 0xFFFF:
        pan_id = zs.rng.randint(0x0001, 0xFFF7)
    ext_pan = nv.get(osal(OsalNv.APS_USE_EXT_PANID), bytes(8))
    if ext_pan == bytes(8):
        ext_pan = nv.get(osal(OsalNv.EXTADDR))
    key = nv.get(osal(OsalNv.PRECFGKEY))
    nib = default_nib()
    for offset, size, value in (
        (NibField.DEV_ADDRESS, 2, 0x0000),
        (NibField.LOGICAL_CHANNEL, 1, channel),
        (NibField.COORD_ADDRESS, 2, 0x0000),
        (NibField.PAN_ID, 2, pan_id),
        (NibField.NWK_STATE, 1, NWK_STATE_ROUTER),
        (NibField.CHANNEL_LIST, 4, channels),
        (NibField.EXTENDED_PAN_ID, 8, int.from_bytes(ext_pan, "little")),
        (NibField.KEY_LOADED, 1, 1),
        (NibField.MANAGER_ADDR, 2, 0x0000),
    ):
        nib = nib_set(nib, offset, size, value)
    nv.put(osal(OsalNv.NIB), nib)
    nv.put(osal(OsalNv.EXTENDED_PAN_ID), ext_pan)
    nv.put(osal(OsalNv.NWK_ACTIVE_KEY_INFO), b"\x00" + key)
    nv.put(osal(OsalNv.NWK_ALTERN_KEY_INFO), b"\x00" + key)
    nv.put(osal(OsalNv.NWKKEY), b"\x00" + key + bytes(3) + u32(0))  # seq 0, frame counter 0
    nv.put(osal(OsalNv.BDBNODEISONANETWORK), b"\x01")
    sec_material = (SYS_ZSTACK, ExNv.NWK_SEC_MATERIAL_TABLE, 0)
    if nv.has(sec_material):
        nv.put(sec_material, u32(1) + ext_pan)
