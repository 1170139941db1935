"""The `hubd` command: run the daemon, run the demo, check a config, say the version."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import hubd
from hubd.core.errors import ConfigError, HubError, StartError
from hubd.log import flush_logging, setup_logging, shutdown_logging
from hubd.redact import add_secret

# The config, its rules and the daemon are imported by the commands that use them: `hubd run`
# sets the collector for the start (hubd.startgc) before they load.
if TYPE_CHECKING:
    from hubd.config import CheckedConfig, HubConfig

DEFAULT_CONFIG = Path("/etc/hubd/hub.toml")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@click.group()
def main() -> None:
    """hubd: the daemon of a smart-home hub."""


def _fail(message: str, code: int = os.EX_CONFIG) -> None:
    # 78 (EX_CONFIG) is in hubd.service's RestartPreventExitStatus: a bad config is not retried.
    flush_logging(1.0)  # the log lines that led here come first
    click.echo(f"hubd: {message}", err=True)
    sys.exit(code)


def _load(path: Path) -> HubConfig:
    """The TOML alone, for commands that need no more of it (tunnel provision)."""
    from hubd.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _check(path: Path, *, radio_libraries: bool = True) -> CheckedConfig:
    from hubd.config import check_config

    try:
        return check_config(path, radio_libraries=radio_libraries)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _register_secrets(config: HubConfig) -> None:
    """Secrets from the config that no log line may show, whatever logger writes it."""
    if config.radios.lutron is not None:
        add_secret(config.radios.lutron.password)


def _run(main: Coroutine[Any, Any, None]) -> None:
    # The exit happens after the try: Python before 3.11.4 (Debian 12's 3.11.2, the hub's) wraps
    # an exception raised inside ``except*`` in a group, so sys.exit(78) there became a
    # traceback and exit code 1, which systemd restarts forever.
    failure: tuple[str, int] | None = None
    try:
        _run_bounded(main)
    except* ConfigError as group:
        failure = (f"stopped: {group.exceptions[0]}", os.EX_CONFIG)
    except* StartError as group:
        # 73 (EX_CANTCREAT), in RestartPreventExitStatus too: a read-only state directory
        # stays read-only however often systemd restarts us.
        failure = failure or (f"stopped: {group.exceptions[0]}", os.EX_CANTCREAT)
    except* HubError as group:
        failure = failure or (f"stopped: {group.exceptions[0]}", 1)
    if failure is not None:
        _fail(*failure)


# After main returns, what is left gets this long to end; asyncio.run would wait forever for a
# task that ignores cancellation (the daemon has already logged it as abandoned).
_LEFTOVER_TIMEOUT_S = 1.0


def _run_bounded(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run(main) on the daemon's loop, except that the clean-up after it cannot hang
    the exit."""
    from hubd.loop import new_loop

    loop = new_loop()
    try:
        loop.run_until_complete(main)
    finally:
        left = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in left:
            task.cancel()
        if left:
            _, pending = loop.run_until_complete(
                asyncio.wait(left, timeout=_LEFTOVER_TIMEOUT_S))
        else:
            pending = set()
        if pending:
            # Threads may be stuck with them (zigpy's database thread); Python's exit would
            # join those forever. Write the log, then leave at once.
            shutdown_logging()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(0 if sys.exc_info()[0] is None else 1)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="The hub's TOML configuration.")
def run(config_path: Path) -> None:
    """Run the hub (systemd starts this)."""
    from hubd import startgc

    # Before the imports: the collector keeps to the young generation until READY=1.
    thresholds = gc.get_threshold()
    startgc.while_starting()
    try:
        _run_hub(config_path)
    finally:
        gc.set_threshold(*thresholds)  # for callers in the same process (tests)


def _run_hub(config_path: Path) -> None:
    # First, in a thread: the radio libraries and the LAN API the file turns on, so that
    # zigpy's import and start (the longest chain) overlap the check and the store's load.
    from hubd import prefetch

    prefetch.start(config_path)
    from hubd.daemon import Daemon

    # The same check as `hubd config check`, before anything starts: a bad file exits 78 here.
    # Only the radio libraries' own checks (zigpy's schema) come later, from the daemon, which
    # imports those libraries while the other radios connect; they too exit 78.
    checked = _check(config_path, radio_libraries=False)
    config = checked.config
    _register_secrets(config)
    setup_logging(config.log.level, debug_loggers=config.log.debug_loggers)
    _run(Daemon(config, rules=checked.document, config_path=config_path).run())


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              default=EXAMPLES / "hub.toml", show_default=True)
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path("state/demo"),
              show_default=True, help="Where the demo keeps its SQLite database.")
