"""The daemon's side of the rules: the engine built from the rules directory, the place's
settings and what the store kept (its timers, traces and rule states), ready to run."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hubd.hub import Hub
from hubd.store import Snapshot, WriteBehind
from rules.engine import EngineSettings, RuleEngine
from rules.model import RuleProblem
from rules.parse import Document, read_rules_dir

if TYPE_CHECKING:
    from hubd.daemon import Daemon

log = logging.getLogger(__name__)


async def build_engine(daemon: Daemon, hub: Hub, writer: WriteBehind, snapshot: Snapshot
                       ) -> RuleEngine | None:
    """The rule engine with the rules of the rules directory and what was persisted."""
    rules_config, place = daemon.config.rules, daemon.config.hub
    if rules_config.dir is None:
        return None
    # `hubd run` parsed them while checking the config; otherwise parse them in a thread:
    # 20,000 rules take seconds, and the radios and watchdog go on.
    doc = (daemon.rules if daemon.rules is not None
           else await asyncio.to_thread(_read_rules, rules_config.dir))
    rules, problems = doc.rules, doc.problems
    settings = EngineSettings(
        max_depth=rules_config.max_depth, storm_runs=rules_config.storm_runs,
        storm_window_s=rules_config.storm_window_s, catch_up_s=rules_config.catch_up_s,
        storm_cooldown_s=rules_config.storm_cooldown_s,
        storm_cooldown_max_s=rules_config.storm_cooldown_max_s,
        latitude=place.latitude, longitude=place.longitude, elevation_m=place.elevation_m,
        timezone=place.timezone)
    engine = RuleEngine(hub.state, hub.bus, hub.execute, daemon.clock, writer, settings)
    daemon.tell(hub, [str(p) for p in problems], log_too=True)
    unresolved = await engine.load_async(rules, doc.scenes)  # logged by the engine
    if daemon.config.api is not None:  # the LAN API's rules, in before their timers resume
        from hubd.apirules import EngineRules

        daemon.api_rules = EngineRules(engine, hub, writer, doc)
        unresolved += await daemon.api_rules.load_saved()
    traces: dict[str, list[str]] = {}
    for row in snapshot.traces:
        traces.setdefault(row.rule_id, []).append(row.body)
    last_seen = snapshot.meta.get("last_seen")
    engine.restore(
        timers=[(t.key, t.rule_id, t.deadline, t.payload) for t in snapshot.timers],
        traces=traces,
        rule_states=[(rule_id, *saved) for rule_id, saved in snapshot.rule_states.items()],
        mode=snapshot.meta.get("mode"),
        last_seen=float(last_seen) if last_seen else None)
    daemon.tell(hub, [str(p) for p in unresolved], log_too=False)
    log.info("event=rules_loaded rules=%d problems=%d", len(rules),
             len(problems) + len(unresolved))
    for off in engine.disabled():  # the boot log says which rules are off, and why
        log.warning("event=rule_disabled rule=%s reason=%r", off.rule_id, off.reason)
    return engine


def _read_rules(path: Path) -> Document:
    """The rules directory, read and parsed; whatever goes wrong disables rules, not the hub."""
    try:
        return read_rules_dir(path)
    except Exception as exc:  # a bad rule file must never escape the TaskGroup
        log.exception("event=rules_unreadable dir=%s", path)
        return Document(problems=[RuleProblem(str(path), 1, "", f"cannot read rules: {exc}")])
