"""The aiohttp application: its state, the route table, and the middlewares every call passes.

Order of the guards, outermost first: problems (every error becomes problem+json), no token in
a URL, the per-client rate limit, then the route's scope (``Authorization: Bearer`` only).
Routes are declared as data (``Route``) so that the OpenAPI document is built from the same
table that serves them, and request bodies are checked against the schemas it publishes.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from aiohttp import web

from hubd.api.auth import TOKEN_PREFIX, Pairing, RateLimiter, Scope, TokenBook
from hubd.api.events import EventLog
from hubd.api.ports import DevicesPort, HubInfo, RulesPort, TokenInfo, UpdatesPort
from hubd.api.problems import ApiProblem, Code
from hubd.api.settings import API_VERSION, ApiSettings
from hubd.core.clock import Clock

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
_URL_SECRET_NAMES = frozenset({"token", "access_token", "bearer", "auth", "authorization",
                               "api_key", "apikey", "key"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class ApiState:
    """Everything the handlers use, reached as ``request.app[STATE]``."""

    settings: ApiSettings
    info: HubInfo
    pin_sha256: str
    clock: Clock
    devices: DevicesPort
    rules: RulesPort | None
    tokens: TokenBook
    pairing: Pairing
    limiter: RateLimiter
    events: EventLog
    url: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    health_extra: Callable[[], Mapping[str, Any]] | None = None
    started_s: float = 0.0  # clock.monotonic() when the API started
    updates: UpdatesPort | None = None  # None: this hub takes no update bundles


STATE = web.AppKey("hubd_api_state", ApiState)
TOKEN = web.RequestKey("hubd_token", TokenInfo)  # the token a request was authenticated with


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: method, path, handler, the scope it needs and its OpenAPI description."""

    method: str
    path: str
    handler: Handler
    scope: Scope | None  # None: open to anyone
    summary: str
    operation_id: str
    body: Mapping[str, Any] | None = None  # JSON schema of the request body
    response: Mapping[str, Any] | None = None  # JSON schema of the success body
    status: int = 200
    errors: tuple[int, ...] = ()
    body_types: tuple[str, ...] = ("application/json",)
    tags: tuple[str, ...] = ()


def state_of(request: web.Request) -> ApiState:
    """The API's state."""
    return request.app[STATE]


def token_of(request: web.Request) -> TokenInfo:
    """The token the request was authenticated with."""
    return request[TOKEN]


def client_of(request: web.Request) -> str:
    """Who is calling, for the rate limit: the peer's address."""
    return request.remote or "unknown"


def json_response(body: object, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps(body, separators=(",", ":"), default=str))


_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}


async def json_body(request: web.Request, schema: Mapping[str, Any]) -> Any:
    """The request's JSON body, checked against the route's schema, or a problem."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiProblem(Code.BODY_TOO_LARGE, exc.text or "the body is too large") from exc
    if request.content_type not in ("application/json", "application/octet-stream") \
            and raw and request.content_type != "":
        raise ApiProblem(Code.UNSUPPORTED_MEDIA_TYPE,
                         f"send application/json, not {request.content_type}")
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(Code.INVALID_JSON, f"the body is not JSON: {exc}") from exc
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
        raise ApiProblem(Code.INVALID_BODY, f"{where}: {error.message}", pointer=where)
    return body


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate(state: ApiState, secret: str | None, needed: Scope) -> TokenInfo:
    """The token for a secret if it allows ``needed``, or the problem saying why not."""
    if secret is None:
        raise ApiProblem(Code.UNAUTHORIZED, "send Authorization: Bearer <token> (pair first: "
                         "POST /api/v1/pair)")
    info = state.tokens.check(secret)
    if info is None:
        raise ApiProblem(Code.UNAUTHORIZED, "unknown or revoked token")
    if not Scope(info.scope).allows(needed):
        raise ApiProblem(Code.INSUFFICIENT_SCOPE, f"this needs the {needed} scope; the token "
                         f"has {info.scope}", needed=str(needed))
    return info


def _scope_of(request: web.Request) -> Scope | None:
    route = request.match_info.route
    scope: Scope | None = getattr(route.handler, "hubd_scope", None)
    return scope


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json; the daemon never falls over on a request."""
    try:
        return await handler(request)
    except ApiProblem as problem:
        return problem.response(request.path)
    except web.HTTPRequestEntityTooLarge as exc:
        return ApiProblem(Code.BODY_TOO_LARGE, exc.text or "the body is too large"
                          ).response(request.path)
    except web.HTTPMethodNotAllowed as exc:
        return ApiProblem(Code.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here",
                          headers={"Allow": ", ".join(sorted(exc.allowed_methods))}
                          ).response(request.path)
    except web.HTTPNotFound:
        return ApiProblem(Code.NOT_FOUND, f"nothing at {request.path}").response(request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return ApiProblem(Code.INVALID_BODY if exc.status < 500 else Code.INTERNAL,
                          exc.text or exc.reason).response(request.path)
    except Exception:
        log.exception("event=api_error method=%s path=%s", request.method, request.path)
        return ApiProblem(Code.INTERNAL, "the hub failed on this request; it is logged"
                          ).response(request.path)


@web.middleware
async def guards(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No token in the URL, the rate limit, then the route's scope."""
    for name, value in request.query.items():
        if name.lower() in _URL_SECRET_NAMES or value.startswith(TOKEN_PREFIX):
            raise ApiProblem(Code.TOKEN_IN_URL, "send the token in the Authorization header; "
                             "a URL ends up in logs and histories")
    state = state_of(request)
    wait_s = state.limiter.take(client_of(request))
    if wait_s > 0:
        retry = max(1, math.ceil(wait_s))
        raise ApiProblem(Code.RATE_LIMITED, f"slow down: retry in {retry} s",
                         headers={"Retry-After": str(retry)})
    scope = _scope_of(request)
    if scope is not None:
        info = authenticate(state, _bearer(request), scope)
        request[TOKEN] = info
        touched = state.tokens.used(info)
        if touched is not None:
            await state.tokens.persist_use(touched)
    return await handler(request)


def build_app(state: ApiState, routes: list[Route],
              extra: Callable[[web.Application], None] | None = None) -> web.Application:
    """The application serving these routes (under /api/v1) with its guards."""
    app = web.Application(middlewares=[problems, guards],
                          client_max_size=state.settings.max_body_bytes)
    app[STATE] = state
    for route in routes:
        handler = _scoped(route)
        app.router.add_route(route.method, PREFIX + route.path, handler)
    if extra is not None:
        extra(app)
    return app


def _scoped(route: Route) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await route.handler(request)

    handler.hubd_scope = route.scope  # type: ignore[attr-defined]
    handler.__name__ = route.operation_id
    return handler


def api_versions(version: str) -> dict[str, str]:
    """The versions /info and /health report."""
    import platform

    return {"hubd": version, "api": API_VERSION, "python": platform.python_version()}
