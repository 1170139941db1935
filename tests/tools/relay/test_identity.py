"""Who may connect: certificates refused at TLS, claims used once, two hubs with one identity,
renewal over the tunnel, and a relay that sends garbage."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from websockets.asyncio.server import ServerConnection, serve

from hubd.tunnel.client import identity_dir
from hubd.tunnel.connection import End
from hubd.tunnel.identity import Identity, IdentityError
from hubd.tunnel.protocol import SUBPROTOCOL
from hubd.tunnel.provision import provision
from tests.tunnel_harness import FAST, hub_config, provision_hub, running_hub, until
from tools.relay.ca import CertificateAuthority, ClaimBook, server_context
from tools.relay.server import Relay, RelaySettings


def _rewrite_certificate(state_dir: Path, ca: CertificateAuthority, *, days: float,
                         not_before: datetime.datetime | None = None) -> None:
    identity = Identity(identity_dir(state_dir))
    certificate = ca.sign(identity.ensure_key().public_key(), "hub-x", days=days,
                          not_before=not_before)
    identity.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@pytest.mark.parametrize("case", ["expired", "not_yet_valid", "foreign_ca"])
async def test_a_wrong_certificate_is_refused_and_retried_slowly(
        relay: Relay, tmp_path: Path, case: str) -> None:
    state = tmp_path / "state"
    await provision_hub(relay, state, "hub-x")
    now = datetime.datetime.now(datetime.UTC)
    if case == "expired":
        _rewrite_certificate(state, relay.ca, days=1, not_before=now - datetime.timedelta(days=2))
    elif case == "not_yet_valid":
        _rewrite_certificate(state, relay.ca, days=1, not_before=now + datetime.timedelta(days=1))
    else:
        _rewrite_certificate(state, CertificateAuthority.init(tmp_path / "other"), days=1)
    async with running_hub(hub_config(state, url=relay.tunnel_url)) as hub:
        await until(lambda: hub.tunnel.stats.last_end is not None, 3.0, "the first attempt")
        end = hub.tunnel.stats.last_end
        assert end is not None and end.kind is End.SLOW, end
        await until(lambda: any(n.source == "tunnel" for n in hub.notices), 2.0, "a notice")
        await asyncio.sleep(0.5)
        assert hub.tunnel.stats.attempts == 1  # slow retry: 1-1.5 s in these settings
        assert relay.router.online() == []


async def test_a_claim_token_works_once(relay: Relay, tmp_path: Path) -> None:
    token, hub_id = ClaimBook(relay.settings.ca_dir / "claims.json").issue()
    first = Identity(tmp_path / "a")
    endpoint = await asyncio.to_thread(provision, first, relay.api_url, token, relay.ca.ca_path)
    assert endpoint.hub_id == hub_id == first.hub_id()
    assert first.key_path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(IdentityError, match="403"):
        await asyncio.to_thread(provision, Identity(tmp_path / "b"), relay.api_url, token,
                                relay.ca.ca_path)


async def test_two_hubs_with_one_identity_supersede_each_other_slowly(
        relay: Relay, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "a", "hub-twin")
    shutil.copytree(identity_dir(tmp_path / "a"), identity_dir(tmp_path / "b"))
    async with running_hub(hub_config(tmp_path / "a", url=relay.tunnel_url)) as a:
        await until(a.tunnel.connected.is_set, 3.0, "hub a up")
        async with running_hub(hub_config(tmp_path / "b", url=relay.tunnel_url)) as b:
            await until(lambda: a.tunnel.stats.last_end is not None, 3.0, "a superseded")
            assert a.tunnel.stats.last_end.kind is End.SLOW  # type: ignore[union-attr]
            assert "4001" in a.tunnel.stats.last_end.detail  # type: ignore[union-attr]
            await asyncio.sleep(2.0)
            # Each takes over from the other at most once per slow retry (1-1.5 s): no storm.
            assert relay.router.superseded <= 4  # type: ignore[attr-defined]
            assert a.tunnel.stats.attempts + b.tunnel.stats.attempts <= 6


async def test_the_certificate_is_renewed_over_the_tunnel(relay: Relay, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", "hub-renew")
    identity = Identity(identity_dir(tmp_path / "state"))
    before = identity.certificate().serial_number
    settings = FAST.__class__(**{**{f: getattr(FAST, f) for f in FAST.__dataclass_fields__},
                                 "renew_before_s": 365 * 24 * 3600.0})
    async with running_hub(hub_config(tmp_path / "state", settings, relay.tunnel_url)):
        await until(lambda: identity.certificate().serial_number != before, 3.0, "a new cert")
    assert identity.hub_id() == "hub-renew"


async def test_garbage_from_the_relay_closes_with_a_protocol_error_and_the_hub_comes_back(
        relay: Relay, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", "hub-g")
    closes: list[int | None] = []

    async def garbage(websocket: ServerConnection) -> None:
        await websocket.recv()  # the hello
        await websocket.send(b"\xff\xfe not cbor")
        await websocket.wait_closed()
        closes.append(websocket.close_code)

    async with serve(garbage, "127.0.0.1", 0, ssl=server_context(relay.ca, require_client=True),
                     subprotocols=[SUBPROTOCOL]) as bad:  # type: ignore[list-item]
        port = bad.sockets[0].getsockname()[1]
        async with running_hub(hub_config(tmp_path / "state",
                                          url=f"wss://127.0.0.1:{port}/")) as hub:
            await until(lambda: len(closes) >= 2, 3.0, "two attempts, each closed by the hub")
            assert closes[0] == 4000
            end = hub.tunnel.stats.last_end
            assert end is not None and end.kind is End.FAILED and "not CBOR" in end.detail


async def test_a_revoked_hub_gets_403_and_retries_slowly(relay_settings: RelaySettings,
                                                         tmp_path: Path) -> None:
    relay = Relay(dataclasses.replace(relay_settings, revoked=frozenset({"hub-revoked"})))
    await relay.start()
    try:
        await provision_hub(relay, tmp_path / "state", "hub-revoked")
        async with running_hub(hub_config(tmp_path / "state", url=relay.tunnel_url)) as hub:
            await until(lambda: hub.tunnel.stats.last_end is not None, 3.0, "the first attempt")
            end = hub.tunnel.stats.last_end
            assert end is not None and end.kind is End.SLOW and "HTTP 403" in end.detail
            await until(lambda: any("HTTP 403" in n.message for n in hub.notices), 2.0)
            await asyncio.sleep(0.5)
            assert hub.tunnel.stats.attempts == 1
    finally:
        await relay.stop()
