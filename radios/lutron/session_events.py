"""What the LIP session takes (Request) and what it tells the driver (its events)."""

from __future__ import annotations

from dataclasses import dataclass

from hubd.core.model import CommandStatus
from radios.lutron.codec import LipMessage
from radios.lutron.reports import ErrorReport, LipReport


@dataclass(frozen=True, slots=True)
class Request:
    """A line the hub wants written for one of its commands."""

    token: str  # the driver's handle: the Command's id
    message: LipMessage
    integration_id: int
    expect_level_pct: float | None = None  # a level set: confirmed by the echo of this level
    deadline: float | None = None  # monotonic; not written after it


@dataclass(frozen=True, slots=True)
class LinkReady:
    """The repeater is configured and synced (again, if ``is_resync``)."""

    is_resync: bool


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The session gave up the link; ``is_fatal``: retrying will not help (bad credentials)."""

    detail: str
    is_fatal: bool = False


@dataclass(frozen=True, slots=True)
class RequestDone:
    """How a request ended."""

    token: str
    status: CommandStatus
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReportReceived:
    """A report from the repeater; ``echo_of`` is the token of our command it confirms."""

    report: LipReport
    echo_of: str | None = None


@dataclass(frozen=True, slots=True)
class UnmatchedError:
    """~ERROR for a line that was not one of the hub's commands (a sync query, or too late)."""

    report: ErrorReport
    line: str | None


SessionEvent = LinkReady | LinkLost | RequestDone | ReportReceived | UnmatchedError
