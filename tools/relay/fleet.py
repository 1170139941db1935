"""The relay's shared state behind small interfaces: who is online (Router) and what they said
(EventLog).

``Router`` is the one seam the fleet issue replaces with NATS: ``attach`` subscribes a hub's
tunnel (``hub.<id>.cmd``), ``request`` is request/reply with the deadline ("no responders" =
offline, answered at once). ``LocalRouter`` is the single-process version. ``EventLog`` dedupes
events on (hub, seq), keeps each hub's last known state and fans events out to app streams; its
in-memory version lives as long as the Relay object that owns it, which is what a relay restart
in the tests keeps (in the fleet it is JetStream's job).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hubd.core.errors import HubError

log = logging.getLogger(__name__)

Body = Mapping[str, Any]


RECENT = 10_000  # events kept per hub for an app stream that resumes (Last-Event-ID)


class HubOffline(HubError):
    """No tunnel of that hub is open on any relay."""


class CommandExpired(HubError):
    """The hub gave no answer before the command's deadline."""


class HubLink(Protocol):
    """One hub's open tunnel, as the router sees it."""

    @property
    def hub_id(self) -> str:
        """The hub id from its verified certificate."""
        ...

    async def command(self, body: Body, ttl_s: float) -> Body:
        """Send a command and wait for its result (CommandExpired past ttl_s)."""
        ...

    async def supersede(self) -> None:
        """Close this tunnel with 4001: a newer one of the same hub took over."""
        ...


class Router(Protocol):
    """Which hubs are online, and commands routed to them (the NATS seam)."""

    async def attach(self, link: HubLink) -> None:
        """A hub's tunnel is up; an older tunnel of the same hub is superseded."""
        ...

    async def detach(self, link: HubLink) -> None:
        """A hub's tunnel is gone (a superseded link detaches without effect)."""
        ...

    async def request(self, hub_id: str, body: Body, ttl_s: float) -> Body:
        """Run a command on a hub: HubOffline at once, CommandExpired past the deadline."""
        ...

    def online(self) -> list[str]:
        """The hubs with a tunnel here."""
        ...

    async def serve_presence(self, **urls: str) -> None:
        """Answer presence queries from now on, saying these of this relay (tunnel, api)."""
        ...

    async def where(self, hub_id: str, ttl_s: float) -> dict[str, Any] | None:
        """The relay holding a hub's tunnel ({relay, tunnel, api}), or None if none does."""
        ...

    async def presence(self, deadline_s: float) -> dict[str, dict[str, Any]]:
        """Every relay's hubs: {relay: {tunnel, api, hubs}}."""
        ...


class LocalRouter:
    """The Router of a single relay process."""

    def __init__(self) -> None:
        self._links: dict[str, HubLink] = {}
        self.superseded = 0
        self.urls: dict[str, str] = {}

    async def attach(self, link: HubLink) -> None:
        """Register a link; close the older one of the same hub with 4001."""
        older = self._links.get(link.hub_id)
        self._links[link.hub_id] = link
        if older is not None and older is not link:
            self.superseded += 1
            log.warning("event=relay_superseded hub=%s", link.hub_id)
            await older.supersede()

    async def detach(self, link: HubLink) -> None:
        """Forget a link if it is still the current one."""
        if self._links.get(link.hub_id) is link:
            del self._links[link.hub_id]

    async def request(self, hub_id: str, body: Body, ttl_s: float) -> Body:
        """Route a command to the hub's link, never queueing it."""
        link = self._links.get(hub_id)
        if link is None:
            raise HubOffline(f"hub {hub_id} is offline")
        return await link.command(body, ttl_s)

    def online(self) -> list[str]:
        """The hubs attached here."""
        return sorted(self._links)

    async def serve_presence(self, **urls: str) -> None:
        """Remember what to say of this relay (it is the whole fleet)."""
        self.urls = dict(urls)

    async def where(self, hub_id: str, ttl_s: float) -> dict[str, Any] | None:
        """This relay, if it holds the hub."""
        return {"relay": "local", **self.urls} if hub_id in self._links else None

    async def presence(self, deadline_s: float) -> dict[str, dict[str, Any]]:
        """This relay's hubs."""
        return {"local": {**self.urls, "hubs": self.online()}}


