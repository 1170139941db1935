"""What the simulated NCP does for the configuration and utility frames (UG100 sections 3.1,
3.2), by command name; networking: networking.py, messaging: messaging.py, security:
security.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.ezsp.commands import EmberStatus, EzspStatus
from radios.zigbee.sim.ezsp.layouts import Value, as_bytes, as_int
from radios.zigbee.sim.ezsp.registry import HANDLERS, Args, handles
from radios.zigbee.sim.ezsp.state import BLANK_EUI64
from radios.zigbee.sim.zdo import SimpleDescriptor

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp


MFG_STRING, MFG_BOARD_NAME, MFG_MANUF_ID, MFG_CUSTOM_EUI_64 = 0x01, 0x02, 0x03, 0x0C
VALUE_FREE_BUFFERS, VALUE_VERSION_INFO = 0x03, 0x11
NV3_RESTORED_EUI64 = 0xE12A  # NVM3 key CREATOR_STACK_RESTORED_EUI64
NV3_CHILD_TABLE = 0x10580  # NVM3KEY_STACK_CHILD_TABLE: EUI64, NWK, flags per child
CHILD_FLAGS_VALID = 0x80  # what a child that joined over the air has
VALUE_NWK_FRAME_COUNTER, VALUE_APS_FRAME_COUNTER = 0x23, 0x24
CONFIG_DEFAULTS = {
    0x01: 75, 0x02: 16, 0x03: 10, 0x04: 2, 0x05: 8, 0x06: 8, 0x07: 16, 0x0C: 2, 0x0D: 5,
    0x10: 30, 0x11: 6, 0x12: 7680, 0x13: 8, 0x19: 2, 0x1A: 16, 0x1B: 8, 0x1E: 4, 0x22: 2,
    0x2A: 0, 0x2D: 1, 0x36: 300, 0x38: 90,
}  # fmt: skip
COUNTER_COUNT = 41  # EMBER_COUNTER_TYPE_COUNT in EmberZNet 7.4


# --- configuration -------------------------------------------------------------------------


@handles("version")
def _version(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    major, minor, patch, special = ncp.config.stack_version
    return (ncp.config.protocol_version, 2, major << 12 | minor << 8 | patch << 4 | special)


@handles("getConfigurationValue")
def _get_config(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    config_id = as_int(args[0])
    if config_id in ncp.ram.config:
        return (EzspStatus.SUCCESS, ncp.ram.config[config_id])
    if config_id in CONFIG_DEFAULTS:
        return (EzspStatus.SUCCESS, CONFIG_DEFAULTS[config_id])
    return (EzspStatus.ERROR_INVALID_ID, 0)


@handles("setConfigurationValue")
def _set_config(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # UG100 3.1: configuration is fixed once the stack runs (networkInit or formNetwork)
    if ncp.ram.is_network_up:
        return (EzspStatus.ERROR_INVALID_CALL,)
    config_id = as_int(args[0])
    if config_id not in CONFIG_DEFAULTS:
        return (EzspStatus.ERROR_INVALID_ID,)
    ncp.ram.config[config_id] = as_int(args[1])
    return (EzspStatus.SUCCESS,)


@handles("addEndpoint")
def _add_endpoint(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    endpoint, profile, device_id, version, n_in, n_out = (as_int(a) for a in args[:6])
    lists = as_bytes(args[6])
    if len(lists) != 2 * (n_in + n_out):
        return (EzspStatus.ERROR_INVALID_VALUE,)
    clusters = [int.from_bytes(lists[i : i + 2], "little") for i in range(0, len(lists), 2)]
    if endpoint in ncp.network.endpoints:
        return (EzspStatus.ERROR_INVALID_CALL,)
    ncp.network.endpoints[endpoint] = SimpleDescriptor(
        endpoint, profile, device_id, tuple(clusters[:n_in]), tuple(clusters[n_in:]), version
    )
    return (EzspStatus.SUCCESS,)


@handles("setPolicy")
def _set_policy(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.policies[as_int(args[0])] = as_int(args[1])
    return (EzspStatus.SUCCESS,)


@handles("getPolicy")
def _get_policy(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EzspStatus.SUCCESS, ncp.ram.policies.get(as_int(args[0]), 0))


@handles("getValue")
def _get_value(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    value_id = as_int(args[0])
    if value_id == VALUE_VERSION_INFO:
        major, minor, patch, special = ncp.config.stack_version
        body = ncp.config.build.to_bytes(2, "little") + bytes((major, minor, patch, special, 170))
        return (EzspStatus.SUCCESS, body)
    if value_id == VALUE_FREE_BUFFERS:
        return (EzspStatus.SUCCESS, bytes((200,)))
    if value_id == VALUE_NWK_FRAME_COUNTER:
        return (EzspStatus.SUCCESS, ncp.tokens.nwk_frame_counter.to_bytes(4, "little"))
    if value_id == VALUE_APS_FRAME_COUNTER:
        return (EzspStatus.SUCCESS, ncp.tokens.aps_frame_counter.to_bytes(4, "little"))
    if value_id in ncp.ram.values:
        return (EzspStatus.SUCCESS, ncp.ram.values[value_id])
    return (EzspStatus.ERROR_INVALID_ID, b"")


@handles("setValue")
def _set_value(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    value_id, data = as_int(args[0]), as_bytes(args[1])
    if value_id == VALUE_NWK_FRAME_COUNTER and len(data) == 4:
        ncp.tokens.nwk_frame_counter = int.from_bytes(data, "little")
    elif value_id == VALUE_APS_FRAME_COUNTER and len(data) == 4:
        ncp.tokens.aps_frame_counter = int.from_bytes(data, "little")
    elif value_id == VALUE_VERSION_INFO:
        return (EzspStatus.ERROR_INVALID_CALL,)
    else:
        ncp.ram.values[value_id] = data
    return (EzspStatus.SUCCESS,)


# --- utilities -----------------------------------------------------------------------------


@handles("nop")
def _nop(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ()


@handles("customFrame")
def _custom_frame(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # Stock NCP firmware has no custom-frame (XNCP) handler
    return (EmberStatus.INVALID_CALL, b"")


@handles("getMfgToken")
def _get_mfg_token(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    token = as_int(args[0])
    if token == MFG_CUSTOM_EUI_64:
        return (ncp.tokens.custom_eui64,)
    if token == MFG_BOARD_NAME:
        return (ncp.config.board_name.encode()[:16].ljust(16, b"\xff"),)
    if token == MFG_STRING:
        return (b"hubd".ljust(16, b"\xff"),)
    if token == MFG_MANUF_ID:
        return ((0x1002).to_bytes(2, "little"),)
    return (b"\xff" * 2,)


@handles("setMfgToken")
def _set_mfg_token(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    token, data = as_int(args[0]), as_bytes(args[1])
    # Manufacturing tokens are write-once: only a blank custom EUI64 can be burnt
    if token != MFG_CUSTOM_EUI_64 or len(data) != 8 or ncp.tokens.custom_eui64 != BLANK_EUI64:
        return (EmberStatus.INVALID_CALL,)
    ncp.tokens.custom_eui64 = data
    return (EmberStatus.SUCCESS,)


@handles("getEui64")
def _get_eui64(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (ncp.eui64,)


@handles("getNodeId")
def _get_node_id(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    stored = ncp.tokens.network
    return (stored.node_id if stored is not None and ncp.ram.is_network_up else 0xFFFE,)


@handles("setManufacturerCode")
def _set_manufacturer_code(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.manufacturer_code = as_int(args[0])
    return ()


@handles("setRadioPower")
def _set_radio_power(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.radio_power_dbm = as_int(args[0])
    if ncp.tokens.network is not None:
        ncp.tokens.network.tx_power = ncp.ram.radio_power_dbm
    return (EmberStatus.SUCCESS,)


@handles("readCounters")
@handles("readAndClearCounters")
def _counters(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ((0,) * COUNTER_COUNT,)


@handles("getTokenInfo")
def _get_token_info(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.INDEX_OUT_OF_RANGE, 0, 0, 0, 0, 0)


@handles("getTokenData")
def _get_token_data(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # Of the NV3 tokens, the host reads only the restored EUI64 (a rewritable custom EUI64)
    token, index = as_int(args[0]), as_int(args[1])
    if (token, index) == (NV3_RESTORED_EUI64, 0):
        return (EmberStatus.SUCCESS, ncp.tokens.restored_eui64)
    children = list(ncp.tokens.children.items())
    if token == NV3_CHILD_TABLE and index < len(children):
        ieee, (nwk, _) = children[index]
        flags = ncp.tokens.child_flags.get(ieee, CHILD_FLAGS_VALID)
        return (EmberStatus.SUCCESS, ieee.to_bytes(8, "little") + nwk.to_bytes(2, "little")
                + bytes((flags,)))
    return (EmberStatus.NOT_FOUND, b"")


@handles("setTokenData")
def _set_token_data(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    data = as_bytes(args[2])
    if (as_int(args[0]), as_int(args[1])) == (NV3_RESTORED_EUI64, 0) and len(data) == 8:
        ncp.tokens.restored_eui64 = data  # used from the next boot on
        return (EmberStatus.SUCCESS,)
    children = list(ncp.tokens.children)
    if as_int(args[0]) == NV3_CHILD_TABLE and as_int(args[1]) < len(children) and len(data) == 11:
        ieee = children[as_int(args[1])]
        if int.from_bytes(data[:8], "little") == ieee:
            ncp.tokens.child_flags[ieee] = data[10]
            return (EmberStatus.SUCCESS,)
    return (EmberStatus.NOT_FOUND,)


@handles("tokenFactoryReset")
def _token_factory_reset(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.tokens.factory_reset()
    return ()


@handles("gpClearProxyTable")
@handles("gpSinkTableClearAll")
def _gp_sink_table_clear_all(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ()


@handles("getStandaloneBootloaderVersionPlatMicroPhy")
def _bootloader_version(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (0xFFFF, 4, 3, 0)  # no standalone bootloader (a Gecko bootloader), EFR32


__all__ = ["CONFIG_DEFAULTS", "HANDLERS"]
