"""The storm breaker: stops loops the hub itself keeps going, never a busy house.

Only runs the hub caused count: a trigger whose event came from a rule (origin ``rule:<id>``) or
was a device's echo of a command (``digital``). A contact flapping, a person pressing a button,
the app (``api:``), the cloud and the clock never count, so "door → light" cannot be disabled by
a door. A rule that runs more than ``storm_runs`` hub-caused times in ``storm_window_s`` is
disabled for a cool-down, then comes back by itself. Each storm within ``reset_after`` of the
last doubles the cool-down (up to ``storm_cooldown_max_s``); a quiet spell forgets the strikes.
A storm is a state of the running hub: it is not persisted, a restart starts afresh.
"""

from __future__ import annotations

from hubd.core.model import Origin
from rules.settings import EngineSettings
from rules.slot import Slot

_RULE_PREFIX = "rule:"


def is_hub_caused(origin: str) -> bool:
    """Whether an event with this origin was caused by the hub (a rule or a command's echo)."""
    return origin == Origin.DIGITAL or origin.startswith(_RULE_PREFIX)


def is_storm(slot: Slot, now_monotonic: float, settings: EngineSettings) -> bool:
    """Count a hub-caused run; True when the rule ran more than ``storm_runs`` such runs in the
    window (the deque holds at most ``storm_runs + 1`` times)."""
    times = slot.run_times
    times.append(now_monotonic)
    horizon = now_monotonic - settings.storm_window_s
    while times and (times[0] <= horizon or len(times) > settings.storm_runs + 1):
        times.popleft()
    return len(times) > settings.storm_runs


def trip(slot: Slot, now_monotonic: float, settings: EngineSettings) -> float:
    """Record a storm; returns the cool-down in seconds (doubling with each strike)."""
    reset_after_s = 2 * settings.storm_cooldown_max_s
    if slot.last_storm is not None and now_monotonic - slot.last_storm > reset_after_s:
        slot.strikes = 0
    slot.strikes += 1
    slot.last_storm = now_monotonic
    slot.run_times.clear()
    growth = 2.0 ** min(slot.strikes - 1, 30)
    return min(settings.storm_cooldown_s * growth, settings.storm_cooldown_max_s)


def storm_reason(settings: EngineSettings, cool_down_s: float) -> str:
    """Why a rule was disabled by the breaker (shown in status, logs and the Notice)."""
    return (f"ran more than {settings.storm_runs} times in {settings.storm_window_s:g} s on "
            f"changes the hub made (a loop?); disabled for {cool_down_s:g} s")


def is_storm_reason(reason: str) -> bool:
    """Whether a persisted reason is a storm's (older hubs persisted those, for good)."""
    return "(a loop?)" in reason
