"""`hubctl`: pair with a hub and drive it from a terminal, through its LAN API only.

Human output by default (tables, one line per event); ``--json`` prints the API's JSON for
scripts. The hub's address, pin and token live in the user's config dir (see ``settings``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from hubd.ctl import render
from hubd.ctl import settings as saved
from hubd.ctl.client import Hub, HubCallError, connect
from hubd.ctl.settings import CtlSettings, SettingsError
from hubd.ctl.update import update

T = TypeVar("T")

VERBS: dict[str, tuple[str, str | None]] = {
    "on": ("switch.on", None), "off": ("switch.off", None), "toggle": ("switch.toggle", None),
    "level": ("level.set", "level_pct"), "lock": ("lock.lock", None),
    "unlock": ("lock.unlock", None), "open": ("shade.open", None),
    "close": ("shade.close", None), "position": ("shade.set_position", "position_pct"),
    "heat": ("thermostat.set_heat_setpoint", "celsius"),
    "cool": ("thermostat.set_cool_setpoint", "celsius"),
    "mode": ("thermostat.set_mode", "mode"),
}


class Ctx:
    """What every command gets: where the settings are and how to print."""

    def __init__(self, path: Path, url: str | None, as_json: bool) -> None:
        self.path = path
        self.url_override = url
        self.as_json = as_json

    def settings(self) -> CtlSettings:
        try:
            found = saved.load(self.path)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc
        if self.url_override:
            found = replace(found, url=self.url_override)
        return found

    def save(self, settings: CtlSettings) -> None:
        try:
            saved.save(self.path, settings)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc

    def out(self, body: Any, human: Callable[[Any], str]) -> None:
        click.echo(json.dumps(body, indent=2, ensure_ascii=False) if self.as_json
                   else human(body))


def _run(main: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(main)
    except HubCallError as exc:
        where = f" ({exc.code})" if exc.code else ""
        errors = exc.body.get("errors") or []
        lines = [f"{e['file']}:{e['line']}: {e['field']}: {e['message']}" for e in errors]
        raise click.ClickException("\n".join([f"{exc}{where}", *lines])) from exc
    except KeyboardInterrupt:
        sys.exit(130)


async def _with_hub(ctx: Ctx, fn: Callable[[Hub], Awaitable[T]]) -> T:
    s = ctx.settings()
    if not s.url or not s.token:
        raise click.ClickException("not paired with a hub yet: run `hubctl pair URL` "
                                   "(`hubctl discover` finds it)")
    async with connect(s.url, s.pin_sha256, s.token) as hub:
        return await fn(hub)


class Progress:
    """A spinner on stderr while something waits (a plain line when not a terminal)."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, text: str) -> None:
        self._text = text
        self._n = 0
        self._tty = sys.stderr.isatty()
        if not self._tty:
            click.echo(f"{text}…", err=True)

    def tick(self, detail: str = "") -> None:
        if self._tty:
            frame = self.FRAMES[self._n % len(self.FRAMES)]
            click.echo(f"\r{frame} {self._text} {detail}\033[K", err=True, nl=False)
            self._n += 1

    def done(self, text: str) -> None:
        click.echo(f"\r{text}\033[K" if self._tty else text, err=True)


