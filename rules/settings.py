"""The engine's settings and the status it reports per rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine guards loops, catches up, keeps traces, and where on Earth it runs."""

    max_depth: int = 8
    storm_runs: int = 20
    storm_window_s: float = 10.0
    storm_cooldown_s: float = 60.0  # the first cool-down; doubles with each storm
    storm_cooldown_max_s: float = 3600.0
    catch_up_s: float = 300.0
    latitude: float = 0.0
    longitude: float = 0.0
    elevation_m: float = 0.0
    timezone: str = "UTC"
    traces_per_rule: int = 20
    command_deadline_s: float = 10.0
    trace_flush_s: float = 0.5
    trace_flush_batch: int = 200  # traces serialised per flush tick, at most
    last_seen_every_s: float = 60.0
    default_mode: str = "home"


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A loaded rule's state, for the API and the demo."""

    rule_id: str
    name: str
    is_enabled: bool
    reason: str
    runs_started: int
    runs_skipped: int
    runs_dropped: int
    is_running: bool
    disabled_until: float | None = None  # epoch seconds a storm cool-down ends, if in one
    is_storm: bool = False  # disabled by the storm breaker (comes back by itself)
