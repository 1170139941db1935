"""What hubd and the root update helper say over the helper's unix socket.

One request per connection, one JSON object per line, each way (``hubd.ota.helper`` serves,
``hubd.ota.remote`` asks)::

    hubd → helper   {"op": "info"}
                    {"op": "check", "header": "<base64 of a bundle's first bytes>"}
                    {"op": "install"}    with the open bundle file as SCM_RIGHTS (one fd)
                    {"op": "reboot"}     only while an installed update waits to be booted
    helper → hubd   {"progress": {"phase": "writing", "done": 1048576, "total": 3145728}} ...
                    {"ok": true, "result": {...}}     info: InstallerInfo; install: Installed;
                                                      check, reboot: {"version": "1.2"}
                    {"ok": false, "error": "rejected" | "busy" | "failed", "reason": "..."}

The bundle travels as a file descriptor, never as a path: the helper reads the very file hubd
spooled, opened by hubd, and cannot be pointed at another file of the system. It trusts none
of its bytes: the helper checks signature, policy and hashes as if the bundle came off the
network (and the bytes it writes are hashed again, so a file changed after the check is caught).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from hubd.core.errors import BundleRejectedError, HubError, UpdateBusyError, UpdateError

# A request line: a bundle header is at most ~65 KiB, ~88 KiB in base64.
MAX_REQUEST_BYTES = 256 * 1024
MAX_REPLY_BYTES = 64 * 1024
OPS = ("info", "check", "install", "reboot")


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line."""
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One line as a message; anything else is the peer's protocol error (UpdateError)."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UpdateError(f"the update helper's peer sent no JSON line: {exc}") from exc
    if not isinstance(message, dict):
        raise UpdateError("the update helper's peer sent a JSON value that is not an object")
    return message


def failure(exc: HubError | OSError) -> dict[str, Any]:
    """The reply that carries exc across."""
    if isinstance(exc, BundleRejectedError):
        kind = "rejected"
    elif isinstance(exc, UpdateBusyError):
        kind = "busy"
    else:
        kind = "failed"
    reason = str(exc) if isinstance(exc, HubError) else f"{exc.strerror or exc}"
    return {"ok": False, "error": kind, "reason": reason}


def raise_failure(reply: dict[str, Any]) -> NoReturn:
    """The error a failure reply carries, as the HubError the local updater would raise."""
    reason = str(reply.get("reason", "no reason given"))
    match reply.get("error"):
        case "rejected":
            raise BundleRejectedError(reason)
        case "busy":
            raise UpdateBusyError(reason)
        case _:
            raise UpdateError(reason)
