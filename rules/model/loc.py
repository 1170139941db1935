"""Where an item was written (``Loc``) and what could not be loaded there (``RuleProblem``).

Parsing, resolving and enabling report each problem at the place the user wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Loc", "RuleProblem"]


@dataclass(frozen=True, slots=True)
class Loc:
    """Where an item was written: file, 1-based line and the field path inside the rule."""

    file: str
    line: int
    field: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """Why a rule (or a scene) could not be loaded or enabled, and where."""

    file: str
    line: int
    field: str
    message: str
    rule_id: str = ""

    @classmethod
    def at(cls, loc: Loc, message: str, rule_id: str = "") -> RuleProblem:
        """A problem at an item's location."""
        return cls(loc.file, loc.line, loc.field, message, rule_id)

    def __str__(self) -> str:
        rule = f"rule {self.rule_id}: " if self.rule_id else ""
        field = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {rule}{field}{self.message}"
