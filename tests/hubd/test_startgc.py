"""The collector while the hub starts (hubd.startgc): young collections only, until READY=1."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hubd import startgc
from hubd.cli import main
from hubd.config import HubConfig, HubSection, StoreSection
from hubd.daemon import GC_YOUNG_THRESHOLD, Daemon
from hubd.hub import Hub

RUNNING = (GC_YOUNG_THRESHOLD, 10, 10)  # hubd.daemon.tune_gc


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    """Each test leaves pytest's collector as it found it."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def _config(state_dir: Path) -> HubConfig:
    return HubConfig(hub=HubSection(state_dir=state_dir), store=StoreSection(write_interval_s=0.01))


async def test_start_collects_the_young_generation_only_and_ready_restores_the_rest(
        tmp_path: Path) -> None:
    seen: list[tuple[int, int, int]] = []

    async def extra(hub: Hub) -> None:  # extras start before READY=1
        seen.append(gc.get_threshold())
        await asyncio.Event().wait()

    gc.set_threshold(700, 10, 10)
    daemon = Daemon(_config(tmp_path / "state"), extras=[extra], stop_timeout_s=1.0)
    task = asyncio.create_task(daemon.run())
    async with asyncio.timeout(10):
        await daemon.ready.wait()
    young, older, oldest = seen[0]
    assert young == startgc.YOUNG_THRESHOLD
    assert older > 10**9 and oldest > 10**9  # no older collection while starting
    assert gc.get_threshold() == RUNNING
    assert gc.get_freeze_count() > 0  # what boot built is out of the collector's sight
    daemon.request_stop()
    async with asyncio.timeout(10):
        await task
    assert gc.get_threshold() == RUNNING


async def test_a_daemon_stopped_before_ready_leaves_the_running_thresholds(
        tmp_path: Path) -> None:
    gc.set_threshold(700, 10, 10)
    daemon = Daemon(_config(tmp_path / "state"), stop_timeout_s=1.0)
    daemon.request_stop()
    async with asyncio.timeout(10):
        await daemon.run()
    assert gc.get_threshold() == RUNNING


def test_garbage_made_while_starting_is_collected_before_ready() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    startgc.while_starting()
    gc.collect()  # counts at zero: what follows is the start's
    gone = weakref.ref(Cycle())
    kept: list[list[int]] = [[] for _ in range(startgc.YOUNG_THRESHOLD + 100)]  # long-lived
    assert gone() is None  # a young collection found the cycle; no full one ran
    assert gc.get_count()[1] >= 1
    assert len(kept) > startgc.YOUNG_THRESHOLD


def test_run_with_a_broken_config_restores_the_callers_thresholds(tmp_path: Path) -> None:
    broken = tmp_path / "hub.toml"
    broken.write_text("[hub]\nnmae = 'x'\n")
    gc.set_threshold(700, 10, 10)
    result = CliRunner().invoke(main, ["run", "--config", str(broken)])
    assert result.exit_code == 78
    assert gc.get_threshold() == (700, 10, 10)


def test_the_cli_imports_neither_the_daemon_nor_the_rules_before_run() -> None:
    # `hubd run` sets the collector and starts its early imports before these load.
    code = ("import sys, hubd.cli; print(sorted(m for m in ('hubd.daemon', 'hubd.config', "
            "'rules', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
