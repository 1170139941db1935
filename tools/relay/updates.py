"""The app API's update endpoints: offer a hub an update bundle by URL, follow it, reboot.

    POST /api/v1/hubs/{hub}/update          {url, size_bytes?, deadline_ms?} -> 202 accepted
    GET  /api/v1/hubs/{hub}/update          the hub's live status and the last progress seen
    POST /api/v1/hubs/{hub}/update/reboot   {deadline_ms?} -> 202 once the hub asked its OS

Each is one ``update`` command to the hub's ``hub`` target (hubd.tunnel.updates): the hub answers
an offer at once (accepted, or refused: busy, a URL it will not fetch) and then downloads the
bundle itself, within its size cap and deadline; its progress comes up the tunnel as ``update``
events, in the hub's event stream and in the last progress kept here. The relay never carries the
bundle (a root filesystem image is far larger than what the tunnel and NATS are sized for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from tools.relay.fleet import CommandExpired, HubOffline
from tools.relay.problems import json_object, problem

if TYPE_CHECKING:
    from tools.relay.server import Relay

MAX_DEADLINE_MS = 60_000


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    if not request.can_read_body:
        return {}
    return await json_object(request)


def _deadline_s(data: dict[str, Any]) -> float | None:
    deadline_ms = data.get("deadline_ms", 10_000)
    if isinstance(deadline_ms, bool) or not isinstance(deadline_ms, int | float) or not (
            0 < deadline_ms <= MAX_DEADLINE_MS):
        return None
    return float(deadline_ms) / 1000.0


async def _ask(relay: Relay, hub_id: str, name: str, args: dict[str, Any], ttl_s: float
               ) -> dict[str, Any] | web.Response:
    body = {"device": "hub", "capability": "update", "name": name, "args": args}
    relay.counters.commands += 1
    try:
        return dict(await relay.router.request(hub_id, body, ttl_s))
    except HubOffline as exc:
        return problem(503, "Hub offline", str(exc))
    except CommandExpired as exc:
        return problem(504, "Expired", str(exc))


# The hub's failure codes (hubd.tunnel.updates) as HTTP statuses; a refused reboot is a
# conflict with the hub's state (nothing committed), a refused offer a bad request.
_STATUS = {"busy": 409, "invalid": 422, "off": 501}


def _answer(result: dict[str, Any], ok_status: int, refused_status: int) -> web.Response:
    if result.get("status") in ("accepted", "confirmed"):
        return web.json_response(result, status=ok_status)
    code = str(result.get("code"))
    return problem(_STATUS.get(code, refused_status), "Refused by the hub",
                    str(result.get("error")), code=code, update=result.get("update"))


def routes(relay: Relay) -> list[web.RouteDef]:
    """The update endpoints of a relay's app API."""

    async def offer(request: web.Request) -> web.Response:
        data = await _body(request)
        if isinstance(data, web.Response):
            return data
        url, size, ttl_s = data.get("url"), data.get("size_bytes"), _deadline_s(data)
        if not isinstance(url, str) or ttl_s is None or not (size is None or (
                isinstance(size, int) and not isinstance(size, bool) and size > 0)):
            return problem(400, "Bad request", "url (string), size_bytes (positive integer, "
                            f"optional), deadline_ms (0 < ms <= {MAX_DEADLINE_MS}) expected")
        args: dict[str, Any] = {"url": url}
        if size is not None:
            args["size_bytes"] = size
        result = await _ask(relay, request.match_info["hub"], "offer", args, ttl_s)
        return result if isinstance(result, web.Response) else _answer(result, 202, 422)

    async def status(request: web.Request) -> web.Response:
        hub_id = request.match_info["hub"]
        record = relay.events.hubs.get(hub_id)
        last = record.update if record is not None else None
        result = await _ask(relay, hub_id, "status", {}, 5.0)
        if isinstance(result, web.Response):
            if last is None:
                return result
            return web.json_response({"online": False, "update": None, "last_progress": last})
        return web.json_response({"online": True, "update": result.get("update"),
                                  "last_progress": last})

    async def reboot(request: web.Request) -> web.Response:
        data = await _body(request)
        if isinstance(data, web.Response):
            return data
        ttl_s = _deadline_s(data)
        if ttl_s is None:
            return problem(400, "Bad request", f"deadline_ms (0 < ms <= {MAX_DEADLINE_MS})")
        result = await _ask(relay, request.match_info["hub"], "reboot", {}, ttl_s)
        return result if isinstance(result, web.Response) else _answer(result, 202, 409)

    return [web.post("/api/v1/hubs/{hub}/update", offer),
            web.get("/api/v1/hubs/{hub}/update", status),
            web.post("/api/v1/hubs/{hub}/update/reboot", reboot)]
