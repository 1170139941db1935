"""Updates through the tunnel: the cloud's ``update`` commands to the hub itself.

A command whose device is ``hub`` and capability ``update`` is not a device command: it goes to
the ``UpdateOffers`` port, with the usual id (run at most once) and deadline.

    name     args                        the hub does                       result
    ──────   ─────────────────────────   ────────────────────────────────   ──────────────────
    offer    url, size_bytes (optional)  fetch the bundle at url and        accepted, with the
                                         install it, in the background      status; or failed
    status   —                           nothing                            confirmed + status
    reboot   —                           reboot into the committed update   confirmed; failed
                                                                            if none committed

Why a URL and not chunks over the tunnel: a root filesystem image is hundreds of MiB, the tunnel
carries 64 KiB envelopes through every relay and NATS with per-command deadlines of seconds, and
its outbox and ledger are sized for events. A URL (the release's object store or CDN) lets the
hub fetch at its own pace with a size cap and a deadline; the ed25519 signature, checked on the
hub before a byte reaches the slot, makes the transport irrelevant to trust. Progress and the
outcome come up the tunnel as ``update`` state messages (coalesced: the latest one matters).
"""

from __future__ import annotations

from typing import Any

from hubd.core.errors import HubError, UpdateBusyError
from hubd.core.model import Origin
from hubd.tunnel.ports import UpdateOffers
from hubd.tunnel.session import CommandReceived

HUB_TARGET = "hub"
UPDATE_CAPABILITY = "update"


def _failed(error: str, code: str, **extra: Any) -> dict[str, Any]:
    # code: busy (an install runs), refused (the hub will not), invalid (bad args), off.
    return {"status": "failed", "latency_ms": 0.0, "error": error, "code": code, **extra}


async def run_update_command(updates: UpdateOffers | None, command: CommandReceived
                             ) -> dict[str, Any]:
    """Run one update command; the result body for the cloud (never raises a HubError)."""
    if updates is None:
        return _failed("this hub takes no updates (no [update] in its configuration)", "off")
    args = command.args
    origin = Origin.CLOUD.value
    try:
        match command.name:
            case "offer":
                url, size = args.get("url"), args.get("size_bytes")
                if not isinstance(url, str) or not (size is None or (
                        isinstance(size, int) and not isinstance(size, bool) and size > 0)):
                    return _failed("offer needs url (a string) and size_bytes (a positive "
                                   "integer, optional)", "invalid")
                status = updates.offer(url, size, origin)
                return {"status": "accepted", "latency_ms": 0.0, "error": None,
                        "update": status.as_json()}
            case "status":
                return {"status": "confirmed", "latency_ms": 0.0, "error": None,
                        "update": updates.status().as_json()}
            case "reboot":
                await updates.reboot(origin)
                return {"status": "confirmed", "latency_ms": 0.0, "error": None,
                        "update": updates.status().as_json()}
            case _:
                return _failed(f"unknown update command {command.name!r} (offer, status, "
                               "reboot)", "invalid")
    except UpdateBusyError as exc:
        return _failed(str(exc), "busy", update=updates.status().as_json())
    except HubError as exc:
        return _failed(str(exc), "refused", update=updates.status().as_json())
