"""Run the benchmarks: `python -m tools.bench [--quick] [AREA...]`; prints a table per figure.

The radio-to-radio areas come first: local control as a user feels it is a radio frame in → a
radio frame out, timed from the simulator's side. Then what a hub owner meets (memory, start),
then the daemon's own share (the virtual radio: no codec, no line) and its parts, then the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import platform
import sys
import time

from hubd.loop import name as loop_name
from hubd.loop import new_loop
from tools.bench.report import Table

# Radio-to-radio first (owned by the radio areas), then what an owner meets, then the daemon's
# share and its parts, then the long run.
RADIO_AREAS = ("lutron", "zigbee", "zwave")
AREAS = (*RADIO_AREAS, "footprint", "daemon", "core", "rules", "store", "api", "tunnel", "fleet",
         "fleet_idle", "update", "soak")

HEADLINE = (
    "Local control = radio frame in → radio frame out, timed from the simulator's side: the\n"
    f"radio areas ({', '.join(RADIO_AREAS)}) come first. The 'daemon' area is the daemon's own\n"
    "share of it (the virtual radio: no codec, no serial line); 'core' and 'rules' are parts of\n"
    "that share. Each table says the path it covers.")


class NoBenchmark(Exception):
    """The area has no module yet (Z-Wave before it lands)."""


def supports_quick(area: str) -> bool:
    """True when the area's ``run`` takes ``quick`` (tiny sizes, for the smoke test)."""
    module = importlib.import_module(f"tools.bench.{area}")
    return "quick" in inspect.signature(module.run).parameters


async def run_area(area: str, *, quick: bool = False) -> list[Table]:
    """The tables of one area; ``quick`` runs it with tiny sizes where the area supports it."""
    try:
        module = importlib.import_module(f"tools.bench.{area}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tools.bench.{area}":
            raise
        raise NoBenchmark(area) from exc
    if quick and supports_quick(area):
        tables: list[Table] = await module.run(quick=True)
    else:
        tables = await module.run()
    return tables


def main() -> int:
    """Run the chosen areas (all by default) one after the other and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*", metavar="AREA", help=f"one of {', '.join(AREAS)}")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (a smoke run: the figures mean nothing)")
    args = parser.parse_args()
    unknown = sorted(set(args.areas) - set(AREAS))
    if unknown:
        parser.error(f"unknown area {', '.join(unknown)}; choose from {', '.join(AREAS)}")
    quick = " (quick: sizes too small to mean anything)" if args.quick else ""
    # Which build of the interpreter runs matters (the hub image's Debian build ran the rules
    # ~19 % faster than a plain source build of the same version): say which one this is.
    print(f"# hubd benchmarks — Python {platform.python_version()} "
          f"({os.path.realpath(sys.executable)}) on {platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}, on {loop_name()} (the daemon's loop){quick}")
    print(HEADLINE)
    failed = 0
    chosen = [a for a in AREAS if a in args.areas] if args.areas else list(AREAS)
    for area in chosen:
        started = time.perf_counter()
        try:
            with asyncio.Runner(loop_factory=new_loop) as runner:  # the daemon's loop
                tables = runner.run(run_area(area, quick=args.quick))
        except NoBenchmark:
            print(f"\n## {area}: no benchmark yet")
            continue
        except Exception:
            failed += 1
            logging.exception("benchmark area %s failed", area)
            continue
        for table in tables:
            print()
            print(table.render())
        print(f"({area}: {time.perf_counter() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
