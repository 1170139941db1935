"""The daemon's side of the LAN API: adapters that implement its ports over the Hub, the store
and the rules engine, and the component that runs it (hubd.api never imports these).

Rules created through the API are kept in the store's rules table (source ``api``, body: the
text they came from) and loaded again at boot beside the rules directory's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

import hubd
from hubd.api.auth import new_setup_code
from hubd.api.ports import (
    HubInfo,
    RuleError,
    RuleInfo,
    RuleRejectedError,
    TokenInfo,
    UnknownRuleError,
    UnknownSceneError,
)
from hubd.api.server import ApiServer
from hubd.core.errors import InvalidValueError, UnknownDeviceError
from hubd.core.events import CommandResult, DeviceJoined, DeviceLeft, RadioHealth
from hubd.core.model import Capability, Command, Context, Device, Origin, Value, validate_value
from hubd.core.state import StateEntry
from hubd.hub import Hub
from hubd.provision import HubIdentity, read_identity
from hubd.store import RuleRow, Snapshot, Store, TokenRow, WriteBehind
from hubd.supervise import supervise
from rules.engine import RuleEngine
from rules.model import HubStartedTrigger, Loc, Rule, RuleProblem, Scene, SceneAction
from rules.parse import (
    Document,
    RuleTextError,
    link_scenes,
    parse_document,
    parse_rule_text,
    read_rules_dir,
)
from rules.resolve import Resolver
from rules.yamlnode import Invalid, compose

if TYPE_CHECKING:
    from hubd.daemon import Daemon

log = logging.getLogger(__name__)

API_SOURCE = "api"


class HubDevices:
    """DevicesPort over the Hub."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def devices(self) -> Sequence[Device]:
        """Every known device."""
        return list(self._hub.state.devices())

    def find(self, ref: str) -> Device | None:
        """A device by id or unique name."""
        try:
            return self._hub.state.resolve(ref)
        except UnknownDeviceError:
            return None

    def state(self, device_id: str) -> Mapping[str, Value]:
        """The last known values of a device's attributes."""
        return {e.attribute: e.value for e in self._hub.state.entries(device_id)}

    def states(self) -> Mapping[str, Mapping[str, Value]]:
        """Every device's values, grouped in one pass over the state."""
        grouped: dict[str, dict[str, Value]] = {}
        for entry in self._hub.state.entries():
            grouped.setdefault(entry.device_id, {})[entry.attribute] = entry.value
        return grouped

    def rename(self, device_id: str, name: str | None, room: str | None) -> Device:
        """Rename or move a device; says so on the bus (a DeviceJoined with the new details)."""
        device = self._hub.state.resolve(device_id)
        renamed = self._hub.state.rename(device.id, name or device.name, room)
        self._hub.bus.publish(DeviceJoined(renamed, self._hub.clock.time(),
                                           Context.new(Origin.DIGITAL)))
        return renamed

    def remove(self, device_id: str) -> None:
        """Forget a device (the radio may announce it again if it is still paired)."""
        self._hub.report(DeviceLeft(device_id, self._hub.clock.time(),
                                    Context.new(Origin.DIGITAL)))

    async def execute(self, command: Command) -> CommandResult:
        """Run a command on its radio."""
        return await self._hub.execute(command)

    def radios(self) -> Sequence[str]:
        """The running radios."""
        return list(self._hub.drivers)

    def health(self) -> Sequence[RadioHealth]:
        """Each radio's last health."""
        return list(self._hub.health.values())

    async def permit_join(self, radio: str, duration_s: float) -> None:
        """Open (or close) a radio's network for joining."""
        await self._hub.drivers[radio].permit_join(duration_s)


