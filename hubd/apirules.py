"""The rules port of the LAN API over the rules engine, the rules directory and the store.

Rules created through the API are kept in the store's rules table (source ``api``, body: the
text they came from) and loaded again at boot beside the rules directory's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from hubd.api.ports import (
    RuleError,
    RuleInfo,
    RuleRejectedError,
    UnknownRuleError,
    UnknownSceneError,
)
from hubd.core.errors import InvalidValueError, UnknownDeviceError
from hubd.core.events import CommandResult
from hubd.core.model import Capability, Command, Context, Value, validate_value
from hubd.core.state import StateEntry
from hubd.hub import Hub
from hubd.store import RuleRow, Store, WriteBehind
from rules.engine import RuleEngine
from rules.model import HubStartedTrigger, Loc, Rule, RuleProblem, Scene, SceneAction
from rules.parse import Document, RuleTextError, link_scenes, parse_document, parse_rule_text
from rules.resolve import Resolver
from rules.yamlnode import Invalid, compose

API_SOURCE = "api"


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
        """Add the rules created through the API on earlier runs, one by one (the rules from
        files keep the runs and timers restored at boot); returns their problems."""
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
                    problems += self._engine.put_rule(rule)
        return problems

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
            self._engine.put_rule(rule)  # every other rule keeps its runs and timers
        return [self._info(r.id) for r in rules]

    async def _put(self, row: RuleRow) -> None:
        await self._writer.call(lambda store: store.rule_put(row))

    async def delete(self, rule_id: str) -> None:
        """Delete a rule made through the API."""
        if rule_id not in self._kept:
            raise UnknownRuleError(rule_id)
        await self._writer.call(lambda store: store.rule_delete(rule_id))
        del self._kept[rule_id]
        self._engine.remove_rule(rule_id)

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
