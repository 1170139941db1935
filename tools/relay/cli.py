"""`hubd-relay`: a development CA, claim tokens, and the relay itself (on uvloop)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
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
@click.option("--nats", "nats_url", default=None,
              help="Share the fleet over NATS (JetStream) at this URL; default: stand alone.")
@click.option("--admit-per-s", type=float, default=None,
              help="New tunnels a second once ramped up (default: no limit).")
@click.option("--drain-spread-s", type=float, default=60.0, show_default=True)
def serve(directory: Path, host: str, tunnel_port: int, api_port: int, public_host: str,
          nats_url: str | None, admit_per_s: float | None, drain_spread_s: float) -> None:
    """Run the relay until SIGTERM or Ctrl-C (then drain: its hubs go elsewhere, spread out)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = RelaySettings(directory, host, tunnel_port, api_port, public_host,
                             admit_per_s=admit_per_s, drain_spread_s=drain_spread_s)
    run_relay(settings, nats_url)


def run_relay(settings: RelaySettings, nats_url: str | None = None) -> None:
    """Run a relay on uvloop (an idle mTLS tunnel costs ~50 KiB there, ~300 with asyncio's)."""
    import uvloop

    uvloop.run(_serve(settings, nats_url))


async def _serve(settings: RelaySettings, nats_url: str | None = None) -> None:
    if nats_url is not None:
        import nats

        from tools.relay.nats_fleet import JetStreamEvents, NatsRouter

        nc = await nats.connect(nats_url, name="hubd-relay")
        store = JetStreamEvents(nc)
        await store.setup()
        # The relay's name in presence answers: the pod's name on a cluster, unique per process.
        relay_id = f"{socket.gethostname()}-{os.getpid()}"
        relay = Relay(settings, NatsRouter(nc, relay_id), store=store)
    else:
        relay = Relay(settings)
    await relay.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"relay: tunnels on {relay.tunnel_url}, API on {relay.api_url}")
    try:
        await stop.wait()
        await relay.drain()
    finally:
        await relay.stop()