class StoreTokens:
    """TokensPort over the store's tokens table (in the store's thread)."""

    def __init__(self, writer: WriteBehind) -> None:
        self._writer = writer

    async def load(self) -> Sequence[tuple[TokenInfo, str]]:
        """Every token and its hash."""
        rows = await self._writer.call(Store.load_tokens)
        return [(TokenInfo(r.id, r.scope, r.client, r.created, r.last_used), r.hash)
                for r in rows]

    async def add(self, token: TokenInfo, token_hash: str) -> None:
        """Keep a token's hash."""
        row = TokenRow(token.id, token_hash, token.scope, token.client, token.created)
        await self._writer.call(lambda store: store.token_add(row))

    async def delete(self, token_id: str) -> bool:
        """Revoke a token."""
        return await self._writer.call(lambda store: store.token_delete(token_id))

    async def touch(self, token_id: str, ts: float) -> None:
        """Record a use."""
        await self._writer.call(lambda store: store.token_touch(token_id, ts))


@dataclass(frozen=True, slots=True)
class _Kept:
    rule: Rule
    origin: str
    text: str


def parse_text(text: str, file: str, scenes: Sequence[Scene]
               ) -> tuple[list[Rule], list[RuleProblem]]:
    """The rules of an API text: one rule (a mapping with an id) or a rules document; scene
    actions are linked to the text's scenes and to ``scenes`` (the rules directory's)."""
    try:
        return _parse_text(text, file, scenes)
    except yaml.YAMLError as exc:  # what the rules parser lets through (unprintable characters)
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [], [RuleProblem(file, line, "", f"not YAML: {exc}")]


def _parse_text(text: str, file: str, scenes: Sequence[Scene]
                ) -> tuple[list[Rule], list[RuleProblem]]:
    try:
        root = compose(text, file)
    except Invalid as exc:
        return [], [exc.problem]
    if root is not None and root.is_mapping() and "id" in root.mapping():
        try:
            return [parse_rule_text(text, file, scenes)], []
        except RuleTextError as exc:
            return [], list(exc.problems)
    doc = parse_document(text, file)
    rules, problems = link_scenes(doc.rules, [*doc.scenes, *scenes])
    return rules, doc.problems + problems


def _errors(problems: Sequence[RuleProblem]) -> list[RuleError]:
    return [RuleError(p.file, p.line, p.field, p.message, p.rule_id) for p in problems]


