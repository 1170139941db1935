"""What the simulated EmberZNet NCP remembers: tokens (flash, kept across resets) and RAM."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

BLANK_EUI64 = b"\xff" * 8
WELL_KNOWN_TC_KEY = b"ZigBeeAlliance09"


@dataclass
class StoredNetwork:
    """The network tokens (stack node data, network key info) of a formed network."""

    pan_id: int
    extended_pan_id: int
    channel: int
    tx_power: int
    channels: int
    nwk_manager_id: int = 0x0000
    nwk_update_id: int = 0
    node_id: int = 0x0000


@dataclass
class LinkKey:
    """One entry of the key table (a device's unique APS link key)."""

    eui64: int
    key: bytes
    outgoing_counter: int = 0
    incoming_counter: int = 0


@dataclass
class Tokens:
    """Flash: survives every reset and unplug; ``tokenFactoryReset`` wipes the stack part."""

    custom_eui64: bytes = BLANK_EUI64  # MFG_CUSTOM_EUI_64, write-once in the user page
    restored_eui64: bytes = BLANK_EUI64  # NV3 CREATOR_STACK_RESTORED_EUI64, rewritable
    network: StoredNetwork | None = None
    network_key: bytes = bytes(16)
    network_key_seq: int = 0
    nwk_frame_counter: int = 0
    tc_link_key: bytes = WELL_KNOWN_TC_KEY
    aps_frame_counter: int = 0
    security_bitmask: int = 0
    key_table: list[LinkKey] = field(default_factory=list)
    children: dict[int, tuple[int, int]] = field(default_factory=dict)  # eui64 -> (nwk, type)
    child_flags: dict[int, int] = field(default_factory=dict)  # eui64 -> NVM3 entry flags

    def to_json(self) -> dict[str, Any]:
        """The tokens as JSON (bytes as hex), for the demo's state file."""
        raw = asdict(self)
        for name in ("custom_eui64", "restored_eui64", "network_key", "tc_link_key"):
            raw[name] = getattr(self, name).hex()
        raw["key_table"] = [
            {**asdict(k), "key": k.key.hex()} for k in self.key_table
        ]
        raw["children"] = [[ieee, nwk, kind] for ieee, (nwk, kind) in self.children.items()]
        raw["child_flags"] = [[ieee, flags] for ieee, flags in self.child_flags.items()]
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Tokens:
        """Tokens back from ``to_json``; ValueError if the file is not such a dump."""
        try:
            network = raw["network"]
            return cls(
                custom_eui64=bytes.fromhex(raw["custom_eui64"]),
                restored_eui64=bytes.fromhex(raw["restored_eui64"]),
                network=StoredNetwork(**network) if network is not None else None,
                network_key=bytes.fromhex(raw["network_key"]),
                network_key_seq=int(raw["network_key_seq"]),
                nwk_frame_counter=int(raw["nwk_frame_counter"]),
                tc_link_key=bytes.fromhex(raw["tc_link_key"]),
                aps_frame_counter=int(raw["aps_frame_counter"]),
                security_bitmask=int(raw["security_bitmask"]),
                key_table=[_link_key(k) for k in raw["key_table"]],
                children={int(i): (int(n), int(k)) for i, n, k in raw["children"]},
                child_flags={int(i): int(f) for i, f in raw.get("child_flags", [])},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an NCP token dump: {exc!r}") from exc

    def factory_reset(self) -> None:
        """tokenFactoryReset: the stack tokens go, the manufacturing tokens stay."""
        fresh = Tokens(custom_eui64=self.custom_eui64, restored_eui64=self.restored_eui64)
        for name in fresh.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


def _link_key(raw: dict[str, Any]) -> LinkKey:
    counters = int(raw["outgoing_counter"]), int(raw["incoming_counter"])
    return LinkKey(int(raw["eui64"]), bytes.fromhex(raw["key"]), *counters)


@dataclass
class Ram:
    """What a reset forgets: configuration, policies, endpoints, the running network."""

    is_version_set: bool = False
    is_network_up: bool = False
    config: dict[int, int] = field(default_factory=dict)
    policies: dict[int, int] = field(default_factory=dict)
    values: dict[int, bytes] = field(default_factory=dict)
    initial_security: tuple[int, bytes, bytes, int, int] | None = None
    multicast_table: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    extended_timeouts: set[int] = field(default_factory=set)
    source_routes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    is_concentrator: bool = False
    manufacturer_code: int = 0x1002  # Silicon Labs
    radio_power_dbm: int = 8


__all__ = ["BLANK_EUI64", "WELL_KNOWN_TC_KEY", "LinkKey", "Ram", "StoredNetwork", "Tokens"]
