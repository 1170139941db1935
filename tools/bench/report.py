"""Tables of figures, and the percentiles benchmarks report."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Table:
    """One benchmark's figures: a title, column names, rows of values and the path they cover."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)
    note: str = ""
    path: str = ""  # what the figures cover, from where the clock starts to where it stops

    def render(self) -> str:
        """The table as aligned text."""
        cells = [tuple(self.columns)] + [tuple(_fmt(v) for v in row) for row in self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.columns))]
        lines = [f"## {self.title}"]
        if self.path:
            lines.append(f"path: {self.path}")
        for n, row in enumerate(cells):
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def percentiles(samples_s: Sequence[float]) -> tuple[float, float, float]:
    """p50, p99 and max of latencies in seconds, returned in milliseconds."""
    if not samples_s:
        return (float("nan"),) * 3
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (statistics.median(ordered) * 1e3, p99 * 1e3, ordered[-1] * 1e3)