class EngineRules:
    """RulesPort over the rules engine, the rules directory and the store's rules table."""

    def __init__(self, engine: RuleEngine, hub: Hub, writer: WriteBehind, doc: Document
                 ) -> None:
        self._engine = engine
        self._hub = hub
        self._writer = writer
        self._kept: dict[str, _Kept] = {r.id: _Kept(r, "file", "") for r in doc.rules}
        self._scene_list = list(doc.scenes)
        self._scenes: dict[str, Scene] = {s.name: s for s in doc.scenes}

    async def load_saved(self) -> list[RuleProblem]:
        """Add the rules created through the API on earlier runs; returns their problems."""
        rows = await self._writer.call(Store.load_rules)
        problems: list[RuleProblem] = []
        for row in rows:
            if row.source != API_SOURCE or row.id in self._kept:
                continue
            rules, found = parse_text(row.body, f"api:{row.id}", self._scene_list)
            problems += found
            for rule in rules:
                if rule.id == row.id:
                    self._kept[rule.id] = _Kept(rule, API_SOURCE, row.body)
        if rows:
            self._reload()
        return problems

    def _reload(self) -> None:
        """Load every rule again (forgets every rule's runs and timers)."""
        self._engine.load([k.rule for k in self._kept.values()], self._scene_list)

    def _put_one(self, rule: Rule) -> None:
        """Create or replace one rule, keeping the others' runs and timers when the engine can
        (its put_rule); an engine without it gets every rule loaded again."""
        put_rule = getattr(self._engine, "put_rule", None)
        if put_rule is None:
            self._reload()
        else:
            put_rule(rule)

    def _remove_one(self, rule_id: str) -> None:
        remove_rule = getattr(self._engine, "remove_rule", None)
        if remove_rule is None:
            self._reload()
        else:
            remove_rule(rule_id)

    def _info(self, rule_id: str) -> RuleInfo:
        kept = self._kept.get(rule_id)
        try:
            s = self._engine.status(rule_id)
        except KeyError as exc:
            raise UnknownRuleError(rule_id) from exc
        return RuleInfo(s.rule_id, s.name, s.is_enabled, s.reason, s.runs_started,
                        s.runs_skipped, s.runs_dropped, s.is_running,
                        kept.origin if kept else "file", kept.text if kept else "")

    def rules(self) -> Sequence[RuleInfo]:
        """Every loaded rule."""
        return [self._info(s.rule_id) for s in self._engine.statuses()]

    def rule(self, rule_id: str) -> RuleInfo:
        """One rule."""
        return self._info(rule_id)

    async def apply(self, text: str, file: str, rule_id: str | None) -> Sequence[RuleInfo]:
        """Check, keep and load the rules of a text; nothing changes if any is wrong."""
        rules, problems = parse_text(text, file, self._scene_list)
        if not problems and not rules:
            problems = [RuleProblem(file, 1, "", "the text holds no rule")]
        if rule_id is not None and not problems and [r.id for r in rules] != [rule_id]:
            problems = [RuleProblem(file, 1, "id", f"the text must hold exactly the rule "
                                    f"{rule_id!r}, not {', '.join(r.id for r in rules)}")]
        resolver = Resolver(self._hub.state)
        for rule in rules:
            kept = self._kept.get(rule.id)
            if kept is not None and kept.origin != API_SOURCE:
                problems.append(RuleProblem.at(rule.loc, f"rule {rule.id!r} comes from a rules "
                                               "file; edit it there", rule.id))
            problems += resolver.resolve(rule)[1]
        if problems:
            raise RuleRejectedError(_errors(problems))
        for rule in rules:
            await self._put(RuleRow(rule.id, API_SOURCE, text))
            self._kept[rule.id] = _Kept(rule, API_SOURCE, text)
            self._put_one(rule)
        return [self._info(r.id) for r in rules]

    async def _put(self, row: RuleRow) -> None:
        await self._writer.call(lambda store: store.rule_put(row))

    async def delete(self, rule_id: str) -> None:
        """Delete a rule made through the API."""
        if rule_id not in self._kept:
            raise UnknownRuleError(rule_id)
        await self._writer.call(lambda store: store.rule_delete(rule_id))
        del self._kept[rule_id]
        self._remove_one(rule_id)

    def set_enabled(self, rule_id: str, is_enabled: bool) -> RuleInfo:
        """Enable or disable a rule (persisted by the engine)."""
        self._info(rule_id)
        if is_enabled:
            problems = self._engine.enable(rule_id)
            if problems:
                raise RuleRejectedError(_errors(problems))
        else:
            self._engine.disable(rule_id, "disabled through the API")
        return self._info(rule_id)

    def traces(self, rule_id: str) -> Sequence[Mapping[str, Any]]:
        """The last traces, as JSON objects."""
        self._info(rule_id)
        return [json.loads(t.to_json()) for t in self._engine.traces(rule_id)]

    def dry_run(self, rule_id: str, states: Sequence[tuple[str, str, Value]],
                at: float | None, trigger_id: str | None) -> Mapping[str, Any]:
        """A simulated run; ValueError names a bad device, attribute or value."""
        kept = self._kept.get(rule_id)
        if kept is None:
            raise UnknownRuleError(rule_id)
        now = self._hub.clock.time() if at is None else at
        entries = []
        for ref, attribute, value in states:
            try:
                device = self._hub.state.resolve(ref)
            except UnknownDeviceError as exc:
                raise InvalidValueError(f"no device {ref!r}") from exc
            entries.append(StateEntry(device.id, attribute, validate_value(attribute, value),
                                      now))
        trace = self._engine.dry_run(kept.rule, entries, now, trigger_id)
        body: Mapping[str, Any] = json.loads(trace.to_json())
        return body

    def scenes(self) -> Sequence[str]:
        """The scenes of the rules directory."""
        return sorted(self._scenes)

    async def apply_scene(self, name: str, origin: str) -> Sequence[CommandResult]:
        """Send the commands that make a scene's states so."""
        scene = next((s for n, s in self._scenes.items() if n.casefold() == name.casefold()),
                     None)
        if scene is None:
            raise UnknownSceneError(f"no scene {name!r}")
        loc = Loc("api", 1, "scene")
        probe = Rule(loc, "scene", name, (HubStartedTrigger(loc, "0"),),
                     actions=(SceneAction(loc, scene.name, scene),))
        resolved, problems = Resolver(self._hub.state).resolve(probe)
        if resolved is None:
            raise UnknownSceneError(f"scene {name!r} cannot be applied: {problems[0]}")
        action = resolved.actions[0]
        assert isinstance(action, SceneAction)
        context = Context.new(origin)
        results = []
        for step in action.commands:
            capability, _, verb = step.command.partition(".")
            results.append(await self._hub.execute(
                Command(step.device, Capability(capability), verb, step.args, context)))
        return results

    def mode(self) -> str:
        """The hub mode."""
        return self._engine.mode

    def set_mode(self, mode: str) -> None:
        """Set the hub mode."""
        self._engine.set_mode(mode)


