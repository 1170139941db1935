"""The relay process: the hubs' tunnel listener (mutual TLS) and the apps' HTTPS API (aiohttp).

    POST /api/v1/provision            {csr, claim} -> {hub_id, certificate, ca, tunnel_url}
    GET  /api/v1/hubs                 the hubs online here
    GET  /api/v1/fleet/hubs           the hubs online on every relay, asked of NATS (deadline_ms)
    GET  /api/v1/hubs/{hub}/presence  whether a hub is online, and on which relay
    POST /api/v1/hubs/{hub}/commands  {device, capability, name, args, deadline_ms} -> result
    GET  /api/v1/hubs/{hub}/state     the last known state
    GET  /api/v1/hubs/{hub}/events    server-sent events, one per hub event, from now on
    POST/GET /api/v1/hubs/{hub}/update, POST .../update/reboot   updates (tools/relay/updates.py)
    GET  /metrics, /healthz, /readyz  Prometheus text; liveness; readiness (503 while draining)

A command to a hub without a tunnel is answered 503 at once; one with no answer by its deadline
504 "expired"; commands are never queued for later. Errors are RFC 9457 problem+json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from hubd.core.errors import HubError
from hubd.tunnel.protocol import MAX_MESSAGE_BYTES, SUBPROTOCOL, CloseCode
from tools.relay import updates
from tools.relay.ca import CertificateAuthority, ClaimBook, ClaimError, server_context
from tools.relay.fleet import (
    CommandExpired,
    EventLog,
    EventStore,
    HubOffline,
    LocalRouter,
    Router,
)
from tools.relay.ops import AdmissionRamp, Counters, drain_delays, prometheus
from tools.relay.problems import json_object, problem
from tools.relay.tunnel import TunnelLink, peer_hub_id

log = logging.getLogger(__name__)

MAX_DEADLINE_MS = 60_000
LISTEN_BACKLOG = 1024  # a herd of reconnects overflows asyncio's 100 and is reset (ECONNRESET)


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """Where the relay listens and how it treats hubs."""

    ca_dir: Path
    host: str = "127.0.0.1"
    tunnel_port: int = 0  # 0: any free port (tests)
    api_port: int = 0
    public_host: str = "127.0.0.1"  # the host hubs are told to dial
    cert_days: float = 90.0
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 10.0
    close_timeout_s: float = 3.0
    revoked: frozenset[str] = frozenset()  # hub ids refused with 403 though their cert is valid
    admit_per_s: float | None = None  # new tunnels a second once ramped up (None: no limit)
    ramp_s: float = 30.0  # after a start, admissions climb to admit_per_s over this long
    drain_spread_s: float = 60.0  # a draining relay's hubs come back spread over this long


class Relay:
    """One relay process: tunnels in, API out; the router and event log may be shared."""

    def __init__(self, settings: RelaySettings, router: Router | None = None,
                 events: EventLog | None = None, store: EventStore | None = None) -> None:
        self.settings = settings
        self.ca = CertificateAuthority.load(settings.ca_dir)
        self.claims = ClaimBook(settings.ca_dir / "claims.json")
        self.router: Router = router or LocalRouter()
        self.events = events or EventLog()
        self.store = store
        self.tunnel_port = settings.tunnel_port
        self.api_port = settings.api_port
        self._server: Server | None = None
        self._runner: web.AppRunner | None = None
        self._streams: set[asyncio.Task[Any]] = set()
        self.links: set[TunnelLink] = set()
        self.counters = Counters()
        self.ramp = AdmissionRamp(settings.admit_per_s, settings.ramp_s)
        self.is_ready = False

    @property
    def tunnel_url(self) -> str:
        """What hubs dial."""
        return f"wss://{self.settings.public_host}:{self.tunnel_port}/"

    @property
    def api_url(self) -> str:
        """Where apps (and provisioning) call."""
        return f"https://{self.settings.public_host}:{self.api_port}"

    async def start(self) -> None:
        """Listen for hubs and apps."""
        s = self.settings
        self.ramp = AdmissionRamp(s.admit_per_s, s.ramp_s)  # a (re)start ramps up again
        # A restart listens on the ports of the first start (hubs and apps know them).
        self._server = await serve(
            self._handle, s.host, self.tunnel_port,
            ssl=server_context(self.ca, require_client=True),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._admit,
            compression=None, max_size=MAX_MESSAGE_BYTES, ping_interval=s.ping_interval_s,
            ping_timeout=s.ping_timeout_s, close_timeout=s.close_timeout_s,
            backlog=LISTEN_BACKLOG)
        self.tunnel_port = self._server.sockets[0].getsockname()[1]
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.host, self.api_port,
                           ssl_context=server_context(self.ca, require_client=False))
        await site.start()
        self.api_port = self._runner.addresses[0][1]
        await self.router.serve_presence(tunnel=self.tunnel_url, api=self.api_url)
        self.is_ready = True
        log.info("event=relay_listening tunnel=%s api=%s", self.tunnel_url, self.api_url)

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """403 for a hub whose certificate is valid but whose id is revoked; 503 while the
        admission ramp is full or the relay is draining (the hub backs off and comes back)."""
        hub_id = peer_hub_id(connection)
        if hub_id in self.settings.revoked:
            self.counters.refused += 1
            log.warning("event=relay_refused hub=%s reason=revoked", hub_id)
            return connection.respond(HTTPStatus.FORBIDDEN, "this hub is revoked\n")
        if not self.is_ready or not self.ramp.admit():
            self.counters.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "busy, come back later\n")
        return None

    async def _handle(self, websocket: ServerConnection) -> None:
        """Serve one incoming hub connection."""
        hub_id = peer_hub_id(websocket)
        if hub_id is None:
            await websocket.close(CloseCode.UNAUTHORIZED, "no client certificate")
            return
        if websocket.subprotocol != SUBPROTOCOL:
            await websocket.close(CloseCode.PROTOCOL_ERROR, "subprotocol hubd.v1 required")
            return
        self.counters.accepts += 1
        link = TunnelLink(hub_id, websocket, self.router, self.events, self.ca,
                          self.settings.cert_days, self.store)
        self.links.add(link)
        try:
            await link.run()
        except HubError:
            log.exception("event=relay_tunnel_failed hub=%s", hub_id)
        finally:
            self.links.discard(link)

    async def drain(self) -> None:
        """Stop taking tunnels and send every hub away, each told to come back at its own
        moment over drain_spread_s (to the other relays: a flat herd, not a spike)."""
        self.is_ready = False
        links = list(self.links)
        delays = drain_delays(len(links), self.settings.drain_spread_s)
        await asyncio.gather(*(link.drain(d) for link, d in zip(links, delays, strict=True)),
                             return_exceptions=True)
        log.info("event=relay_drained hubs=%d", len(links))

    async def stop(self) -> None:
        """Close every tunnel and the API."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._streams):  # an event stream never ends by itself
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def app(self) -> web.Application:
        """The HTTP API."""
        app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_post("/api/v1/provision", self.provision)
        app.router.add_get("/api/v1/hubs", self.hubs)
        app.router.add_get("/api/v1/fleet/hubs", self.fleet_hubs)
        app.router.add_get("/api/v1/hubs/{hub}/presence", self.presence)
        app.router.add_post("/api/v1/hubs/{hub}/commands", self.command)
        app.router.add_get("/api/v1/hubs/{hub}/state", self.state)
        app.router.add_get("/api/v1/hubs/{hub}/events", self.stream)
        app.router.add_routes(updates.routes(self))
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        return app

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text: tunnels, accepts, commands, events, memory."""
        self.counters.events = sum(r.events for r in self.events.hubs.values())
        return web.Response(text=prometheus(self.counters, len(self.links), self.is_ready),
                            content_type="text/plain")

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: the event loop answers."""
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        """Readiness: listening and not draining."""
        return web.Response(text="ready\n" if self.is_ready else "draining\n",
                            status=200 if self.is_ready else 503)

    async def provision(self, request: web.Request) -> web.Response:
        """Redeem a claim token: sign the hub's CSR for the token's hub id."""
        data = await json_object(request)
        if isinstance(data, web.Response):
            return data
        csr, claim = data.get("csr"), data.get("claim")
        if not isinstance(csr, str) or not isinstance(claim, str):
            return problem(400, "Bad request", "csr and claim are required strings")
        try:
            hub_id = await asyncio.to_thread(self.claims.redeem, claim)
            certificate = await asyncio.to_thread(self.ca.sign_csr, csr, hub_id,
                                                  self.settings.cert_days)
        except ClaimError as exc:
            return problem(403, "Claim refused", str(exc))
        log.info("event=relay_provisioned hub=%s", hub_id)
        return web.json_response({"hub_id": hub_id, "certificate": certificate,
                                  "ca": self.ca.certificate_pem, "tunnel_url": self.tunnel_url})

    async def hubs(self, request: web.Request) -> web.Response:
        """The hubs online here."""
        return web.json_response({"online": self.router.online()})

    async def fleet_hubs(self, request: web.Request) -> web.Response:
        """Every relay's hubs (NATS scatter-gather, answered after deadline_ms, default 200)."""
        try:
            deadline_ms = float(request.query.get("deadline_ms", "200"))
        except ValueError:
            deadline_ms = -1.0
        if not 0 < deadline_ms <= MAX_DEADLINE_MS:
            return problem(400, "Bad request", f"0 < deadline_ms <= {MAX_DEADLINE_MS}")
        relays = await self.router.presence(deadline_ms / 1000.0)
        online = {hub: relay for relay, entry in sorted(relays.items()) for hub in entry["hubs"]}
        return web.json_response({"relays": relays, "online": online})

    async def presence(self, request: web.Request) -> web.Response:
        """Whether one hub is online and where (asked of the holding relay; offline at once)."""
        hub_id = request.match_info["hub"]
        holder = await self.router.where(hub_id, 2.0)
        return web.json_response({"hub": hub_id, "online": holder is not None, **(holder or {})})

    async def command(self, request: web.Request) -> web.Response:
        """Send one command to a hub and wait for its result, up to its deadline."""
        hub_id = request.match_info["hub"]
        data = await json_object(request)
        if isinstance(data, web.Response):
            return data
        deadline_ms = data.get("deadline_ms", 5000)
        args = data.get("args", {})
        fields = [data.get(k) for k in ("device", "capability", "name")]
        if (not all(isinstance(f, str) for f in fields) or not isinstance(args, dict)
                or isinstance(deadline_ms, bool) or not isinstance(deadline_ms, int | float)
                or not 0 < deadline_ms <= MAX_DEADLINE_MS):
            return problem(400, "Bad request", "device, capability, name (strings), args "
                            f"(object), deadline_ms (0 < ms <= {MAX_DEADLINE_MS}) expected")
        body = {"device": fields[0], "capability": fields[1], "name": fields[2], "args": args}
        started = time.perf_counter()
        self.counters.commands += 1
        try:
            result = await self.router.request(hub_id, body, deadline_ms / 1000.0)
        except HubOffline as exc:
            return problem(503, "Hub offline", str(exc))
        except CommandExpired as exc:
            return web.json_response({"status": "expired", "error": str(exc)}, status=504)
        round_trip_ms = (time.perf_counter() - started) * 1e3
        return web.json_response({**result, "round_trip_ms": round(round_trip_ms, 3)})

    async def state(self, request: web.Request) -> web.Response:
        """A hub's last known state."""
        state = self.events.state(request.match_info["hub"])
        if state is None:
            return problem(404, "Unknown hub", "this relay has never heard of that hub")
        return web.json_response(state)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """A hub's events as server-sent events, from now on."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            async for seq, body in self.events.stream(request.match_info["hub"]):
                payload = json.dumps(body, default=str)
                await response.write(f"id: {seq}\ndata: {payload}\n\n".encode())
        finally:
            self._streams.discard(task)
        return response
