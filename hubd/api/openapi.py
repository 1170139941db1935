"""The OpenAPI 3.1 document, built from the route table that serves the API (so they match)."""

from __future__ import annotations

import re
from typing import Any

from hubd.api.app import PREFIX, Route
from hubd.api.problems import problem_schema
from hubd.api.settings import API_VERSION

_PARAM = re.compile(r"{(\w+)}")
_DESCRIPTIONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content",
                 400: "Bad request", 401: "Not paired / bad token", 403: "Forbidden",
                 404: "Not found", 409: "Conflict", 413: "Body too large",
                 415: "Unsupported media type", 422: "Invalid", 423: "Locked",
                 429: "Rate limited", 503: "Unavailable"}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary,
                          "tags": list(route.tags)}
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in _PARAM.findall(route.path)]
    if params:
        op["parameters"] = params
    if route.scope is not None:
        op["security"] = [{"bearer": [str(route.scope)]}]
    else:
        op["security"] = []
    if route.body is not None:
        content: dict[str, Any] = {"application/json": {"schema": route.body}}
        if "application/octet-stream" in route.body_types:
            content = {"application/octet-stream": {"schema": route.body}}
        if "application/yaml" in route.body_types:
            content["application/yaml"] = {"schema": {"type": "string"}}
        op["requestBody"] = {"required": True, "content": content}
    ok: dict[str, Any] = {"description": _DESCRIPTIONS[route.status]}
    if route.response is not None:
        ok["content"] = {"application/json": {"schema": route.response}}
    responses: dict[str, Any] = {str(route.status): ok}
    for status in sorted({*route.errors, 429}):
        responses[str(status)] = {
            "description": _DESCRIPTIONS.get(status, "Problem"),
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}
    op["responses"] = responses
    return op


def document(routes: list[Route], title: str = "hubd LAN API") -> dict[str, Any]:
    """The OpenAPI 3.1 document of these routes."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": API_VERSION,
                 "description": "The hub's local API. Pair with POST /api/v1/pair, then send "
                                "Authorization: Bearer <token>. Errors are RFC 9457 "
                                "problem+json. Events and commands also go over the WebSocket "
                                "at /api/v1/ws."},
        "paths": paths,
        "components": {
            "schemas": {"Problem": problem_schema()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