@click.group()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Settings file (default: the user's config dir, or $HUBCTL_CONFIG).")
@click.option("--url", default=None, help="Use this hub address instead of the paired one.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_context
def main(click_ctx: click.Context, config_path: Path | None, url: str | None,
         as_json: bool) -> None:
    """hubctl: the hub from a terminal, through its LAN API."""
    click_ctx.obj = Ctx(config_path or saved.default_path(), url, as_json)


@main.command()
@click.option("--timeout-s", type=float, default=3.0, show_default=True)
@click.option("--interface", "interfaces", multiple=True, hidden=True)
@click.pass_obj
def discover(ctx: Ctx, timeout_s: float, interfaces: tuple[str, ...]) -> None:
    """Find hubs on the LAN (mDNS _hubd._tcp)."""
    from hubd.ctl.discover import discover as browse

    found = _run(browse(timeout_s, interfaces or None))
    rows = [{"id": f.hub_id, "url": f.url, "api": f.api, "pin_sha256": f.pin_sha256}
            for f in found]
    ctx.out(rows, lambda rows: render.table(("ID", "URL", "API", "PIN"), [
        (r["id"], r["url"], r["api"], r["pin_sha256"][:16] + "…") for r in rows])
        if rows else "no hub answered")


@main.command()
@click.argument("url")
@click.option("--code", default=None, help="The setup code from the hub's label.")
@click.option("--scope", type=click.Choice(["read", "control", "admin"]), default="admin",
              show_default=True)
@click.option("--client", default="hubctl", show_default=True, help="A name for this client.")
@click.option("--pin", default="", help="The pin to expect (from `hubctl discover` or the "
              "label); without it the first answer is trusted.")
@click.option("--wait-s", type=float, default=60.0, show_default=True,
              help="Without --code: how long to wait for the hub's button.")
@click.pass_obj
def pair(ctx: Ctx, url: str, code: str | None, scope: str, client: str, pin: str,
         wait_s: float) -> None:
    """Pair with the hub at URL: press its button (or give --code) and get a token."""
    url = url if "://" in url else f"https://{url}"

    async def go() -> dict[str, Any]:
        async with connect(url, pin, "") as hub:
            info = await hub.call("GET", "/info")
            if hub.seen_pin and info["pin_sha256"] != hub.seen_pin:
                raise HubCallError("the key the hub shows is not the one it announces")
            body = {"client": client, "scope": scope, **({"code": code} if code else {})}
            progress = None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait_s
            while True:
                try:
                    paired: dict[str, Any] = await hub.call("POST", "/pair", json_body=body)
                    break
                except HubCallError as exc:
                    if exc.code != "pairing_closed" or code or loop.time() > deadline:
                        raise
                    if progress is None:
                        progress = Progress(f"press the button on hub {info['id']}")
                    progress.tick(f"{deadline - loop.time():.0f} s")
                    await asyncio.sleep(0.5)
            if progress is not None:
                progress.done("button pressed")
            ctx.save(replace(ctx.settings(), url=url, pin_sha256=hub.seen_pin or pin,
                             token=paired["token"], hub_id=info["id"], events_seq=None))
            return {"hub_id": info["id"], "url": url, "pin_sha256": hub.seen_pin,
                    "scope": paired["scope"], "token_id": paired["id"]}

    result = _run(go())
    ctx.out(result, lambda r: f"paired with {r['hub_id']} at {r['url']} ({r['scope']})\n"
                              f"pin {r['pin_sha256']}")


@main.command()
@click.pass_obj
def info(ctx: Ctx) -> None:
    """Who the hub is, and its certificate pin."""
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", "/info")))
    s = ctx.settings()
    ctx.out(body, lambda b: "\n".join([
        f"hub      {b['name']} ({b['id']})", f"url      {s.url}",
        f"version  hubd {b['version']}, API v{b['api_version']}",
        f"pin      {b['pin_sha256']}",
        f"pairing  {'open' if b['pairing']['is_open'] else 'closed'}"]))


@main.command()
@click.pass_obj
def devices(ctx: Ctx) -> None:
    """The devices and their state."""
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", "/devices")))
    ctx.out(body, lambda b: render.devices(b["devices"]))


def command_of(words: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """``on``, ``level 40``, or ``level.set level_pct=40`` as a command and its arguments."""
    if not words:
        raise click.UsageError("say what to do: on, off, toggle, level 40, lock, ...")
    verb, rest = words[0], words[1:]
    if verb in VERBS:
        name, arg = VERBS[verb]
        if arg is None:
            if rest:
                raise click.UsageError(f"{verb} takes no value")
            return name, {}
        if len(rest) != 1:
            raise click.UsageError(f"{verb} takes one value")
        return name, {arg: _scalar(rest[0])}
    if "." not in verb:
        raise click.UsageError(f"unknown action {verb!r}: use {', '.join(VERBS)} or "
                               "capability.command key=value ...")
    args = {}
    for item in rest:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"{item!r}: arguments are key=value")
        args[key] = _scalar(value)
    return verb, args


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@main.command("set")
@click.argument("device")
@click.argument("action", nargs=-1, required=True)
@click.pass_obj
def set_(ctx: Ctx, device: str, action: tuple[str, ...]) -> None:
    """Command a device: `hubctl set "Hall light" level 40`."""
    name, args = command_of(action)
    path = f"/devices/{device}/commands"
    body = _run(_with_hub(ctx, lambda hub: hub.call("POST", path, json_body={
        "command": name, "args": args})))
    ctx.out(body, lambda r: f"{device}: {r['command']} {r['status']} in "
                            f"{r['latency_s'] * 1e3:.1f} ms"
                            + (f" ({r['error']})" if r.get("error") else ""))
    if body["status"] in ("failed", "expired"):
        sys.exit(1)


@main.command()
@click.argument("radio")
@click.argument("seconds", type=click.FloatRange(0, 254))
@click.pass_obj
def join(ctx: Ctx, radio: str, seconds: float) -> None:
    """Let new devices join RADIO for SECONDS, showing those that do."""

    async def go(hub: Hub) -> list[dict[str, Any]]:
        joined: list[dict[str, Any]] = []
        async with hub.websocket() as ws:
            await ws.send_json({"id": 1, "type": "subscribe"})
            await hub.call("POST", f"/radios/{radio}/join", json_body={"duration_s": seconds})
            progress = Progress(f"{radio} open for new devices")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while (left := deadline - loop.time()) > 0:
                progress.tick(f"{left:.0f} s, {len(joined)} joined")
                try:
                    message = await ws.receive_json(timeout=min(0.5, left))
                except TimeoutError:
                    continue
                if message.get("type") == "event" and \
                        message["event"]["event"] == "device_joined":
                    joined.append(message["event"]["device"])
                    if not ctx.as_json:
                        click.echo(f"\r+ {message['event']['device']['id']}\033[K", err=True)
            progress.done(f"{radio} closed: {len(joined)} joined")
        return joined

    found = _run(_with_hub(ctx, go))
    ctx.out({"joined": found}, lambda b: render.devices(b["joined"]) if b["joined"]
            else "no device joined")


@main.group()
def rules() -> None:
    """Rules on the hub."""


@rules.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def rules_apply(ctx: Ctx, file: Path) -> None:
    """Create or replace the rules of a YAML (or JSON) file."""
    text = file.read_text(encoding="utf-8")
    kind = "application/json" if file.suffix == ".json" else "application/yaml"
    body = _run(_with_hub(ctx, lambda hub: hub.call("POST", "/rules", text=text,
                                                    content_type=kind)))
    ctx.out(body, lambda b: "\n".join(
        f"applied {r['id']}" + ("" if r["is_enabled"] else f" (disabled: {r['reason']})")
        for r in b["rules"]))


@rules.command("list")
@click.pass_obj
def rules_list(ctx: Ctx) -> None:
    """The rules and their state."""
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", "/rules")))
    ctx.out(body, lambda b: render.table(("ID", "NAME", "ENABLED", "RUNS", "FROM", "WHY"), [
        (r["id"], r["name"], "yes" if r["is_enabled"] else "no", r["runs_started"],
         r["origin"], r["reason"]) for r in b["rules"]]))


@rules.command("trace")
@click.argument("rule")
@click.option("--last", type=int, default=5, show_default=True)
@click.pass_obj
def rules_trace(ctx: Ctx, rule: str, last: int) -> None:
    """Why a rule did (or did not) run: its last traces."""
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", f"/rules/{rule}/traces")))
    body = {"traces": body["traces"][-last:]}
    ctx.out(body, lambda b: "\n\n".join(render.trace(t) for t in b["traces"])
            or f"rule {rule} has not run yet")


@main.command()
@click.pass_obj
def health(ctx: Ctx) -> None:
    """Radios, tunnel and versions."""
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", "/health")))
    ctx.out(body, lambda b: "\n".join([
        f"hub is {b['status']}",
        render.table(("RADIO", "STATUS", "DETAIL"), [
            (r["radio"], r["status"], r.get("detail", "")) for r in b["radios"]]),
        "versions: " + ", ".join(f"{k} {v}" for k, v in sorted(b["versions"].items()))]))


@main.command()
@click.option("--since", type=int, default=None, help="Resume after this seq (default: where "
              "the last `hubctl events` stopped).")
@click.option("--fresh", is_flag=True, help="Start from now, not from where it stopped.")
@click.option("--count", type=int, default=0, help="Stop after this many events (0: follow).")
@click.pass_obj
def events(ctx: Ctx, since: int | None, fresh: bool, count: int) -> None:
    """Follow the hub's events; resumes where it stopped, across reconnects."""
    from hubd.ctl.follow import follow

    start = None if fresh else since if since is not None else ctx.settings().events_seq
    _run(follow(ctx, start, count))


@main.group(invoke_without_command=True)
@click.pass_context
def tokens(click_ctx: click.Context) -> None:
    """The paired clients and their tokens (admin)."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Ctx = click_ctx.obj
    body = _run(_with_hub(ctx, lambda hub: hub.call("GET", "/tokens")))
    ctx.out(body, lambda b: render.table(("ID", "CLIENT", "SCOPE", "LAST USED"), [
        (t["id"], t["client"], t["scope"], render.when(t["last_used"])) for t in b["tokens"]]))


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_obj
def tokens_revoke(ctx: Ctx, token_id: str) -> None:
    """Revoke a client's token at once."""
    _run(_with_hub(ctx, lambda hub: hub.call("DELETE", f"/tokens/{token_id}")))
    ctx.out({"revoked": token_id}, lambda b: f"revoked {b['revoked']}")


main.add_command(update)
