"""Bytecode as a hub has it, for the benchmarks that time a start of ``hubd run``.

A hub's wheel install writes ``__pycache__`` for every module; this machine sets
PYTHONDONTWRITEBYTECODE, so a development checkout has none for the project and every start
would compile it again. ``compile_bytecode`` compiles the project and the venv in place
(compileall; files already compiled are kept), which is what the hub has.
"""

from __future__ import annotations

import compileall
import sysconfig
import time
from pathlib import Path

import hubd
import radios
import rules


def compile_bytecode() -> float:
    """Compile the project and the venv in place, as a wheel install has them; seconds taken."""
    started = time.perf_counter()
    paths = sysconfig.get_paths()
    roots = {Path(paths["purelib"]), Path(paths["platlib"])}
    roots |= {Path(package.__file__).parent for package in (hubd, radios, rules)
              if package.__file__ is not None}
    for root in sorted(roots):
        compileall.compile_dir(root, quiet=2, workers=1)
    return time.perf_counter() - started
