"""The API as one daemon component: certificate, tokens, the app on its socket, zeroconf, button.

``ApiServer.run`` starts everything and serves until cancelled; on cancel it unregisters from
mDNS, closes WebSockets and the listening socket. ``ready`` is set once it listens, and ``url``
then says where (the port is known only after binding when the configured one is 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from hubd.api import button, rest, rest_rules, rest_update, ws
from hubd.api.app import PREFIX, ApiState, Route, api_versions, build_app, json_response
from hubd.api.auth import Pairing, RateLimiter, TokenBook
from hubd.api.discovery import Announcer, lan_addresses
from hubd.api.events import EventLog
from hubd.api.openapi import document
from hubd.api.ports import DevicesPort, HubInfo, RulesPort, TokensPort, UpdatesPort
from hubd.api.settings import ApiSettings
from hubd.api.tls import ensure_certificate
from hubd.bus import Bus
from hubd.core.clock import Clock

log = logging.getLogger(__name__)

ROUTES: list[Route] = [*rest.ROUTES, *rest_rules.ROUTES, *rest_update.ROUTES]
WEB_DIR = Path(__file__).parent / "web"

# The console's policy: its own scripts and styles only, no inline code, no framing, and API
# calls (HTTP and WebSocket) to this origin only.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = "hubd"  # not the library's name and version
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith(PREFIX):
        response.headers.setdefault("Cache-Control", "no-store")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the whole API."""
    doc = document(ROUTES)
    doc["paths"][PREFIX + "/openapi.json"] = {"get": {
        "operationId": "getOpenApi", "summary": "This document", "security": [],
        "responses": {"200": {"description": "OK",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    return doc


class ApiServer:
    """The LAN API component of the daemon."""

    def __init__(self, settings: ApiSettings, info: HubInfo, *, devices: DevicesPort,
                 rules: RulesPort | None, tokens: TokensPort, bus: Bus, clock: Clock,
                 state_dir: Path, setup_code: str,
                 health_extra: Callable[[], Mapping[str, Any]] | None = None,
                 mdns_interfaces: Sequence[str] | None = None,
                 updates: UpdatesPort | None = None) -> None:
        self.settings = settings
        self.info = info
        self.state_dir = state_dir
        self.setup_code = setup_code
        self._mdns_interfaces = mdns_interfaces
        self.pairing = Pairing(clock, setup_code, settings.pair_window_s,
                               settings.max_bad_codes, settings.lockout_s)
        self.events = EventLog(bus, clock, settings.ring_size)
        self.state = ApiState(
            settings, info, "", clock, devices, rules, TokenBook(tokens, clock), self.pairing,
            RateLimiter(clock, settings.rate_per_s, settings.rate_burst), self.events,
            versions=api_versions(info.version), health_extra=health_extra,
            started_s=clock.monotonic(), updates=updates)
        self.ready = asyncio.Event()
        self.url = ""
        self.announcer: Announcer | None = None

    def press_button(self) -> None:
        """The hub's button was pressed: open the pairing window."""
        self.pairing.open("button")

    def app(self) -> web.Application:
        """The aiohttp application (tests may serve it themselves)."""
        spec = openapi_document()

        async def openapi(request: web.Request) -> web.Response:
            return json_response(spec)

        async def console(request: web.Request) -> web.FileResponse:
            return web.FileResponse(WEB_DIR / "index.html")

        def extra(app: web.Application) -> None:
            app.router.add_get(PREFIX + "/openapi.json", openapi)
            app.router.add_get(PREFIX + "/ws", ws.websocket)
            # The web console: static files, one more client of the API above.
            app.router.add_get("/", console)
            app.router.add_static("/web/", WEB_DIR, append_version=False)
            app.on_response_prepare.append(_security_headers)

        return build_app(self.state, ROUTES, extra)

    async def run(self) -> None:
        """Serve until cancelled."""
        s = self.settings
        addresses = lan_addresses(s.host)
        ssl_context = None
        if s.is_tls:
            cert = ensure_certificate(self.state_dir, self.info.id, [*addresses, "127.0.0.1"])
            self.state.pin_sha256 = cert.pin_sha256
            ssl_context = cert.server_context()
        await self.state.tokens.load()
        self.events.start()
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(runner.cleanup)
            stack.callback(self.events.stop)
            site = web.TCPSite(runner, s.host, s.port, ssl_context=ssl_context)
            await site.start()
            port = _bound_port(runner, s.port)
            scheme = "https" if s.is_tls else "http"
            shown = "127.0.0.1" if s.host in ("0.0.0.0", "") else s.host
            self.url = self.state.url = f"{scheme}://{shown}:{port}"
            async with asyncio.TaskGroup() as group:
                group.create_task(button.listen(self.state_dir, self.press_button),
                                  name="api:button")
                if s.is_zeroconf:
                    self.announcer = Announcer(self.info.id, port, self.state.pin_sha256,
                                               lambda: lan_addresses(s.host),
                                               self._mdns_interfaces)
                    group.create_task(self.announcer.run(), name="api:zeroconf")
                log.info("event=api_listening url=%s pin_sha256=%s", self.url,
                         self.state.pin_sha256)
                self.ready.set()
                await asyncio.Event().wait()


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
