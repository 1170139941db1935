"""RFC 9457 problem details: stable codes, the exception that carries one, the JSON it becomes.

Every error answer of the API is ``application/problem+json`` with ``type``
(``urn:hubd:problem:<code>``), ``title``, ``status``, ``detail``, ``instance`` and ``code``; the
code is the stable name clients switch on (RFC 9457 §3.1: ``type`` identifies the problem type).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from aiohttp import web

from hubd.core.errors import HubError

PROBLEM_JSON = "application/problem+json"


class Code(StrEnum):
    """The stable problem codes; their HTTP status and title are in ``PROBLEMS``."""

    UNAUTHORIZED = "unauthorized"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    TOKEN_IN_URL = "token_in_url"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    PAIRING_CLOSED = "pairing_closed"
    PAIRING_LOCKED = "pairing_locked"
    BAD_SETUP_CODE = "bad_setup_code"
    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_RADIO = "unknown_radio"
    UNKNOWN_RULE = "unknown_rule"
    UNKNOWN_SCENE = "unknown_scene"
    UNKNOWN_TOKEN = "unknown_token"
    INVALID_COMMAND = "invalid_command"
    RULE_INVALID = "rule_invalid"
    CONFLICT = "conflict"
    UPDATE_REJECTED = "update_rejected"
    UPDATE_BUSY = "update_busy"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


PROBLEMS: dict[Code, tuple[int, str]] = {
    Code.UNAUTHORIZED: (401, "A bearer token is needed"),
    Code.INSUFFICIENT_SCOPE: (403, "The token's scope does not allow this"),
    Code.TOKEN_IN_URL: (400, "Tokens are never accepted in a URL"),
    Code.NOT_FOUND: (404, "No such resource"),
    Code.METHOD_NOT_ALLOWED: (405, "Method not allowed on this resource"),
    Code.INVALID_JSON: (400, "The body is not valid JSON"),
    Code.INVALID_BODY: (422, "The body does not match the schema"),
    Code.BODY_TOO_LARGE: (413, "The body is too large"),
    Code.UNSUPPORTED_MEDIA_TYPE: (415, "Unsupported media type"),
    Code.RATE_LIMITED: (429, "Too many requests"),
    Code.PAIRING_CLOSED: (403, "Pairing is closed"),
    Code.PAIRING_LOCKED: (423, "Pairing is locked after wrong setup codes"),
    Code.BAD_SETUP_CODE: (403, "Wrong setup code"),
    Code.UNKNOWN_DEVICE: (404, "No such device"),
    Code.UNKNOWN_RADIO: (404, "No such radio"),
    Code.UNKNOWN_RULE: (404, "No such rule"),
    Code.UNKNOWN_SCENE: (404, "No such scene"),
    Code.UNKNOWN_TOKEN: (404, "No such token"),
    Code.INVALID_COMMAND: (422, "The command is not valid for this device"),
    Code.RULE_INVALID: (422, "The rule is not valid"),
    Code.CONFLICT: (409, "Conflict"),
    Code.UPDATE_REJECTED: (422, "The update bundle was refused; nothing changed"),
    Code.UPDATE_BUSY: (409, "An update is under way"),
    Code.UNAVAILABLE: (503, "Not available now"),
    Code.INTERNAL: (500, "Internal error"),
}


class ApiProblem(HubError):
    """An error answer: a stable code, a detail for people, extra members and headers."""

    def __init__(self, code: Code, detail: str = "", *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        self.code = code
        self.status, self.title = PROBLEMS[code]
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")

    def body(self, instance: str) -> dict[str, Any]:
        """The problem document."""
        return {"type": f"urn:hubd:problem:{self.code}", "title": self.title,
                "status": self.status, "detail": self.detail, "instance": instance,
                "code": str(self.code), **self.extra}

    def response(self, instance: str) -> web.Response:
        """The problem as an HTTP response."""
        headers = dict(self.headers)
        if self.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="hubd"')
        return web.Response(status=self.status, headers=headers, content_type=PROBLEM_JSON,
                            text=json.dumps(self.body(instance)))


def problem_schema() -> dict[str, Any]:
    """The JSON schema of a problem document (for the OpenAPI document)."""
    return {
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string", "enum": [str(c) for c in Code]},
        },
    }
