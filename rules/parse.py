"""Rule files: YAML text in, typed rules and scenes out, with every problem's file and line.

A file is either a list of rules or a mapping with ``rules:`` (a list) and ``scenes:`` (a list).
A broken rule is reported and left out; the others still load. Scene actions are linked to their
scene across all files of a directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from hubd.core.errors import RuleError
from rules.model import (
    Action,
    Rule,
    RuleProblem,
    RunMode,
    Scene,
    SceneAction,
    SceneState,
)
from rules.parse_actions import parse_actions
from rules.parse_triggers import choice, need, parse_conditions, parse_trigger
from rules.walk import map_actions
from rules.yamlnode import MAX_TEXT_CHARS, Invalid, Node, compose

_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_RULE_FIELDS = ("id", "name", "description", "enabled", "mode", "max_runs", "triggers",
                "conditions", "actions")


@dataclass(slots=True)
class Document:
    """What one file holds: rules and scenes that parsed, and the problems of those that did not."""

    rules: list[Rule] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)


def parse_document(text: str, file: str) -> Document:
    """Parse one file's text without linking scenes."""
    doc = Document()
    try:
        root = compose(text, file)
        if root is None:
            return doc
        rule_nodes, scene_nodes = _sections(root)
    except Invalid as exc:
        doc.problems.append(exc.problem)
        return doc
    for node in scene_nodes:
        try:
            doc.scenes.append(parse_scene(node))
        except Invalid as exc:
            doc.problems.append(exc.problem)
    for node in rule_nodes:
        node = Node(node.node, node.file, "")  # fields are named relative to their rule
        try:
            doc.rules.append(parse_rule(node))
        except Invalid as exc:
            doc.problems.append(replace(exc.problem, rule_id=_rule_id_of(node)))
    return doc


def _sections(root: Node) -> tuple[list[Node], list[Node]]:
    if not root.is_mapping():
        return root.sequence(), []
    fields = root.mapping(("rules", "scenes"))
    rules = fields["rules"].sequence() if "rules" in fields else []
    scenes = fields["scenes"].sequence() if "scenes" in fields else []
    return rules, scenes


def _rule_id_of(node: Node) -> str:
    try:
        return node.mapping()["id"].text()
    except (Invalid, KeyError):
        return ""


def parse_rule(node: Node) -> Rule:
    """One rule mapping."""
    f = node.mapping(_RULE_FIELDS)
    id_node = need(node, f, "id")
    rule_id = id_node.text()
    if not _RULE_ID.fullmatch(rule_id):
        raise id_node.fail(f"{rule_id!r} is not a rule id (letters, digits, _ . -; at most 64)")
    triggers_node = need(node, f, "triggers")
    triggers = tuple(parse_trigger(n, i) for i, n in enumerate(triggers_node.sequence()))
    if not triggers:
        raise triggers_node.fail("a rule needs at least one trigger")
    ids = [t.id for t in triggers]
    if len(set(ids)) != len(ids):
        raise triggers_node.fail("trigger ids must differ")
    mode = choice(f["mode"], RunMode) if "mode" in f else RunMode.SINGLE
    max_runs = f["max_runs"].integer(1, 1000) if "max_runs" in f else 10
    return Rule(
        node.loc, rule_id, f["name"].text() if "name" in f else rule_id, triggers,
        parse_conditions(f["conditions"]) if "conditions" in f else (),
        parse_actions(need(node, f, "actions")), mode, max_runs,
        f["enabled"].boolean() if "enabled" in f else True,
        f["description"].text() if "description" in f else "")


def parse_scene(node: Node) -> Scene:
    """One scene: a name, device states and an optional transition."""
    f = node.mapping(("name", "states", "transition"))
    states: list[SceneState] = []
    for device, attrs in need(node, f, "states").mapping().items():
        for attribute, value in attrs.mapping().items():
            states.append(SceneState(value.loc, device, attribute, value.value()))
    if not states:
        raise f["states"].fail("a scene needs at least one device state")
    return Scene(node.loc, need(node, f, "name").text(), tuple(states),
                 f["transition"].duration_s() if "transition" in f else None)


