"""Run modes, as decisions on a rule's slot (no I/O, no tasks started; the storm breaker is
in ``rules.breaker``).

=========  ==============================================  ===========================
mode       a trigger while a run is going                  limit
=========  ==============================================  ===========================
single     ignored; counted, logged once per burst         one run
restart    the running run is cancelled, a new one starts  one run
queued     waits its turn                                  max_runs waiting + running
parallel   starts alongside                                max_runs running
=========  ==============================================  ===========================
"""

from __future__ import annotations

import logging
from enum import Enum

from hubd.core.model import Context
from rules.model import RunMode
from rules.plainrun import TraceRecord, record_of
from rules.slot import Slot

log = logging.getLogger(__name__)


class Admission(Enum):
    """What to do with a run that would start while others of its rule are going."""

    START = "start"
    QUEUED = "queued"
    SKIP = "skip"
    DROP = "drop"


def admit(slot: Slot, trace: TraceRecord, context: Context) -> Admission:
    """Apply the rule's mode (see the table above); cancels runs for restart, queues for queued."""
    rule = slot.resolved
    if rule is None:
        return Admission.SKIP
    if rule.mode is RunMode.SINGLE:
        slot.skipped += 1
        record_of(slot.runs[0]).skipped += 1
        if not slot.is_skip_logged:
            slot.is_skip_logged = True
            log.info("event=rule_busy rule=%s mode=single (further triggers counted)", rule.id)
        return Admission.SKIP
    if rule.mode is RunMode.RESTART:
        for run in slot.runs:
            run.cancel()
        return Admission.START
    busy = len(slot.runs) + (len(slot.queue) if rule.mode is RunMode.QUEUED else 0)
    if busy >= rule.max_runs:
        slot.dropped += 1
        return Admission.DROP
    if rule.mode is RunMode.QUEUED:
        slot.queue.append((trace, context))
        return Admission.QUEUED
    return Admission.START
