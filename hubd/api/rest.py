"""REST handlers for the hub, pairing, tokens and devices (rules are in ``rest_rules``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hubd.api import schemas
from hubd.api.app import Route, json_body, json_response, state_of, token_of
from hubd.api.auth import Scope
from hubd.api.problems import ApiProblem, Code
from hubd.api.serialize import device_json, result_json, token_json
from hubd.core.events import RadioStatus
from hubd.core.model import Capability, Command, Context, Device, api_origin, validate_args


async def info(request: web.Request) -> web.Response:
    """Who the hub is; open to anyone (the pin lets an app check the certificate)."""
    state = state_of(request)
    remaining = state.pairing.remaining_s()
    return json_response({
        "id": state.info.id, "name": state.info.name, "version": state.info.version,
        "api_version": state.versions.get("api", "1"), "pin_sha256": state.pin_sha256,
        "pairing": {"is_open": remaining > 0, "remaining_s": round(remaining, 1)}})


async def pair(request: web.Request) -> web.Response:
    """Mint a token, inside the pairing window or with the setup code."""
    state = state_of(request)
    body = await json_body(request, schemas.PAIR)
    state.pairing.admit(body.get("code"))
    secret, token = await state.tokens.mint(body["client"], Scope(body.get("scope", "control")))
    state.pairing.close()
    return json_response({"token": secret, **token_json(token)}, 201)


async def open_pairing(request: web.Request) -> web.Response:
    """Open the pairing window from a paired admin client."""
    state = state_of(request)
    state.pairing.open(f"api:{token_of(request).client}")
    return json_response({"remaining_s": state.pairing.remaining_s()})


async def list_tokens(request: web.Request) -> web.Response:
    """Every paired client's token (never the secrets)."""
    tokens = state_of(request).tokens.tokens()
    return json_response({"tokens": [token_json(t) for t in tokens]})


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke a token at once."""
    if not await state_of(request).tokens.revoke(request.match_info["token_id"]):
        raise ApiProblem(Code.UNKNOWN_TOKEN)
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    """Radios, tunnel (when present), versions and the API's own counters."""
    state = state_of(request)
    radios: dict[str, dict[str, object]] = {
        name: {"radio": name, "status": "starting", "detail": "", "ts": None}
        for name in state.devices.radios()}
    for h in state.devices.health():
        radios[h.radio] = {"radio": h.radio, "status": str(h.status), "detail": h.detail,
                           "ts": h.ts}
    is_ok = all(r["status"] == RadioStatus.OK for r in radios.values())
    extra = dict(state.health_extra()) if state.health_extra is not None else {}
    return json_response({
        "status": "ok" if is_ok else "degraded", "radios": list(radios.values()),
        "tunnel": extra.get("tunnel"), "versions": state.versions,
        "process": {"uptime_s": round(state.clock.monotonic() - state.started_s, 1),
                    "rss_mib": _rss_mib()},
        "api": {"seq": state.events.seq, "clients": state.events.listeners,
                "slow_disconnects": state.events.slow_disconnects}})


