"""JSON schemas of the API's bodies, shared by request validation and the OpenAPI document."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

NAME = {"type": "string", "minLength": 1, "maxLength": 100,
        "pattern": r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$"}
VALUE = {"type": ["boolean", "number", "string", "null"]}

CONTEXT: Schema = {
    "type": "object", "required": ["id", "origin", "depth"],
    "properties": {"id": {"type": "string"}, "origin": {"type": "string"},
                   "parent_id": {"type": ["string", "null"]}, "depth": {"type": "integer"}},
}

DEVICE: Schema = {
    "type": "object",
    "required": ["id", "radio", "address", "name", "room", "capabilities", "is_available"],
    "properties": {
        "id": {"type": "string"}, "radio": {"type": "string"}, "address": {"type": "string"},
        "name": {"type": "string"}, "room": {"type": "string"},
        "manufacturer": {"type": "string"}, "model": {"type": "string"},
        "capabilities": {"type": "array", "items": {"type": "string"}},
        "is_available": {"type": "boolean"},
        "state": {"type": "object", "additionalProperties": VALUE},
    },
}

DEVICE_LIST: Schema = {"type": "object", "required": ["devices"],
                       "properties": {"devices": {"type": "array", "items": DEVICE}}}

DEVICE_PATCH: Schema = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"name": NAME, "room": {"type": "string", "maxLength": 100,
                                          "pattern": r"^[^\x00-\x1f]*$"}},
}

COMMAND: Schema = {
    "type": "object", "additionalProperties": False, "required": ["command"],
    "properties": {
        "command": {"type": "string", "pattern": r"^[a-z_]+\.[a-z_]+$", "maxLength": 64},
        "args": {"type": "object", "additionalProperties": VALUE, "maxProperties": 8},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
    },
}

COMMAND_RESULT: Schema = {
    "type": "object",
    "required": ["command_id", "device_id", "command", "status", "latency_s", "context"],
    "properties": {
        "command_id": {"type": "string"}, "device_id": {"type": "string"},
        "command": {"type": "string"}, "args": {"type": "object"},
        "status": {"type": "string", "enum": ["confirmed", "sent", "failed", "expired"]},
        "latency_s": {"type": "number"}, "error": {"type": ["string", "null"]},
        "context": CONTEXT,
    },
}

JOIN: Schema = {
    "type": "object", "additionalProperties": False, "required": ["duration_s"],
    "properties": {"duration_s": {"type": "number", "minimum": 0, "maximum": 254}},
}

JOIN_RESULT: Schema = {"type": "object", "required": ["radio", "duration_s"],
                       "properties": {"radio": {"type": "string"},
                                      "duration_s": {"type": "number"}}}

RULE: Schema = {
    "type": "object",
    "required": ["id", "name", "is_enabled", "reason", "origin"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "is_enabled": {"type": "boolean"}, "reason": {"type": "string"},
        "runs_started": {"type": "integer"}, "runs_skipped": {"type": "integer"},
        "runs_dropped": {"type": "integer"}, "is_running": {"type": "boolean"},
        "origin": {"type": "string", "enum": ["file", "api"]}, "text": {"type": "string"},
    },
}

RULE_LIST: Schema = {"type": "object", "required": ["rules"],
                     "properties": {"rules": {"type": "array", "items": RULE}}}

# A rule or a rules document in JSON: the same shape as the YAML (checked by the rules parser,
# whose errors name the line and field).
RULE_TEXT_JSON: Schema = {"type": ["object", "array"]}
RULE_TEXT_YAML: Schema = {"type": "string"}

DRY_RUN: Schema = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "states": {"type": "array", "maxItems": 100, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["device", "attribute", "value"],
            "properties": {"device": {"type": "string", "maxLength": 200},
                           "attribute": {"type": "string", "maxLength": 100},
                           "value": VALUE}}},
        "at": {"type": "number", "minimum": 0, "maximum": 1e11},
        "trigger": {"type": "string", "maxLength": 100},
    },
}

TRACE: Schema = {"type": "object", "required": ["rule_id", "run_id", "outcome"],
                 "properties": {"rule_id": {"type": "string"}, "run_id": {"type": "string"},
                                "outcome": {"type": "string"}}}

TRACE_LIST: Schema = {"type": "object", "required": ["traces"],
                      "properties": {"traces": {"type": "array", "items": TRACE}}}

SCENE_LIST: Schema = {"type": "object", "required": ["scenes"],
                      "properties": {"scenes": {"type": "array", "items": {"type": "string"}}}}

RESULT_LIST: Schema = {"type": "object", "required": ["results"],
                       "properties": {"results": {"type": "array", "items": COMMAND_RESULT}}}

MODE: Schema = {"type": "object", "additionalProperties": False, "required": ["mode"],
                "properties": {"mode": {"type": "string", "minLength": 1, "maxLength": 64,
                                        "pattern": r"^[A-Za-z0-9_.-]+$"}}}

INFO: Schema = {
    "type": "object", "required": ["id", "name", "version", "api_version", "pin_sha256"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"},
        "api_version": {"type": "string"}, "pin_sha256": {"type": "string"},
        "pairing": {"type": "object", "properties": {
            "is_open": {"type": "boolean"}, "remaining_s": {"type": "number"}}},
    },
}

PAIR: Schema = {
    "type": "object", "additionalProperties": False, "required": ["client"],
    "properties": {
        "client": NAME,
        "scope": {"type": "string", "enum": ["read", "control", "admin"]},
        "code": {"type": "string", "maxLength": 32},
    },
}

TOKEN_RECORD: Schema = {
    "type": "object", "required": ["id", "scope", "client", "created"],
    "properties": {"id": {"type": "string"}, "scope": {"type": "string"},
                   "client": {"type": "string"}, "created": {"type": "number"},
                   "last_used": {"type": ["number", "null"]}},
}

PAIRED: Schema = {"type": "object", "required": ["token", "id", "scope", "client"],
                  "properties": {"token": {"type": "string"}, **TOKEN_RECORD["properties"]}}

TOKEN_LIST: Schema = {"type": "object", "required": ["tokens"],
                      "properties": {"tokens": {"type": "array", "items": TOKEN_RECORD}}}

PAIRING_OPEN: Schema = {"type": "object", "required": ["remaining_s"],
                        "properties": {"remaining_s": {"type": "number"}}}

HEALTH: Schema = {
    "type": "object", "required": ["status", "radios", "versions"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "radios": {"type": "array", "items": {
            "type": "object", "required": ["radio", "status"],
            "properties": {"radio": {"type": "string"}, "status": {"type": "string"},
                           "detail": {"type": "string"}, "ts": {"type": ["number", "null"]}}}},
        "tunnel": {"type": ["object", "null"]},
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "api": {"type": "object"},
        "process": {"type": "object", "properties": {
            "uptime_s": {"type": "number"}, "rss_mib": {"type": ["number", "null"]}}},
    },
}

EMPTY: Schema = {"type": "object", "additionalProperties": False, "maxProperties": 0}

UPDATE_STATUS: Schema = {
    "type": "object",
    "required": ["running_version", "booted_slot", "phase", "version", "done_bytes",
                 "total_bytes", "reason", "is_busy", "max_bundle_bytes"],
    "properties": {
        "running_version": {"type": "string"}, "booted_slot": {"type": "string"},
        "phase": {"type": "string", "enum": ["idle", "receiving", "verifying", "writing",
                                             "hashing", "committed", "rebooting", "failed"]},
        "version": {"type": "string"}, "done_bytes": {"type": "integer"},
        "total_bytes": {"type": "integer"}, "reason": {"type": "string"},
        "is_busy": {"type": "boolean"}, "max_bundle_bytes": {"type": "integer"},
        "last_event": {"type": ["object", "null"]},
    },
}

BUNDLE: Schema = {"type": "string", "format": "binary"}
