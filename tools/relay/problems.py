"""The relay API's JSON at the HTTP edge: problem+json answers (RFC 9457) and request bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def problem(status: int, title: str, detail: str, **extra: Any) -> web.Response:
    """An application/problem+json answer; ``extra`` adds members (RFC 9457 3.2)."""
    return web.Response(status=status, content_type="application/problem+json",
                        text=json.dumps({"type": "about:blank", "title": title,
                                         "status": status, "detail": detail, **extra}))


async def json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's body as a JSON object, or the 400 answer that says why it is not one."""
    try:
        data = await request.json()
    except ValueError:
        return problem(400, "Bad request", "the body is not JSON")
    if not isinstance(data, dict):
        return problem(400, "Bad request", "the body must be a JSON object")
    return data
