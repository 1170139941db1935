"""`hubctl update`: the hub's version, upload and install a bundle with progress, reboot into it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hubd.ctl.client import Hub, HubCallError

if TYPE_CHECKING:
    from hubd.ctl.cli import Ctx

DONE = ("committed", "failed")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f}"


def describe(status: dict[str, Any]) -> str:
    """A status as a few lines for people."""
    lines = [f"running  {status['running_version']} from slot {status['booted_slot']}"]
    phase = status["phase"]
    if phase != "idle":
        line = f"update   {status['version'] or '?'}: {phase}"
        if status["total_bytes"] and phase not in DONE:
            line += f" {_mib(status['done_bytes'])} of {_mib(status['total_bytes'])} MiB"
        if status["reason"]:
            line += f" ({status['reason']})"
        lines.append(line)
    if status["phase"] == "committed":
        lines.append("         reboot to run it: hubctl update reboot")
    last = status.get("last_event")
    if last:
        lines.append(f"last     {last.get('kind')} {last.get('version')} "
                     f"(slot {last.get('slot')})")
    return "\n".join(lines)


@click.group(invoke_without_command=True)
@click.pass_context
def update(click_ctx: click.Context) -> None:
    """The hub's version and updates (installing needs an admin token)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from hubd.ctl.cli import _run, _with_hub

    ctx: Ctx = click_ctx.obj
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", "/update")))
    ctx.out(body, describe)


async def _subscribed(ws: Any) -> None:
    """Follow the hub's events from before the upload, and return once the hub says so.

    The hello comes at connect time; the subscription is made when the hub reads our message,
    which may be after it served the upload on its other connection (a loaded hub). Asking for
    every event after the hello's seq, and waiting for the hub's answer, loses none: those
    already published come from the hub's ring."""
    hello = await ws.receive_json(timeout=30)
    await ws.send_json({"id": 1, "type": "subscribe", "since_seq": hello.get("seq", 0)})
    while True:
        message = await ws.receive_json(timeout=30)
        if message.get("type") == "result" and message.get("id") == 1:
            if not message.get("ok"):
                raise HubCallError(f"cannot follow the hub's events: {message.get('error')}")
            return


async def _install(ctx: Ctx, hub: Hub, bundle: Path, reboot: bool) -> dict[str, Any]:
    from hubd.ctl.cli import Progress

    async with hub.websocket() as ws:
        await _subscribed(ws)
        progress = Progress(f"uploading {bundle.name}")
        status: dict[str, Any] = await hub.upload("/update/bundle", bundle)
        progress.tick("verified")
        while status["phase"] not in DONE:
            message = await ws.receive_json(timeout=600)
            if message.get("type") == "resync":
                # Events were lost (a very long install): the status says where it is.
                status = await hub.call("GET", "/update")
                continue
            event = message.get("event") if message.get("type") == "event" else None
            if event is None or event.get("event") != "update_progress":
                continue
            status = {**status, **{k: event[k] for k in ("phase", "version", "done_bytes",
                                                         "total_bytes", "reason")}}
            if status["total_bytes"]:
                pct = status["done_bytes"] * 100 // status["total_bytes"]
                progress.tick(f"{status['phase']} {pct}%")
        if status["phase"] == "failed":
            progress.done(f"update failed: {status['reason']}")
            return status
        progress.done(f"installed {status['version']}; the hub runs it after a reboot")
    if reboot:
        status = await hub.call("POST", "/update/reboot")
    return status


@update.command("install")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reboot", is_flag=True, help="Reboot into the update once it is installed.")
@click.pass_obj
def update_install(ctx: Ctx, bundle: Path, reboot: bool) -> None:
    """Upload BUNDLE (from tools/release) and install it, showing its progress."""
    from hubd.ctl.cli import _run, _with_hub

    status = _run(_with_hub(ctx, lambda hub: _install(ctx, hub, bundle, reboot)))
    ctx.out(status, describe)
    if status["phase"] == "failed":
        sys.exit(1)


@update.command("reboot")
@click.pass_obj
def update_reboot(ctx: Ctx) -> None:
    """Reboot the hub into the installed update."""
    from hubd.ctl.cli import _run, _with_hub

    body = _run(_with_hub(ctx, lambda hub: hub.call("POST", "/update/reboot")))
    ctx.out(body, lambda b: f"rebooting into {b['version']}")

