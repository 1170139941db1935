"""hubctl's human output: aligned tables, one line per event, traces as indented text."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under headers, columns aligned."""
    cells = [list(headers)] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return "?" if value is None else str(value)


def state_summary(state: dict[str, Any]) -> str:
    """A device's state in a few words: ``on, level 40, open``."""
    return ", ".join(f"{name.split('.', 1)[-1]}={_value(v)}" for name, v in sorted(state.items()))


def devices(items: Sequence[dict[str, Any]]) -> str:
    """The devices table."""
    rows = [(d["name"] or "-", d["id"], d["room"] or "-", ",".join(d["capabilities"]),
             "" if d.get("is_available", True) else "UNREACHABLE",
             state_summary(d.get("state", {}))) for d in items]
    return table(("NAME", "ID", "ROOM", "CAPABILITIES", "", "STATE"), rows)


def event_line(message: dict[str, Any]) -> str:
    """One event, for people."""
    e = message["event"]
    kind = e["event"]
    stamp = time.strftime("%H:%M:%S", time.localtime(e.get("ts") or time.time()))
    origin = e.get("context", {}).get("origin", "")
    if kind == "state_changed":
        text = f"{e['device_id']} {e['attribute']} {_value(e['old'])} → {_value(e['new'])}"
    elif kind == "button":
        text = f"{e['device_id']} button {e['button']} {e['action']}"
    elif kind == "command_result":
        text = (f"{e['device_id']} {e['command']} {e['status']} in "
                f"{e['latency_s'] * 1e3:.1f} ms" + (f": {e['error']}" if e.get("error") else ""))
    elif kind == "device_joined":
        text = f"+ {e['device']['name'] or e['device']['id']} ({e['device']['id']})"
    elif kind == "device_left":
        text = f"- {e['device_id']} left"
    elif kind == "availability_changed":
        text = f"{e['device_id']} is {'back' if e['is_available'] else 'unreachable'}"
    elif kind == "rule_ran":
        text = f"rule {e['rule_id']} {e['outcome']} after {e['trigger']}"
    elif kind == "notice":
        text = f"{e['source']}: {e['message']}"
    else:
        text = str(e)
    return f"{message['seq']:>14}  {stamp}  {kind:<20} {text}" + (f"  ({origin})" if origin
                                                                   else "")


def trace(t: dict[str, Any]) -> str:
    """One rule run, as indented text."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t["start_ts"]))
    lines = [f"{when}  run {t['run_id']}: {t['outcome']}"
             + (f" ({t['note']})" if t.get("note") else ""),
             f"  trigger: {t['trigger']['text']}"
             + (f" {_value(t['trigger']['old'])} → {_value(t['trigger']['new'])}"
                if t["trigger"]["kind"] in ("state", "numeric") else "")]
    for depth, text, is_true, detail in t.get("conditions", []):
        lines.append(f"  {'  ' * depth}{'✓' if is_true else '✗'} {text}"
                     + (f" — {detail}" if detail else ""))
    for s in t.get("steps", []):
        took = "" if s["end_ts"] is None else f" {1e3 * (s['end_ts'] - s['start_ts']):.1f} ms"
        lines.append(f"  [{s['path']}] {s['text']}: {s['status'] or 'running'}{took}"
                     + (f" — {s['detail']}" if s.get("detail") else ""))
    return "\n".join(lines)


def when(ts: float | None) -> str:
    """A timestamp for people, or ``never``."""
    return "never" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