@click.option("--activity-s", type=float, default=3.0, show_default=True,
              help="A simulated sensor event or button press about this often.")
@click.option("--log-level", default="warning", show_default=True)
@click.option("--cloud/--no-cloud", default=True, show_default=True,
              help="Also run a local relay and the tunnel to it.")
@click.option("--fleet", is_flag=True,
              help="The cloud as a fleet: nats-server and two relays (hub on one, app on the "
                   "other).")
def demo(config_path: Path, state_dir: Path, activity_s: float, log_level: str,
         cloud: bool, fleet: bool) -> None:
    """Run the real daemon on simulated radios and print what happens, until Ctrl-C."""
    config = _check(config_path).config  # the same check as `run` (rules re-read by the demo)
    config = dataclasses.replace(
        config, hub=dataclasses.replace(config.hub, state_dir=state_dir.resolve()))
    _register_secrets(config)
    setup_logging(log_level, debug_loggers=config.log.debug_loggers)
    from hubd.demo import run_demo  # the simulators: only the demo needs them

    _run(run_demo(config, activity_s, cloud=cloud, fleet=fleet))
    click.echo("demo stopped cleanly")


@main.group()
def config() -> None:
    """Work with configuration files."""


@config.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def config_check(path: Path) -> None:
    """Validate a config file, its rules and its radios' settings without starting anything.

    It checks what `hubd run` checks before it starts; rule problems, which the daemon survives
    by leaving those rules out, fail the check as well.
    """
    checked = _check(path)
    if checked.rule_problems:
        for problem in checked.rule_problems:
            click.echo(f"hubd: {problem}", err=True)
        _fail(f"{len(checked.rule_problems)} rule problem(s); the daemon would start without "
              "those rules")
    radios = [f.name for f in dataclasses.fields(checked.config.radios)
              if getattr(checked.config.radios, f.name) is not None]
    click.echo(f"{path}: ok (radios: {', '.join(radios) or 'none'}), "
               f"{len(checked.rules)} rules")


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"hubd {hubd.__version__}")


@main.command("pair-button")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="The hub's TOML configuration (for its state_dir).")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="The hub's state directory (instead of reading --config); the demo's is "
                   "state/demo.")
def pair_button(config_path: Path, state_dir: Path | None) -> None:
    """Press the hub's pairing button: `POST /api/v1/pair` works for 60 s."""
    from hubd.api.button import press

    directory = (state_dir.resolve() if state_dir is not None
                 else _load(config_path).hub.state_dir) / "api"
    try:
        press(directory)
    except HubError as exc:
        _fail(str(exc), 1)
    click.echo("pairing is open for 60 s: run `hubctl pair URL` now")


@main.group()
def tunnel() -> None:
    """The cloud tunnel: provision this hub's identity."""


@tunnel.command("provision")
@click.option("--relay", "relay_url", required=True, help="The relay's HTTPS URL.")
@click.option("--claim", "claim_token", required=True, help="The one-time claim token.")
@click.option("--ca-file", type=click.Path(path_type=Path, exists=True), default=None,
              help="Trust this CA for the relay (a development relay); default: the system's.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True)
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="Override the config's state directory.")
def tunnel_provision(relay_url: str, claim_token: str, ca_file: Path | None, config_path: Path,
                     state_dir: Path | None) -> None:
    """Make the hub's key if needed, send a CSR with the claim, store the certificate."""
    from hubd.tunnel.client import identity_dir
    from hubd.tunnel.identity import Identity
    from hubd.tunnel.provision import provision

    if state_dir is None:
        state_dir = _load(config_path).hub.state_dir if config_path.exists() else Path("state")
    try:
        endpoint = provision(Identity(identity_dir(state_dir)), relay_url, claim_token, ca_file)
    except HubError as exc:
        _fail(str(exc), 1)
        return
    click.echo(f"provisioned as {endpoint.hub_id}; the tunnel will dial {endpoint.url}")


