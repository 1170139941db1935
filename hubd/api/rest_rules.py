"""REST handlers for rules (YAML or JSON, with located errors), traces, dry runs, scenes, mode."""

from __future__ import annotations

import json
from dataclasses import asdict

from aiohttp import web

from hubd.api import schemas
from hubd.api.app import Route, json_body, json_response, state_of, token_of
from hubd.api.auth import Scope
from hubd.api.ports import (
    RuleInfo,
    RuleRejectedError,
    RulesPort,
    UnknownRuleError,
    UnknownSceneError,
)
from hubd.api.problems import ApiProblem, Code
from hubd.api.serialize import result_json, rule_json
from hubd.core.model import api_origin

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


def _port(request: web.Request) -> RulesPort:
    port = state_of(request).rules
    if port is None:
        raise ApiProblem(Code.UNAVAILABLE, "this hub runs no rule engine (no [rules] dir)")
    return port


def _rule(port: RulesPort, rule_id: str) -> RuleInfo:
    try:
        return port.rule(rule_id)
    except UnknownRuleError as exc:
        raise ApiProblem(Code.UNKNOWN_RULE, f"no rule {rule_id!r}") from exc


def _rejected(exc: RuleRejectedError) -> ApiProblem:
    return ApiProblem(Code.RULE_INVALID, str(exc), errors=[asdict(e) for e in exc.errors])


async def _rule_text(request: web.Request) -> str:
    """The rule text of a request: YAML as it is, JSON checked to be JSON (YAML reads it)."""
    if request.content_type in YAML_TYPES:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise ApiProblem(Code.BODY_TOO_LARGE, exc.text or "the body is too large"
                             ) from exc
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiProblem(Code.INVALID_BODY, f"the rule text is not UTF-8: {exc}") from exc
    body = await json_body(request, schemas.RULE_TEXT_JSON)
    # Re-encoded one member per line, so that the parser's line numbers point somewhere useful.
    return json.dumps(body, indent=1, ensure_ascii=False)


async def list_rules(request: web.Request) -> web.Response:
    """Every loaded rule and its status."""
    return json_response({"rules": [rule_json(r) for r in _port(request).rules()]})


async def get_rule(request: web.Request) -> web.Response:
    """One rule, with the text it was created from."""
    rule = _rule(_port(request), request.match_info["rule_id"])
    return json_response({**rule_json(rule), "text": rule.text})


async def apply_rules(request: web.Request) -> web.Response:
    """Create or replace every rule of a YAML or JSON document."""
    port = _port(request)
    text = await _rule_text(request)
    try:
        applied = await port.apply(text, f"api:{token_of(request).client}", None)
    except RuleRejectedError as exc:
        raise _rejected(exc) from exc
    return json_response({"rules": [rule_json(r) for r in applied]})


async def put_rule(request: web.Request) -> web.Response:
    """Create or replace one rule (its text must hold exactly that rule)."""
    port = _port(request)
    text = await _rule_text(request)
    try:
        applied = await port.apply(text, f"api:{token_of(request).client}",
                                   request.match_info["rule_id"])
    except RuleRejectedError as exc:
        raise _rejected(exc) from exc
    return json_response(rule_json(applied[0]))


async def delete_rule(request: web.Request) -> web.Response:
    """Delete a rule created through the API."""
    port = _port(request)
    rule = _rule(port, request.match_info["rule_id"])
    if rule.origin != "api":
        raise ApiProblem(Code.CONFLICT, f"rule {rule.id!r} comes from a rules file: edit or "
                         "remove it there, or disable it")
    await port.delete(rule.id)
    return web.Response(status=204)


async def _set_enabled(request: web.Request, is_enabled: bool) -> web.Response:
    port = _port(request)
    rule = _rule(port, request.match_info["rule_id"])
    try:
        return json_response(rule_json(port.set_enabled(rule.id, is_enabled)))
    except RuleRejectedError as exc:
        raise _rejected(exc) from exc


async def enable_rule(request: web.Request) -> web.Response:
    """Enable a rule."""
    return await _set_enabled(request, True)


async def disable_rule(request: web.Request) -> web.Response:
    """Disable a rule (its runs are cancelled)."""
    return await _set_enabled(request, False)


async def traces(request: web.Request) -> web.Response:
    """The last runs of a rule."""
    port = _port(request)
    rule = _rule(port, request.match_info["rule_id"])
    return json_response({"traces": list(port.traces(rule.id))})


