"""The ports of the LAN API: what it needs of the hub, the store and the rules, as Protocols.

The daemon implements them with adapters (``hubd.apiwire``); tests may implement them too. The
values crossing these seams are the core's types or the small frozen dataclasses below.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hubd.core.errors import HubError
from hubd.core.events import CommandResult, RadioHealth
from hubd.core.model import Command, Device, Value
from hubd.core.update import UpdateStatus


class UnknownRuleError(HubError):
    """No rule has that id."""


class UnknownSceneError(HubError):
    """No scene has that name."""


@dataclass(frozen=True, slots=True)
class RuleError:
    """Where a rule text is wrong: file, line, field and what."""

    file: str
    line: int
    field: str
    message: str
    rule_id: str = ""


class RuleRejectedError(HubError):
    """A rule text did not parse or resolve; ``errors`` say where."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.file}:{e.line}: {e.field}: {e.message}" for e in errors))


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A loaded rule as the API shows it."""

    id: str
    name: str
    is_enabled: bool
    reason: str
    runs_started: int
    runs_skipped: int
    runs_dropped: int
    is_running: bool
    origin: str  # "file" or "api"
    text: str  # the YAML or JSON it was created from ("" for rules from files)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A paired client's token, without its secret."""

    id: str
    scope: str
    client: str
    created: float
    last_used: float | None


class DevicesPort(Protocol):
    """Devices, their state and commands (over the Hub)."""

    def devices(self) -> Sequence[Device]:
        """Every known device."""
        ...

    def find(self, ref: str) -> Device | None:
        """A device by id or unique name."""
        ...

    def state(self, device_id: str) -> Mapping[str, Value]:
        """The last known values of a device's attributes."""
        ...

    def states(self) -> Mapping[str, Mapping[str, Value]]:
        """Every device's last known values, by device id (in one pass)."""
        ...

    def rename(self, device_id: str, name: str | None, room: str | None) -> Device:
        """Rename a device or move it to a room; ValueError if the name is taken."""
        ...

    def remove(self, device_id: str) -> None:
        """Forget a device."""
        ...

    async def execute(self, command: Command) -> CommandResult:
        """Run a command on its radio; never raises for device faults."""
        ...

    def radios(self) -> Sequence[str]:
        """The names of the running radios."""
        ...

    def health(self) -> Sequence[RadioHealth]:
        """The last health each radio reported."""
        ...

    async def permit_join(self, radio: str, duration_s: float) -> None:
        """Let devices join a radio for a while (KeyError: no such radio)."""
        ...


class RulesPort(Protocol):
    """Rules, scenes and the hub mode (over the rules engine)."""

    def rules(self) -> Sequence[RuleInfo]:
        """Every loaded rule."""
        ...

    def rule(self, rule_id: str) -> RuleInfo:
        """One rule (UnknownRuleError)."""
        ...

    async def apply(self, text: str, file: str, rule_id: str | None) -> Sequence[RuleInfo]:
        """Create or replace the rules of a YAML or JSON text, which must hold exactly the
        rule ``rule_id`` when given (RuleRejectedError)."""
        ...

    async def delete(self, rule_id: str) -> None:
        """Delete a rule created through the API (UnknownRuleError)."""
        ...

    def set_enabled(self, rule_id: str, is_enabled: bool) -> RuleInfo:
        """Enable or disable a rule (UnknownRuleError, RuleRejectedError)."""
        ...

    def traces(self, rule_id: str) -> Sequence[Mapping[str, Any]]:
        """The last traces of a rule as JSON objects (UnknownRuleError)."""
        ...

    def dry_run(self, rule_id: str, states: Sequence[tuple[str, str, Value]],
                at: float | None, trigger_id: str | None) -> Mapping[str, Any]:
        """The trace a run would leave with these states at this time (UnknownRuleError)."""
        ...

    def scenes(self) -> Sequence[str]:
        """The names of the known scenes."""
        ...

    async def apply_scene(self, name: str, origin: str) -> Sequence[CommandResult]:
        """Apply a scene (UnknownSceneError)."""
        ...

    def mode(self) -> str:
        """The hub mode."""
        ...

    def set_mode(self, mode: str) -> None:
        """Set the hub mode."""
        ...


class TokensPort(Protocol):
    """Where token hashes are kept (the store's tokens table)."""

    async def load(self) -> Sequence[tuple[TokenInfo, str]]:
        """Every token with its hash."""
        ...

    async def add(self, token: TokenInfo, token_hash: str) -> None:
        """Keep a new token."""
        ...

    async def delete(self, token_id: str) -> bool:
        """Revoke a token; whether it existed."""
        ...

    async def touch(self, token_id: str, ts: float) -> None:
        """Record a use."""
        ...


class UpdatesPort(Protocol):
    """Update bundles: upload and install one at a time, then reboot into it (hubd.ota)."""

    def status(self) -> UpdateStatus:
        """What runs, and the last install's progress."""
        ...

    async def upload(self, chunks: AsyncIterable[bytes], total_bytes: int | None, origin: str
                     ) -> UpdateStatus:
        """Spool and install a bundle; returns once it is verified and being written.
        UpdateBusyError: an install runs; BundleRejectedError: refused, nothing changed."""
        ...

    async def reboot(self, origin: str) -> None:
        """Reboot into the committed update (UpdateError if none is committed)."""
        ...


@dataclass(frozen=True, slots=True)
class HubInfo:
    """Who the hub is."""

    id: str
    name: str
    version: str
