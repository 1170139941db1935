"""The daemon's side of the LAN API: adapters that implement its ports over the Hub and the
store (the rules' one is in ``hubd.apirules``), and the component that runs it (hubd.api never
imports these).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import hubd
from hubd.api.auth import new_setup_code
from hubd.api.ports import (
    HubInfo,
    TokenInfo,
)
from hubd.api.server import ApiServer
from hubd.core.errors import UnknownDeviceError
from hubd.core.events import CommandResult, DeviceJoined, DeviceLeft, RadioHealth
from hubd.core.model import Command, Context, Device, Origin, Value
from hubd.hub import Hub
from hubd.provision import HubIdentity, read_identity
from hubd.store import Snapshot, Store, TokenRow, WriteBehind
from hubd.supervise import supervise

if TYPE_CHECKING:
    from hubd.daemon import Daemon

log = logging.getLogger(__name__)


class HubDevices:
    """DevicesPort over the Hub."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def devices(self) -> Sequence[Device]:
        """Every known device."""
        return list(self._hub.state.devices())

    def find(self, ref: str) -> Device | None:
        """A device by id or unique name."""
        try:
            return self._hub.state.resolve(ref)
        except UnknownDeviceError:
            return None

    def state(self, device_id: str) -> Mapping[str, Value]:
        """The last known values of a device's attributes."""
        return {e.attribute: e.value for e in self._hub.state.entries(device_id)}

    def states(self) -> Mapping[str, Mapping[str, Value]]:
        """Every device's values, grouped in one pass over the state."""
        grouped: dict[str, dict[str, Value]] = {}
        for entry in self._hub.state.entries():
            grouped.setdefault(entry.device_id, {})[entry.attribute] = entry.value
        return grouped

    def rename(self, device_id: str, name: str | None, room: str | None) -> Device:
        """Rename or move a device; says so on the bus (a DeviceJoined with the new details)."""
        device = self._hub.state.resolve(device_id)
        renamed = self._hub.state.rename(device.id, name or device.name, room)
        self._hub.bus.publish(DeviceJoined(renamed, self._hub.clock.time(),
                                           Context.new(Origin.DIGITAL)))
        return renamed

    def remove(self, device_id: str) -> None:
        """Forget a device (the radio may announce it again if it is still paired)."""
        self._hub.report(DeviceLeft(device_id, self._hub.clock.time(),
                                    Context.new(Origin.DIGITAL)))

    async def execute(self, command: Command) -> CommandResult:
        """Run a command on its radio."""
        return await self._hub.execute(command)

    def radios(self) -> Sequence[str]:
        """The running radios."""
        return list(self._hub.drivers)

    def health(self) -> Sequence[RadioHealth]:
        """Each radio's last health."""
        return list(self._hub.health.values())

    async def permit_join(self, radio: str, duration_s: float) -> None:
        """Open (or close) a radio's network for joining."""
        await self._hub.drivers[radio].permit_join(duration_s)


class StoreTokens:
    """TokensPort over the store's tokens table (in the store's thread)."""

    def __init__(self, writer: WriteBehind) -> None:
        self._writer = writer

    async def load(self) -> Sequence[tuple[TokenInfo, str]]:
        """Every token and its hash."""
        rows = await self._writer.call(Store.load_tokens)
        return [(TokenInfo(r.id, r.scope, r.client, r.created, r.last_used), r.hash)
                for r in rows]

    async def add(self, token: TokenInfo, token_hash: str) -> None:
        """Keep a token's hash."""
        row = TokenRow(token.id, token_hash, token.scope, token.client, token.created)
        await self._writer.call(lambda store: store.token_add(row))

    async def delete(self, token_id: str) -> bool:
        """Revoke a token."""
        return await self._writer.call(lambda store: store.token_delete(token_id))

    async def touch(self, token_id: str, ts: float) -> None:
        """Record a use."""
        await self._writer.call(lambda store: store.token_touch(token_id, ts))


def hub_identity(meta: Mapping[str, str], writer: WriteBehind, name: str, version: str,
                 provisioned: HubIdentity | None = None) -> tuple[HubInfo, str]:
    """The hub's id and setup code: provisioned ones, else made and persisted on first start."""
    if provisioned is not None:
        return HubInfo(provisioned.hub_id, name, version), provisioned.setup_code
    hub_id = meta.get("hub_id") or f"hub-{secrets.token_hex(5)}"
    code = meta.get("api_setup_code") or new_setup_code()
    if "hub_id" not in meta:
        writer.set_meta("hub_id", hub_id)
    if "api_setup_code" not in meta:
        writer.set_meta("api_setup_code", code)
    return HubInfo(hub_id, name, version), code


async def start_api(daemon: Daemon, group: asyncio.TaskGroup, tasks: list[asyncio.Task[None]],
                    hub: Hub, writer: WriteBehind, snapshot: Snapshot) -> ApiServer | None:
    """Start the LAN API under the daemon's TaskGroup and wait until it listens (or times out)."""
    config = daemon.config
    settings = config.api
    if settings is None:
        return None
    provisioned = None
    if config.hub.identity_dir is not None:
        provisioned = await asyncio.to_thread(read_identity, config.hub.identity_dir)
    info, code = hub_identity(snapshot.meta, writer, config.hub.name, hubd.__version__,
                              provisioned)
    rules = daemon.api_rules  # made with the engine, before it ran (see hubd.rulewire.build_engine)
    def health_extra() -> Mapping[str, Any]:
        tunnel = daemon.tunnel
        health = tunnel.health if tunnel is not None else None
        if health is None:
            return {"tunnel": None}
        return {"tunnel": {"status": str(health.status), "detail": health.detail,
                           "ts": health.ts, "next_attempt_ts": health.next_attempt_ts,
                           "outbox_depth": health.outbox_depth,
                           "last_ack_ts": health.last_ack_ts}}

    server = ApiServer(settings, info, devices=HubDevices(hub), rules=rules,
                       tokens=StoreTokens(writer), bus=hub.bus, clock=daemon.clock,
                       state_dir=config.hub.state_dir / "api", setup_code=code,
                       mdns_interfaces=settings.mdns_interfaces or None,
                       health_extra=health_extra, updates=daemon.updates)
    tasks.append(daemon.start_component(group, "api", supervise("api", server.run)))
    try:
        async with asyncio.timeout(daemon.ready_timeout_s):
            await server.ready.wait()
    except TimeoutError:
        log.error("event=api_not_ready timeout_s=%s", daemon.ready_timeout_s)
    return server