def link_scenes(rules: Iterable[Rule], scenes: Iterable[Scene]
                ) -> tuple[list[Rule], list[RuleProblem]]:
    """Rules whose scene actions point at their scene; rules naming unknown scenes are reported."""
    by_name: dict[str, Scene] = {}
    problems: list[RuleProblem] = []
    for scene in scenes:
        key = scene.name.casefold()
        if key in by_name:
            problems.append(RuleProblem.at(scene.loc, f"scene {scene.name!r} is defined twice"))
            continue
        by_name[key] = scene
    linked: list[Rule] = []
    for rule in rules:
        missing: list[SceneAction] = []

        def link(action: Action, missing: list[SceneAction] = missing) -> Action:
            if isinstance(action, SceneAction):
                scene = by_name.get(action.name.casefold())
                if scene is None:
                    missing.append(action)
                return replace(action, scene=scene)
            return action

        actions = map_actions(rule.actions, link)
        if missing:
            problems.extend(RuleProblem.at(a.loc, f"no scene named {a.name!r}", rule.id)
                            for a in missing)
            continue
        linked.append(replace(rule, actions=actions))
    return linked, problems


def _dedupe(rules: list[Rule]) -> tuple[list[Rule], list[RuleProblem]]:
    seen: dict[str, Rule] = {}
    problems = []
    for rule in rules:
        first = seen.get(rule.id)
        if first is not None:
            problems.append(RuleProblem.at(rule.loc, f"rule id {rule.id!r} is already used at "
                                           f"{first.loc.file}:{first.loc.line}", rule.id))
            continue
        seen[rule.id] = rule
    return list(seen.values()), problems


def _finish(docs: Iterable[Document]) -> Document:
    out = Document()
    for doc in docs:
        out.rules += doc.rules
        out.scenes += doc.scenes
        out.problems += doc.problems
    rules, dupes = _dedupe(out.rules)
    out.rules, link_problems = link_scenes(rules, out.scenes)
    out.problems += dupes + link_problems
    return out


def parse_rules(text: str, file: str) -> tuple[list[Rule], list[RuleProblem]]:
    """The rules of one YAML text (scenes linked within it) and the problems found."""
    doc = _finish([parse_document(text, file)])
    return doc.rules, doc.problems


def read_rules_dir(path: Path | str) -> Document:
    """Every ``*.yaml`` / ``*.yml`` file of a directory, in name order, linked together, with
    the scenes (rules sent later over the API may name them). Blocking: call it in a thread."""
    root = Path(path)
    docs: list[Document] = []
    files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for file in files:
        try:
            if file.stat().st_size > 4 * MAX_TEXT_CHARS:  # not even read: UTF-8 is <= 4 B/char
                raise OSError(f"larger than {4 * MAX_TEXT_CHARS:,} bytes")
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            docs.append(Document(problems=[RuleProblem(str(file), 1, "", f"cannot read: {exc}")]))
            continue
        docs.append(parse_document(text, str(file)))
    return _finish(docs)


def load_rules_dir(path: Path | str) -> tuple[list[Rule], list[RuleProblem]]:
    """The rules of a directory (see ``read_rules_dir``) and the problems found."""
    doc = read_rules_dir(path)
    return doc.rules, doc.problems


class RuleTextError(RuleError):
    """A rule sent as text (API) is wrong; ``problems`` holds every problem found, located."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = tuple(problems)
        first = problems[0]
        super().__init__(first.message, file=first.file, key=first.field or None,
                         line=first.line)

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


def parse_rule_text(text: str, source: str = "api", scenes: Iterable[Scene] = ()) -> Rule:
    """One rule from YAML or JSON text (a mapping), its scene actions linked to ``scenes``;
    raises RuleTextError naming ``source``, line and field of every problem found."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        text = _json_as_yaml(text, source)
    try:
        root = compose(text, source)
        if root is None or not root.is_mapping() or "rules" in root.mapping():
            raise Invalid(RuleProblem(source, 1, "", "must be one rule (a mapping with id, "
                                      "triggers and actions)"))
        rule = parse_rule(root)
    except Invalid as exc:
        raise RuleTextError([exc.problem]) from None
    linked, problems = link_scenes([rule], scenes)
    if problems:
        raise RuleTextError(problems)
    return linked[0]


def _json_as_yaml(text: str, source: str) -> str:
    """JSON is YAML's flow style, so the YAML reader gives its lines; but JSON allows tabs
    where YAML does not: such text is read as JSON and handed on re-indented."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleTextError([RuleProblem(source, exc.lineno, "", f"JSON: {exc.msg}")]) from None
    except RecursionError:
        raise RuleTextError([RuleProblem(source, 1, "", "JSON nested too deeply")]) from None
    return json.dumps(value, indent=1) if "\t" in text else text
