"""Smoke test of `make bench`: every area runs with tiny sizes, so the benchmarks cannot rot."""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tools.bench.__main__ import AREAS, RADIO_AREAS, NoBenchmark, run_area, supports_quick
from tools.bench.footprint import cpu_s, phases, process_tree
from tools.bench.report import Table, percentiles
from tools.bench.soak import Sample, verdict

ROOT = Path(__file__).resolve().parents[2]


def _exists(area: str) -> bool:
    try:
        importlib.import_module(f"tools.bench.{area}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tools.bench.{area}":
            raise
        return False
    return True


@pytest.fixture
def global_state() -> Iterator[None]:
    """The benchmarks tune the collector and quieten logging as the daemon does: undo it."""
    threshold, level = gc.get_threshold(), logging.getLogger().level
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    logging.getLogger().setLevel(level)


@pytest.mark.parametrize("area", [a for a in AREAS if _exists(a)])
async def test_area_runs_with_tiny_sizes(area: str, global_state: None) -> None:
    if not supports_quick(area):
        pytest.skip(f"tools/bench/{area}.py has no quick mode yet: its run() should take "
                    "`quick: bool = False` and use tiny sizes with it")
    tables = await run_area(area, quick=True)
    assert tables, f"{area} printed nothing"
    for table in tables:
        assert table.rows, table.title
        assert table.path, f"{table.title!r} does not say what path it covers"
        assert all(len(row) == len(table.columns) for row in table.rows), table.title
        assert table.render().startswith(f"## {table.title}")


def test_every_area_has_an_async_run() -> None:
    for area in AREAS:
        if _exists(area):
            module = importlib.import_module(f"tools.bench.{area}")
            assert inspect.iscoroutinefunction(module.run), area


async def test_an_area_without_a_module_says_so() -> None:
    with pytest.raises(NoBenchmark):
        await run_area("no_such_area")


def test_radio_to_radio_figures_come_first() -> None:
    assert AREAS[:len(RADIO_AREAS)] == RADIO_AREAS
    assert AREAS.index("daemon") > AREAS.index("zigbee")


def test_the_command_line_runs_an_area_quick() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.bench", "--quick", "core"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "## core: bus + state store throughput" in done.stdout
    assert "path: Hub.report" in done.stdout


def test_the_command_line_refuses_an_unknown_area() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.bench", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "unknown area nope" in done.stderr


def test_table_renders_path_and_note() -> None:
    table = Table("t", ("a", "b"), [(1, 2.5)], note="n", path="p")
    assert table.render().splitlines() == ["## t", "path: p", "a  b    ", "-  -----",
                                           "1  2.500", "n"]


def test_percentiles_in_milliseconds() -> None:
    assert percentiles([0.001] * 99 + [0.1]) == (1.0, 1.0, 100.0)


def test_soak_verdict_flat_and_growing() -> None:
    start = Sample(2.0, 80 << 20, 92 << 20, 100_000, 0)
    # RSS as read moves with what glibc keeps: only RSS after the release counts.
    assert verdict(start, Sample(8.0, (80 << 20) + 4096, 99 << 20, 100_100, 10_000)) == (
        True, "")
    is_flat, why = verdict(start, Sample(8.0, 90 << 20, 92 << 20, 110_000, 5 << 20))
    assert not is_flat
    assert "traced" in why and "objects" in why and "RSS after release +10.0 MiB" in why


def test_footprint_reads_the_start_steps_from_hubds_log() -> None:
    spawned = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC).timestamp()
    log = "\n".join([
        "ts=2026-11-26T12:00:01.500Z level=info logger=hubd.daemon event=starting devices=3",
        "ts=2026-11-26T12:00:01.600Z level=info logger=hubd.hub event=radio_health radio=lutron "
        "status=ok detail=x",
        "ts=2026-11-26T12:00:01.700Z level=info logger=rules event=rule_ran id=x",
        "ts=2026-11-26T12:00:01.800Z level=info logger=hubd.daemon event=rules_loaded rules=2",
        "ts=2026-11-26T12:00:02.000Z level=info logger=hubd.daemon event=ready status=x",
        "ts=2026-11-26T12:00:03.000Z level=info logger=hubd.daemon event=starting devices=3",
    ])
    assert phases(log, spawned) == "starting 1.50, lutron ok 1.60, rules_loaded 1.80, ready 2.00"


def test_footprint_counts_a_process_and_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in process_tree(os.getpid())
        assert cpu_s(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