class EventStore(Protocol):
    """Where hub events are kept durably for the fleet (JetStream), deduplicated on (hub, seq)."""

    async def store(self, hub_id: str, seq: int, body: Body) -> bool:
        """Keep one event; whether it was new. The relay acks the hub only after this."""
        ...


@dataclass(slots=True)
class HubRecord:
    """What the relay knows of one hub."""

    high_water: int = 0  # events up to here are stored (dedupe on (hub, seq))
    epoch: str | None = None
    version: int | None = None
    devices: dict[str, Body] = field(default_factory=dict)
    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    events: int = 0
    duplicates: int = 0
    streams: set[asyncio.Queue[tuple[int, Body]]] = field(default_factory=set)
    recent: deque[tuple[int, Body]] = field(default_factory=lambda: deque(maxlen=RECENT))
    update: Body | None = None  # the last update progress the hub reported


class EventLog:
    """Dedupe, last known state and event streams per hub (in memory)."""

    def __init__(self, stream_queue: int = 1000) -> None:
        self.hubs: dict[str, HubRecord] = {}
        self._stream_queue = stream_queue

    def record(self, hub_id: str) -> HubRecord:
        """A hub's record, made on first sight."""
        return self.hubs.setdefault(hub_id, HubRecord())

    def resume(self, hub_id: str, hub_acked: int) -> int:
        """The seq to welcome a hub with: what we hold, or what the hub knows was acked."""
        record = self.record(hub_id)
        record.high_water = max(record.high_water, hub_acked)
        return record.high_water

    def add_event(self, hub_id: str, seq: int, body: Body) -> bool:
        """Store one event unless it is a duplicate; whether it was new."""
        record = self.record(hub_id)
        if seq <= record.high_water:
            record.duplicates += 1
            return False
        record.high_water = seq
        record.events += 1
        self._apply_event(record, body)
        record.recent.append((seq, body))
        for queue in list(record.streams):
            if queue.full():  # a slow app stream loses its oldest, never blocks the tunnel
                queue.get_nowait()
            queue.put_nowait((seq, body))
        return True

    @staticmethod
    def _apply_event(record: HubRecord, body: Body) -> None:
        kind = body.get("type")
        if kind == "update":
            record.update = dict(body)
        elif kind == "state":
            record.values[(str(body.get("device")), str(body.get("attribute")))] = body.get("new")
        elif kind == "device_joined" and isinstance(body.get("device"), dict):
            device = body["device"]
            record.devices[str(device.get("id"))] = device
        elif kind == "device_left":
            device_id = str(body.get("device"))
            record.devices.pop(device_id, None)
            for key in [k for k in record.values if k[0] == device_id]:
                del record.values[key]

    def apply_state(self, hub_id: str, body: Body) -> None:
        """Take a snapshot (full) or a delta of a hub's state."""
        record = self.record(hub_id)
        if body.get("full"):
            record.devices.clear()
            record.values.clear()
        for device in body.get("devices", ()):
            if isinstance(device, dict):
                record.devices[str(device.get("id"))] = device
        for device_id in body.get("removed", ()):
            record.devices.pop(str(device_id), None)
        for item in body.get("values", ()):
            if isinstance(item, list) and len(item) == 3:
                record.values[(str(item[0]), str(item[1]))] = item[2]
        epoch, version = body.get("epoch"), body.get("version")
        if isinstance(epoch, str) and isinstance(version, int):
            record.epoch, record.version = epoch, version

    def state(self, hub_id: str) -> dict[str, Any] | None:
        """A hub's last known state, as JSON-able data."""
        record = self.hubs.get(hub_id)
        if record is None:
            return None
        values: dict[str, dict[str, Any]] = {}
        for (device_id, attribute), value in sorted(record.values.items()):
            values.setdefault(device_id, {})[attribute] = value
        return {"hub": hub_id, "epoch": record.epoch, "version": record.version,
                "seq": record.high_water, "devices": list(record.devices.values()),
                "values": values}

    async def stream(self, hub_id: str) -> AsyncIterator[tuple[int, Body]]:
        """Every new event of a hub from now on, until the caller stops."""
        record = self.record(hub_id)
        queue: asyncio.Queue[tuple[int, Body]] = asyncio.Queue(self._stream_queue)
        record.streams.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            record.streams.discard(queue)
