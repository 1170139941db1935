"""Keeping secrets out of log lines, whatever logger wrote them.

Libraries log what they hold: at debug, zigpy prints ``Key(key=01:03:..)``, zigpy-znp the NV
items it writes (``Id=<OsalNvIds.PRECFGKEY..>, Value=b'...'``), aiosqlite the JSON of the
network backup it stores. ``redact`` is applied to every formatted line, in the log writer's
thread (hubd.log), so its regular expressions never cost the event loop anything. It removes:

- the values of fields whose name ends in a secret word (``password=``, ``"network_key": ``,
  ``token:``, ``Authorization:``), quoted or not;
- 128-bit keys written as 16 colon-separated bytes (an IEEE address has 8) or 32 hex digits
  right after a secret word;
- every ``b'...'`` literal on a line that names a key (the NV item carrying it);
- the exact values registered with ``add_secret`` (the Lutron password, a pairing code).
"""

from __future__ import annotations

import re
import threading

MASK = "<redacted>"

_WORDS = (r"password|passwd|passphrase|secret|token|api_?key|network_?key|nwk_?key|link_?key|"
          r"tc_?key|precfgkey|pre_?configured_?key|authorization|credentials?|private_?key")
_NAMED = re.compile(
    rf"""(?ix)
    (\b[\w.-]*(?:{_WORDS})["']?\s*[=:]\s*)      # a name that ends in a secret word, then = or :
    (?:(?:bearer|basic)\s+)?                      # an Authorization scheme
    ( \\"(?:[^"\\]|\\[^"])*\\"                     # a quoted value, inside a quoted one
    | b?"(?:[^"\\]|\\.)*"                          # a quoted value
    | b?'(?:[^'\\]|\\.)*'
    | [^\s,;(){{}}\[\]<>]+ )                        # or a bare one
    """)
_KEY_BYTES = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}:){15}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")
_KEY_HEX = re.compile(rf"(?i)((?:{_WORDS}|\bkey)\W{{0,6}})[0-9a-f]{{32}}\b")
_NAMES_A_KEY = re.compile(r"(?i)key|tclk|sec_material")
_BYTES = re.compile(r"""b"(?:[^"\\]|\\.)*"|b'(?:[^'\\]|\\.)*'""")

_lock = threading.Lock()
_values: tuple[str, ...] = ()


def add_secret(value: str) -> None:
    """Redact this exact value from every log line from now on (too short a value is ignored:
    masking every "a" would garble the log and hide nothing)."""
    global _values
    if len(value) < 4:
        return
    with _lock:
        if value not in _values:
            # Longest first, so a secret that contains another is masked whole.
            _values = tuple(sorted((*_values, value), key=len, reverse=True))


def clear_secrets() -> None:
    """Forget the registered values (for tests)."""
    global _values
    with _lock:
        _values = ()


def redact(line: str) -> str:
    """line with every secret it shows replaced by ``<redacted>``."""
    for value in _values:
        if value in line:
            line = line.replace(value, MASK)
    line = _KEY_BYTES.sub(MASK, line)
    if _NAMES_A_KEY.search(line):
        line = _KEY_HEX.sub(rf"\1{MASK}", line)
        line = _BYTES.sub(MASK, line)
    return _NAMED.sub(_mask_named, line)


def _mask_named(match: re.Match[str]) -> str:
    value = match[2]
    if value in ("None", "null", '""', "''", MASK) or value.startswith(MASK):
        return match[0]  # nothing to hide, and "password=None" says something useful
    return match[1] + MASK
