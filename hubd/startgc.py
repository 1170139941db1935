"""The garbage collector while the hub starts: the young generation only, until READY=1.

Start builds some 300,000 objects that live as long as the daemon: modules, classes, zigpy's
tables, the rules. With Python's default thresholds the collector walks the older generations
again and again while they grow, ~0.1 s of the start's CPU for almost nothing: the garbage that
start leaves (import-time helpers, classes attrs and slotted dataclasses replace, caught
validation errors) is young, and collections of the young generation find it. Turning the
collector off instead saves a little more CPU but keeps that garbage, ~1 MiB at the peak.

``hubd run`` sets this first; the daemon sets it too (tests and the demo start it
directly) and, once READY=1 is said, collects everything once, freezes what boot built and
sets its running thresholds (``hubd.daemon.tune_gc``).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # new objects between collections of the young generation
_NEVER = 2**31 - 1  # young collections before an older generation's: none while starting


def while_starting() -> None:
    """Collect only the young generation until the daemon says otherwise."""
    gc.set_threshold(YOUNG_THRESHOLD, _NEVER, _NEVER)
