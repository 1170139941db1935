"""`hubd-relay`: a development CA, claim tokens, and the relay itself (on uvloop)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click

from tools.relay.ca import CertificateAuthority, ClaimBook
from tools.relay.server import Relay, RelaySettings


@click.group()
def main() -> None:
    """The reference cloud relay of the hubd tunnel."""


@main.group()
def ca() -> None:
    """The development certificate authority."""


@ca.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--host", "hosts", multiple=True, default=("localhost", "127.0.0.1"),
              show_default=True, help="Names and addresses of the relay's server certificate.")
def ca_init(directory: Path, hosts: tuple[str, ...]) -> None:
    """Make a CA and a server certificate in DIRECTORY (nothing here is ever committed)."""
    if (directory / "ca.key").exists():
        raise click.ClickException(f"{directory} has a CA already")
    made = CertificateAuthority.init(directory, hosts)
    click.echo(f"CA in {directory}: {made.certificate.subject.rfc4514_string()}")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--hub-id", default=None, help="The hub id to bind (default: a new one).")
@click.option("--ttl-s", type=float, default=7 * 24 * 3600.0, show_default=True)
def claim(directory: Path, hub_id: str | None, ttl_s: float) -> None:
    """Mint a one-time claim token; prints the token, then the hub id."""
    token, bound = ClaimBook(directory / "claims.json").issue(hub_id, ttl_s)
    click.echo(token)
    click.echo(bound)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--tunnel-port", type=int, default=8443, show_default=True)
@click.option("--api-port", type=int, default=8444, show_default=True)
@click.option("--public-host", default="127.0.0.1", show_default=True)
def serve(directory: Path, host: str, tunnel_port: int, api_port: int, public_host: str) -> None:
    """Run the relay until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = RelaySettings(directory, host, tunnel_port, api_port, public_host)
    run_relay(settings)


def run_relay(settings: RelaySettings) -> None:
    """Run a relay on uvloop (an idle mTLS tunnel costs ~50 KiB there, ~300 with asyncio's)."""
    import uvloop

    uvloop.run(_serve(settings))


async def _serve(settings: RelaySettings) -> None:
    relay = Relay(settings)
    await relay.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"relay: tunnels on {relay.tunnel_url}, API on {relay.api_url}")
    try:
        await stop.wait()
    finally:
        await relay.stop()
