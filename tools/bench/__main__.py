"""Run the benchmarks: `python -m tools.bench [AREA...]`; prints a table of figures per area."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import platform
import sys
import time

from tools.bench.report import Table

AREAS = ("core", "store", "rules", "daemon", "lutron", "zigbee", "tunnel", "fleet")


def main() -> int:
    """Run the chosen areas (all by default) one after the other and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("areas", nargs="*", metavar="AREA", help=f"one of {', '.join(AREAS)}")
    args = parser.parse_args()
    unknown = sorted(set(args.areas) - set(AREAS))
    if unknown:
        parser.error(f"unknown area {', '.join(unknown)}; choose from {', '.join(AREAS)}")
    print(f"# hubd benchmarks — Python {platform.python_version()} on {platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}")
    failed = 0
    for area in args.areas or AREAS:
        try:
            module = importlib.import_module(f"tools.bench.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tools.bench.{area}":
                raise
            print(f"\n## {area}: no benchmark yet")
            continue
        started = time.perf_counter()
        try:
            tables: list[Table] = asyncio.run(module.run())
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
