"""Level sets written to the repeater that await their ``~OUTPUT`` echo: LIP's only confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from radios.lutron.codec import OutputAction
from radios.lutron.reports import OutputReport
from radios.lutron.session_events import Request


@dataclass(slots=True)
class Pending:
    """A request on its way, and the commands coalesced into it."""

    request: Request
    absorbed: list[str] = field(default_factory=list)
    written_at: float = 0.0


class AwaitedEchoes:
    """Per zone, oldest first, the written level sets an ``~OUTPUT`` of their level confirms."""

    def __init__(self, confirm_timeout_s: float) -> None:
        self.confirm_timeout_s = confirm_timeout_s
        self._by_zone: dict[int, list[Pending]] = {}

    def add(self, pending: Pending) -> None:
        """A level set was written: it waits for its echo."""
        self._by_zone.setdefault(pending.request.integration_id, []).append(pending)

    def discard(self, pending: Pending) -> None:
        """The request ended otherwise (``~ERROR``): no echo is awaited for it."""
        pendings = self._by_zone.get(pending.request.integration_id)
        if pendings and pending in pendings:
            pendings.remove(pending)
            if not pendings:
                del self._by_zone[pending.request.integration_id]

    def confirmed_by(self, report: OutputReport) -> list[Pending]:
        """The level sets this ``~OUTPUT`` confirms: the newest of its level, and all older ones."""
        pendings = self._by_zone.get(report.integration_id)
        if not pendings or report.action != OutputAction.LEVEL or report.level_pct is None:
            return []
        for n in range(len(pendings) - 1, -1, -1):
            wanted = pendings[n].request.expect_level_pct
            if wanted is not None and abs(wanted - report.level_pct) < 0.005:
                confirmed, rest = pendings[: n + 1], pendings[n + 1:]
                if rest:
                    self._by_zone[report.integration_id] = rest
                else:
                    del self._by_zone[report.integration_id]
                return confirmed
        return []

    def expired(self, now: float) -> list[Pending]:
        """The level sets whose echo did not come within ``confirm_timeout_s``, now forgotten."""
        gone: list[Pending] = []
        for iid in list(self._by_zone):
            pendings = self._by_zone[iid]
            while pendings and now >= pendings[0].written_at + self.confirm_timeout_s:
                gone.append(pendings.pop(0))
            if not pendings:
                del self._by_zone[iid]
        return gone

    def deadlines(self) -> Iterator[float]:
        """When the oldest level set of each zone expires."""
        return (p[0].written_at + self.confirm_timeout_s for p in self._by_zone.values())

    def drain(self) -> list[Pending]:
        """Every level set still waiting, now forgotten (the link is gone)."""
        pendings = [p for zone in self._by_zone.values() for p in zone]
        self._by_zone.clear()
        return pendings
