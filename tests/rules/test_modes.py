"""Run modes: single, restart, queued(max), parallel(max)."""

import logging

import pytest

from rules.trace import Outcome
from tests.rules.conftest import Harness


def rule(mode: str, max_runs: int = 10) -> str:
    return f"""\
- id: r
  mode: {mode}
  max_runs: {max_runs}
  triggers: [{{kind: button, device: Kitchen remote}}]
  actions:
    - {{kind: command, device: Porch light, command: toggle}}
    - {{kind: delay, duration: 1m}}
    - {{kind: command, device: Living lamp, command: toggle}}
"""


async def test_single_ignores_triggers_while_running_and_logs_once(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rules")
    await harness.start(rule("single"))
    for _ in range(4):
        await harness.press("Kitchen remote")
    await harness.engine.advance(60)
    assert harness.house.sent() == ["Porch light: switch.toggle", "Living lamp: switch.toggle"]
    assert harness.engine.status("r").runs_skipped == 3
    assert harness.engine.traces("r")[-1].skipped == 3
    assert caplog.text.count("event=rule_busy") == 1
    await harness.press("Kitchen remote")  # a new burst after the run ended
    await harness.press("Kitchen remote")
    assert caplog.text.count("event=rule_busy") == 2


async def test_restart_cancels_the_running_run(harness: Harness) -> None:
    await harness.start(rule("restart"))
    await harness.press("Kitchen remote")
    await harness.engine.advance(30)
    await harness.press("Kitchen remote")
    await harness.engine.advance(59)
    assert harness.house.sent() == ["Porch light: switch.toggle"] * 2
    await harness.engine.advance(1)
    assert harness.house.sent()[-1] == "Living lamp: switch.toggle"
    outcomes = [t.outcome for t in harness.engine.traces("r")]
    assert outcomes == [Outcome.CANCELLED, Outcome.DONE]
    assert harness.persistence.timers == {}


async def test_queued_runs_one_after_another_up_to_max(harness: Harness) -> None:
    await harness.start(rule("queued", max_runs=2))
    for _ in range(3):
        await harness.press("Kitchen remote")
    assert harness.engine.status("r").runs_dropped == 1
    await harness.engine.advance(60)
    assert harness.house.sent() == ["Porch light: switch.toggle", "Living lamp: switch.toggle",
                                    "Porch light: switch.toggle"]
    await harness.engine.advance(60)
    assert len(harness.house.commands) == 4
    outcomes = [t.outcome for t in harness.engine.traces("r")]
    assert outcomes == [Outcome.DROPPED_MAX_RUNS, Outcome.DONE, Outcome.DONE]


async def test_parallel_runs_together_up_to_max(harness: Harness) -> None:
    await harness.start(rule("parallel", max_runs=2))
    for _ in range(3):
        await harness.press("Kitchen remote")
    assert harness.house.sent() == ["Porch light: switch.toggle"] * 2
    await harness.engine.advance(60)
    assert harness.house.sent()[2:] == ["Living lamp: switch.toggle"] * 2
    assert harness.engine.status("r").runs_dropped == 1