def _rss_mib() -> float | None:
    """The hub process's resident memory (Linux), for the health page."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _device(request: web.Request) -> Device:
    ref = request.match_info["device"]
    device = state_of(request).devices.find(ref)
    if device is None:
        raise ApiProblem(Code.UNKNOWN_DEVICE, f"no device with the id or name {ref!r}")
    return device


async def list_devices(request: web.Request) -> web.Response:
    """Every device with its state."""
    port = state_of(request).devices
    states = port.states()
    return json_response({"devices": [device_json(d, states.get(d.id, {}))
                                      for d in port.devices()]})


async def get_device(request: web.Request) -> web.Response:
    """One device with its state."""
    device = _device(request)
    return json_response(device_json(device, state_of(request).devices.state(device.id)))


async def patch_device(request: web.Request) -> web.Response:
    """Rename a device or move it to another room."""
    device = _device(request)
    body = await json_body(request, schemas.DEVICE_PATCH)
    port = state_of(request).devices
    try:
        renamed = port.rename(device.id, body.get("name"), body.get("room"))
    except ValueError as exc:
        raise ApiProblem(Code.CONFLICT, str(exc)) from exc
    return json_response(device_json(renamed, port.state(renamed.id)))


async def delete_device(request: web.Request) -> web.Response:
    """Forget a device."""
    device = _device(request)
    state_of(request).devices.remove(device.id)
    return web.Response(status=204)


def make_command(device: Device, name: str, args: dict[str, Any], context: Context,
                 deadline: float | None) -> Command:
    """A checked Command for a device, or the invalid_command problem saying why."""
    capability, _, verb = name.partition(".")
    try:
        cap = Capability(capability)
        checked = validate_args(cap, verb, args)
    except ValueError as exc:
        raise ApiProblem(Code.INVALID_COMMAND, str(exc)) from exc
    if not device.has(cap):
        raise ApiProblem(Code.INVALID_COMMAND, f"{device.name or device.id} has no {cap}")
    return Command(device.id, cap, verb, checked, context, deadline)


async def command(request: web.Request) -> web.Response:
    """Run a command and answer its CommandResult (status and latency)."""
    state = state_of(request)
    device = _device(request)
    body = await json_body(request, schemas.COMMAND)
    deadline = state.clock.monotonic() + body.get("timeout_s", 10.0)
    cmd = make_command(device, body["command"], body.get("args", {}),
                       Context.new(api_origin(token_of(request).client)), deadline)
    result = await state.devices.execute(cmd)
    return json_response(result_json(result))


async def permit_join(request: web.Request) -> web.Response:
    """Let new devices pair with a radio for a while (0 closes)."""
    state = state_of(request)
    radio = request.match_info["radio"]
    if radio not in state.devices.radios():
        raise ApiProblem(Code.UNKNOWN_RADIO, f"no radio {radio!r}; radios: "
                         f"{', '.join(state.devices.radios()) or 'none'}")
    body = await json_body(request, schemas.JOIN)
    await state.devices.permit_join(radio, float(body["duration_s"]))
    return json_response({"radio": radio, "duration_s": body["duration_s"]}, 202)


ROUTES = [
    Route("GET", "/info", info, None, "Who the hub is, its certificate pin, pairing state",
          "getInfo", response=schemas.INFO, tags=("hub",)),
    Route("POST", "/pair", pair, None, "Pair: mint a scoped token (button window or setup code)",
          "pair", body=schemas.PAIR, response=schemas.PAIRED, status=201,
          errors=(400, 403, 413, 415, 422, 423), tags=("auth",)),
    Route("POST", "/pairing", open_pairing, Scope.ADMIN, "Open the pairing window",
          "openPairing", response=schemas.PAIRING_OPEN, errors=(401, 403), tags=("auth",)),
    Route("GET", "/tokens", list_tokens, Scope.ADMIN, "List paired clients' tokens",
          "listTokens", response=schemas.TOKEN_LIST, errors=(401, 403), tags=("auth",)),
    Route("DELETE", "/tokens/{token_id}", revoke_token, Scope.ADMIN, "Revoke a token",
          "revokeToken", status=204, errors=(401, 403, 404), tags=("auth",)),
    Route("GET", "/health", health, Scope.READ, "Radios, tunnel, versions", "getHealth",
          response=schemas.HEALTH, errors=(401, 403), tags=("hub",)),
    Route("GET", "/devices", list_devices, Scope.READ, "List devices with their state",
          "listDevices", response=schemas.DEVICE_LIST, errors=(401, 403), tags=("devices",)),
    Route("GET", "/devices/{device}", get_device, Scope.READ, "One device by id or name",
          "getDevice", response=schemas.DEVICE, errors=(401, 403, 404), tags=("devices",)),
    Route("PATCH", "/devices/{device}", patch_device, Scope.ADMIN, "Rename or move a device",
          "patchDevice", body=schemas.DEVICE_PATCH, response=schemas.DEVICE,
          errors=(400, 401, 403, 404, 409, 413, 415, 422), tags=("devices",)),
    Route("DELETE", "/devices/{device}", delete_device, Scope.ADMIN, "Forget a device",
          "deleteDevice", status=204, errors=(401, 403, 404), tags=("devices",)),
    Route("POST", "/devices/{device}/commands", command, Scope.CONTROL,
          "Run a command; answers the CommandResult", "runCommand", body=schemas.COMMAND,
          response=schemas.COMMAND_RESULT, errors=(400, 401, 403, 404, 413, 415, 422),
          tags=("devices",)),
    Route("POST", "/radios/{radio}/join", permit_join, Scope.ADMIN,
          "Let devices join a radio for duration_s", "permitJoin", body=schemas.JOIN,
          response=schemas.JOIN_RESULT, status=202, errors=(400, 401, 403, 404, 413, 415, 422),
          tags=("radios",)),
]