# -- updates (hubd.ota): what the update units and a developer run ----------------------------

UPDATE_CONFIG = Path("/etc/hubd/update.toml")
update_config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=UPDATE_CONFIG,
    show_default=True, help="The updater's settings (slots, boot env, keys).")


def _updater(config_path: Path) -> Any:
    from hubd.ota.config import load_update_config
    from hubd.ota.host import open_updater

    try:
        return open_updater(load_update_config(config_path))
    except HubError as exc:
        _fail(str(exc), 1)


@main.group()
def update() -> None:
    """Signed A/B updates: install a bundle, mark a booted update good, detect a rollback."""


@update.command("install")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@update_config_option
def update_install(bundle: Path, config_path: Path) -> None:
    """Verify BUNDLE and write it to the inactive slot; reboot to run it."""
    updater = _updater(config_path)
    last = [-1]

    def progress(done: int, total: int) -> None:
        pct = done * 100 // total
        if pct != last[0] and (pct % 5 == 0 or done == total):
            click.echo(f"writing slot: {pct}% ({done >> 20} of {total >> 20} MiB)", err=True)
            last[0] = pct

    try:
        done = updater.install(bundle, progress)
    except HubError as exc:
        _fail(str(exc), 1)
        return
    click.echo(f"installed {done.version} into slot {done.slot} (signed by key {done.key_id}); "
               "reboot to run it")


@update.command("rollback-check")
@update_config_option
def update_rollback_check(config_path: Path) -> None:
    """At boot, before hubd: start an update's trial, or finish a rollback."""
    try:
        click.echo(_updater(config_path).rollback_check())
    except HubError as exc:
        _fail(str(exc), 1)


@update.command("mark-good")
@update_config_option
@click.option("--healthy-for-s", type=float, help="Override update.toml's healthy_for_s.")
@click.option("--reboot-if-unhealthy", is_flag=True,
              help="On a trial that never gets healthy, reboot (toward the rollback).")
def update_mark_good(config_path: Path, healthy_for_s: float | None,
                     reboot_if_unhealthy: bool) -> None:
    """At boot, after hubd: mark the booted slot good once hubd stays healthy."""
    from hubd.ota.host import systemd_probe
    from hubd.ota.install import wait_healthy

    updater = _updater(config_path)
    config = updater.config
    window_s = config.healthy_for_s if healthy_for_s is None else healthy_for_s

    def is_healthy() -> bool:
        return wait_healthy(lambda: systemd_probe(config.health_unit), window_s,
                            config.health_timeout_s)

    try:
        click.echo(updater.mark_good(is_healthy))
    except HubError as exc:
        from hubd.core.errors import TrialFailedError

        if reboot_if_unhealthy and isinstance(exc, TrialFailedError):
            import subprocess

            click.echo(f"hubd: {exc}; rebooting", err=True)
            subprocess.run(["systemctl", "--no-block", "reboot"], check=False, timeout=30)
        _fail(str(exc), 1)


@update.command("status")
@update_config_option
def update_status(config_path: Path) -> None:
    """Print the booted slot, the boot order and what the updater remembers."""
    import json

    from hubd.ota.bootenv import BootPlan
    from hubd.ota.state import UpdateState

    updater = _updater(config_path)
    plan = BootPlan.read(updater.env)
    state = UpdateState.load(updater.state_path)
    click.echo(json.dumps({"booted": updater.booted, "running": str(updater.running),
                           "boot_order": list(plan.order), "tries_left": plan.left,
                           "slots": state.slots, "pending": state.pending, "floor": state.floor,
                           "last_event": state.last_event}, indent=1))


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              default=Path("/data/identity"), show_default=True,
              help="Where the identity lives (on the data partition).")
def provision(directory: Path) -> None:
    """Make the hub's identity (device key, hub id, setup code) if missing; first boot runs it."""
    from hubd.provision import provision as make_identity

    try:
        identity = make_identity(directory)
    except (HubError, OSError) as exc:
        _fail(f"provisioning failed: {exc}", 1)
        return
    made = ", ".join(identity.created) or "nothing (already provisioned)"
    click.echo(f"hub_id={identity.hub_id} created: {made}")