def hub_identity(meta: Mapping[str, str], writer: WriteBehind, name: str, version: str,
                 provisioned: HubIdentity | None = None) -> tuple[HubInfo, str]:
    """The hub's id and setup code: provisioned ones, else made and persisted on first start."""
    if provisioned is not None:
        return HubInfo(provisioned.hub_id, name, version), provisioned.setup_code
    hub_id = meta.get("hub_id") or f"hub-{secrets.token_hex(5)}"
    code = meta.get("api_setup_code") or new_setup_code()
    if "hub_id" not in meta:
        writer.set_meta("hub_id", hub_id)
    if "api_setup_code" not in meta:
        writer.set_meta("api_setup_code", code)
    return HubInfo(hub_id, name, version), code


async def start_api(daemon: Daemon, group: asyncio.TaskGroup, tasks: list[asyncio.Task[None]],
                    hub: Hub, writer: WriteBehind, snapshot: Snapshot) -> ApiServer | None:
    """Start the LAN API under the daemon's TaskGroup and wait until it listens (or times out)."""
    config = daemon.config
    settings = config.api
    if settings is None:
        return None
    provisioned = None
    if config.hub.identity_dir is not None:
        provisioned = await asyncio.to_thread(read_identity, config.hub.identity_dir)
    info, code = hub_identity(snapshot.meta, writer, config.hub.name, hubd.__version__,
                              provisioned)
    rules = None
    if daemon.engine is not None and config.rules.dir is not None:
        doc = daemon.rules
        if doc is None:  # the daemon read them itself: read them again for their scenes
            doc = await asyncio.to_thread(read_rules_dir, config.rules.dir)
        rules = EngineRules(daemon.engine, hub, writer, doc)
        for problem in await rules.load_saved():
            log.warning("event=api_rule_problem problem=%r", str(problem))
    def health_extra() -> Mapping[str, Any]:
        tunnel = daemon.tunnel
        health = tunnel.health if tunnel is not None else None
        if health is None:
            return {"tunnel": None}
        return {"tunnel": {"status": str(health.status), "detail": health.detail,
                           "ts": health.ts, "next_attempt_ts": health.next_attempt_ts,
                           "outbox_depth": health.outbox_depth,
                           "last_ack_ts": health.last_ack_ts}}

    server = ApiServer(settings, info, devices=HubDevices(hub), rules=rules,
                       tokens=StoreTokens(writer), bus=hub.bus, clock=daemon.clock,
                       state_dir=config.hub.state_dir / "api", setup_code=code,
                       mdns_interfaces=settings.mdns_interfaces or None,
                       health_extra=health_extra)
    tasks.append(daemon.start_component(group, "api", supervise("api", server.run)))
    try:
        async with asyncio.timeout(daemon.ready_timeout_s):
            await server.ready.wait()
    except TimeoutError:
        log.error("event=api_not_ready timeout_s=%s", daemon.ready_timeout_s)
    return server
