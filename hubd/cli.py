"""The `hubd` command: run the daemon, run the demo, check a config, say the version."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

import hubd
from hubd.config import HubConfig, check_file, load_config
from hubd.core.errors import ConfigError, HubError
from hubd.daemon import Daemon
from hubd.log import setup_logging

DEFAULT_CONFIG = Path("/etc/hubd/hub.toml")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@click.group()
def main() -> None:
    """hubd: the daemon of a smart-home hub."""


def _fail(message: str, code: int = os.EX_CONFIG) -> None:
    # 78 (EX_CONFIG) is in hubd.service's RestartPreventExitStatus: a bad config is not retried.
    click.echo(f"hubd: {message}", err=True)
    sys.exit(code)


def _load(path: Path) -> HubConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.run(main)
    except* ConfigError as group:
        _fail(f"stopped: {group.exceptions[0]}")
    except* HubError as group:
        _fail(f"stopped: {group.exceptions[0]}", 1)


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="The hub's TOML configuration.")
def run(config_path: Path) -> None:
    """Run the hub (systemd starts this)."""
    config = _load(config_path)
    setup_logging(config.log.level)
    _run(Daemon(config).run())


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
    config = _load(config_path)
    config = dataclasses.replace(
        config, hub=dataclasses.replace(config.hub, state_dir=state_dir.resolve()))
    setup_logging(log_level)
    from hubd.demo import run_demo  # the simulators: only the demo needs them

    _run(run_demo(config, activity_s, cloud=cloud, fleet=fleet))
    click.echo("demo stopped cleanly")


@main.group()
def config() -> None:
    """Work with configuration files."""


@config.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def config_check(path: Path) -> None:
    """Validate a config file without starting anything."""
    try:
        checked = check_file(path)
    except ConfigError as exc:
        _fail(str(exc))
        return
    radios = [f.name for f in dataclasses.fields(checked.radios)
              if getattr(checked.radios, f.name) is not None]
    click.echo(f"{path}: ok (radios: {', '.join(radios) or 'none'})")


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"hubd {hubd.__version__}")


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
