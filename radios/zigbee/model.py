"""What the zigpy adapter tells the driver, as plain typed data (no zigpy types cross this line).

Cluster and attribute ids follow the Zigbee Cluster Library (ZCL, document 07-5123); the
numbers are the spec's, the names are zigpy's where zigpy has one. What the mapping makes of a
report (``AttributeValue``, ``ButtonPress``) is the same for every radio: it lives in
``radios.observations`` and the Zigbee modules name it through this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from hubd.core.model import Value
from radios.observations import AttributeValue as AttributeValue
from radios.observations import ButtonPress as ButtonPress
from radios.observations import Observation as Observation


class ClusterId(IntEnum):
    """ZCL cluster identifiers the hub understands (ZCL 07-5123 per chapter)."""

    BASIC = 0x0000
    POWER_CONFIGURATION = 0x0001
    SCENES = 0x0005
    ON_OFF = 0x0006
    LEVEL_CONTROL = 0x0008
    POLL_CONTROL = 0x0020
    DOOR_LOCK = 0x0101
    WINDOW_COVERING = 0x0102
    THERMOSTAT = 0x0201
    COLOR_CONTROL = 0x0300
    ILLUMINANCE_MEASUREMENT = 0x0400
    TEMPERATURE_MEASUREMENT = 0x0402
    RELATIVE_HUMIDITY = 0x0405
    OCCUPANCY_SENSING = 0x0406
    IAS_ZONE = 0x0500
    METERING = 0x0702
    ELECTRICAL_MEASUREMENT = 0x0B04


class ZoneType(IntEnum):
    """IAS Zone types that map onto the vocabulary (ZCL 8.2.2.2.1.2, Table 8-5)."""

    MOTION_SENSOR = 0x000D
    CONTACT_SWITCH = 0x0015
    WATER_SENSOR = 0x002A


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """One application endpoint: its server (in) and client (out) clusters."""

    endpoint_id: int
    in_clusters: frozenset[int]
    out_clusters: frozenset[int]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A Zigbee device as the coordinator knows it after the interview."""

    ieee: str  # "00:17:88:01:02:03:04:05"
    nwk: int
    manufacturer: str
    model: str
    endpoints: tuple[EndpointInfo, ...]
    is_mains_powered: bool
    zone_type: int | None = None  # IAS Zone type, once read
    last_seen: float | None = None  # wall-clock seconds

    def server_endpoint(self, cluster_id: int) -> int | None:
        """The first endpoint that serves this cluster."""
        for ep in self.endpoints:
            if cluster_id in ep.in_clusters:
                return ep.endpoint_id
        return None


@dataclass(frozen=True, slots=True)
class AttributeEvent:
    """A device reported (or answered a read of) one attribute."""

    ieee: str
    endpoint_id: int
    cluster_id: int
    attribute_id: int
    value: Value
    multiplier: int = 1  # the cluster's scaling attributes, for power and energy
    divisor: int = 1


@dataclass(frozen=True, slots=True)
class ClusterCommandEvent:
    """A device sent a cluster command to the hub (a remote's button, an IAS notification)."""

    ieee: str
    endpoint_id: int
    cluster_id: int
    command_id: int
    args: tuple[Value, ...]
