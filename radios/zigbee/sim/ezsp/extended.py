"""EZSP frames of EmberZNet 7.4 that bellows never sends but other hosts do (zigbee-herdsman's
``ember`` adapter): extended values (UG100 3.1). Kept apart from handlers.py so that each host's
needs stay visible; registered by ncp.py like the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.ezsp.commands import EzspStatus
from radios.zigbee.sim.ezsp.layouts import Value, as_int
from radios.zigbee.sim.ezsp.registry import Args, handles

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp

EXTENDED_VALUE_ENDPOINT_FLAGS = 0x00  # EzspExtendedValueId; characteristics = the endpoint
ENDPOINT_ENABLED = 0x0001  # EmberEndpointFlags


@handles("getExtendedValue")
def _get_extended_value(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    value_id, characteristics = as_int(args[0]), as_int(args[1])
    if value_id == EXTENDED_VALUE_ENDPOINT_FLAGS:
        # An endpoint the host has not added since the last reset has no flags: the NCP
        # answers an error with the two flag bytes cleared (hosts read the length first)
        if characteristics in ncp.network.endpoints:
            return (EzspStatus.SUCCESS, ENDPOINT_ENABLED.to_bytes(2, "little"))
        return (EzspStatus.ERROR_INVALID_VALUE, bytes(2))
    return (EzspStatus.ERROR_INVALID_ID, b"")


__all__ = ["ENDPOINT_ENABLED", "EXTENDED_VALUE_ENDPOINT_FLAGS"]
