"""A plain rule's run (commands only) keeps its trace as one record, built into a Trace when read:
what it says must be what the interpreter's trace of the same run would say."""

import asyncio
import json

from hubd.core.events import CommandResult, RuleRan
from hubd.core.model import Command, CommandStatus
from rules.trace import Outcome, Trace
from tests.rules.conftest import Harness, make_harness

TWO_LIGHTS = """\
- id: door_lights
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true}]
  conditions: [{kind: mode, mode: [home]}]
  actions:
    - {kind: command, device: Porch light, command: switch.on}
    - {kind: command, device: Hall light, command: level.set, args: {level_pct: 40}}
"""


class SlowRadio:
    """Answers each command when the test lets it, or raises for one device."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Command, asyncio.Future[CommandResult]]] = []
        self.broken = ""

    async def execute(self, command: Command) -> CommandResult:
        """Wait for the test's answer (or raise, for the broken device)."""
        if command.device_id == self.broken:
            raise OSError("radio unplugged")
        answer: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self.waiting.append((command, answer))
        return await answer

    def answer(self, status: CommandStatus = CommandStatus.CONFIRMED,
               latency_s: float = 0.004, error: str | None = None) -> None:
        """Answer the oldest command waiting."""
        command, answer = self.waiting.pop(0)
        answer.set_result(CommandResult(command, status, latency_s, error))


async def _slow_harness(radio: SlowRadio) -> Harness:
    return await make_harness(execute=radio.execute).start(TWO_LIGHTS)


async def _until(predicate: object, rounds: int = 200) -> None:
    for _ in range(rounds):
        if callable(predicate) and predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_plain_run_shows_its_command_under_way_then_each_result() -> None:
    radio = SlowRadio()
    harness = await _slow_harness(radio)
    ran: list[RuleRan] = []
    harness.house.bus.subscribe((RuleRan,), ran.append, name="ran", inline=True)
    try:
        harness.house.report("Front door", "contact.is_open", True)
        await _until(lambda: len(radio.waiting) == 1)
        running = harness.engine.traces("door_lights")[-1]
        assert running.outcome is Outcome.RUNNING and running.end_ts is None
        assert [(s.path, s.kind, s.text, s.status) for s in running.steps] == [
            ("0", "command", "switch.on Porch light", "")]
        assert running.steps[0].end_ts is None
        assert [(c.text, c.is_true) for c in running.conditions] == [("mode is home", True)]

        radio.answer(latency_s=0.004)
        await _until(lambda: len(radio.waiting) == 1 and radio.waiting[0][0].name == "set")
        radio.answer(CommandStatus.FAILED, 0.0, "no route to device")
        await harness.engine.settle()

        trace = harness.engine.traces("door_lights")[-1]
        assert trace.outcome is Outcome.DONE and trace.end_ts is not None
        assert [(s.path, s.status, s.detail, s.latency_s) for s in trace.steps] == [
            ("0", "confirmed", "", 0.004), ("1", "failed", "no route to device", 0.0)]
        assert all(s.end_ts is not None and s.end_ts >= s.start_ts for s in trace.steps)
        assert trace.run_id == trace.context_id and trace.depth == 1
        assert trace.trigger.describe() == "Front door contact.is_open unknown → true"
        assert [(r.rule_id, r.run_id, r.outcome, r.commands) for r in ran] == [
            ("door_lights", trace.run_id, Outcome.DONE, 2)]
        assert ran[0].context.id == trace.run_id

        await harness.engine.advance(5)  # the write-behind flush
        (saved,) = harness.persistence.saved_traces()["door_lights"]
        assert Trace.from_json(saved) == trace
        assert json.loads(saved)["steps"][1]["detail"] == "no route to device"
    finally:
        await harness.stop()
        await harness.house.bus.close()


async def test_a_plain_run_cut_short_keeps_the_command_it_was_on() -> None:
    radio = SlowRadio()
    harness = await _slow_harness(radio)
    try:
        harness.house.report("Front door", "contact.is_open", True)
        await _until(lambda: len(radio.waiting) == 1)
        harness.engine.disable("door_lights")
        await _until(lambda: not harness.engine.status("door_lights").is_running)
        trace = harness.engine.traces("door_lights")[-1]
        assert trace.outcome is Outcome.CANCELLED
        assert [(s.path, s.status, s.end_ts) for s in trace.steps] == [("0", "", None)]
    finally:
        await harness.stop()
        await harness.house.bus.close()


async def test_a_command_that_raises_is_noted_and_the_run_goes_on() -> None:
    radio = SlowRadio()
    radio.broken = "virtual:2"  # the porch light's radio raises
    harness = await _slow_harness(radio)
    try:
        harness.house.report("Front door", "contact.is_open", True)
        await _until(lambda: len(radio.waiting) == 1)
        radio.answer()
        await harness.engine.settle()
        trace = harness.engine.traces("door_lights")[-1]
        assert trace.outcome is Outcome.DONE
        assert [(s.status, s.detail) for s in trace.steps] == [
            ("failed", "OSError: radio unplugged"), ("confirmed", "")]
    finally:
        await harness.stop()
        await harness.house.bus.close()