async def dry_run(request: web.Request) -> web.Response:
    """What a run of the rule would do with these states at this time; nothing is sent."""
    port = _port(request)
    rule = _rule(port, request.match_info["rule_id"])
    body = await json_body(request, schemas.DRY_RUN)
    states = [(s["device"], s["attribute"], s["value"]) for s in body.get("states", [])]
    try:
        trace = port.dry_run(rule.id, states, body.get("at"), body.get("trigger"))
    except ValueError as exc:
        raise ApiProblem(Code.INVALID_BODY, str(exc)) from exc
    return json_response(dict(trace))


async def list_scenes(request: web.Request) -> web.Response:
    """The known scenes."""
    return json_response({"scenes": list(_port(request).scenes())})


async def apply_scene(request: web.Request) -> web.Response:
    """Apply a scene; answers each command's result."""
    port = _port(request)
    origin = api_origin(token_of(request).client)
    try:
        results = await port.apply_scene(request.match_info["scene"], origin)
    except UnknownSceneError as exc:
        raise ApiProblem(Code.UNKNOWN_SCENE, str(exc)) from exc
    return json_response({"results": [result_json(r) for r in results]})


async def get_mode(request: web.Request) -> web.Response:
    """The hub mode (home, away, night...)."""
    return json_response({"mode": _port(request).mode()})


async def put_mode(request: web.Request) -> web.Response:
    """Set the hub mode."""
    port = _port(request)
    body = await json_body(request, schemas.MODE)
    port.set_mode(body["mode"])
    return json_response({"mode": port.mode()})


_RULE_ERRORS = (401, 403, 404, 503)
_TEXT = ("application/json", "application/yaml")

ROUTES = [
    Route("GET", "/rules", list_rules, Scope.READ, "List rules", "listRules",
          response=schemas.RULE_LIST, errors=(401, 403, 503), tags=("rules",)),
    Route("POST", "/rules", apply_rules, Scope.ADMIN,
          "Create or replace the rules of a YAML or JSON document", "applyRules",
          body=schemas.RULE_TEXT_JSON, response=schemas.RULE_LIST, body_types=_TEXT,
          errors=(400, 401, 403, 413, 415, 422, 503), tags=("rules",)),
    Route("GET", "/rules/{rule_id}", get_rule, Scope.READ, "One rule and its text", "getRule",
          response=schemas.RULE, errors=_RULE_ERRORS, tags=("rules",)),
    Route("PUT", "/rules/{rule_id}", put_rule, Scope.ADMIN, "Create or replace one rule",
          "putRule", body=schemas.RULE_TEXT_JSON, response=schemas.RULE, body_types=_TEXT,
          errors=(400, 401, 403, 413, 415, 422, 503), tags=("rules",)),
    Route("DELETE", "/rules/{rule_id}", delete_rule, Scope.ADMIN, "Delete a rule made by the API",
          "deleteRule", status=204, errors=(*_RULE_ERRORS, 409), tags=("rules",)),
    Route("POST", "/rules/{rule_id}/enable", enable_rule, Scope.ADMIN, "Enable a rule",
          "enableRule", response=schemas.RULE, errors=(*_RULE_ERRORS, 422), tags=("rules",)),
    Route("POST", "/rules/{rule_id}/disable", disable_rule, Scope.ADMIN, "Disable a rule",
          "disableRule", response=schemas.RULE, errors=(*_RULE_ERRORS, 422), tags=("rules",)),
    Route("GET", "/rules/{rule_id}/traces", traces, Scope.READ, "The last runs of a rule",
          "getTraces", response=schemas.TRACE_LIST, errors=_RULE_ERRORS, tags=("rules",)),
    Route("POST", "/rules/{rule_id}/dry-run", dry_run, Scope.READ,
          "Simulate a run with given states and time", "dryRun", body=schemas.DRY_RUN,
          response=schemas.TRACE, errors=(*_RULE_ERRORS, 400, 413, 415, 422), tags=("rules",)),
    Route("GET", "/scenes", list_scenes, Scope.READ, "List scenes", "listScenes",
          response=schemas.SCENE_LIST, errors=(401, 403, 503), tags=("scenes",)),
    Route("POST", "/scenes/{scene}/apply", apply_scene, Scope.CONTROL, "Apply a scene",
          "applyScene", response=schemas.RESULT_LIST, errors=(401, 403, 404, 503),
          tags=("scenes",)),
    Route("GET", "/mode", get_mode, Scope.READ, "The hub mode", "getMode",
          response=schemas.MODE, errors=(401, 403, 503), tags=("modes",)),
    Route("PUT", "/mode", put_mode, Scope.CONTROL, "Set the hub mode", "setMode",
          body=schemas.MODE, response=schemas.MODE, errors=(400, 401, 403, 413, 415, 422, 503),
          tags=("modes",)),
]
