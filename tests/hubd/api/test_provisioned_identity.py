"""The LAN API speaks as the identity that first-boot provisioning made (hub id, setup code)."""

from __future__ import annotations

from pathlib import Path

from hubd.config import parse_config
from hubd.daemon import Daemon
from hubd.provision import provision, read_identity
from tests.hubd.api.conftest import client_session, run_until_ready, stop_hub

HUB_TOML = """
[hub]
name = "provisioned hub"
state_dir = "{state}"
identity_dir = "{identity}"

[api]
host = "127.0.0.1"
port = 0
is_zeroconf = false

[radios.virtual]
devices = [{{ address = "1", name = "Hall light", kind = "dimmer" }}]
"""


async def test_api_uses_the_provisioned_id_and_setup_code(tmp_path: Path) -> None:
    made = provision(tmp_path / "identity")
    text = HUB_TOML.format(state=tmp_path / "state", identity=tmp_path / "identity")
    daemon = Daemon(parse_config(text, str(tmp_path / "hub.toml")), ready_timeout_s=10.0)
    task = await run_until_ready(daemon)
    try:
        assert daemon.api is not None
        assert daemon.api.setup_code == made.setup_code
        async with client_session() as s:
            async with s.get(f"{daemon.api.url}/api/v1/info") as resp:
                assert (await resp.json())["id"] == made.hub_id
            async with s.post(f"{daemon.api.url}/api/v1/pair", json={
                    "client": "phone", "scope": "read", "code": made.setup_code}) as resp:
                assert resp.status == 201, await resp.text()
    finally:
        await stop_hub(daemon, task)


def test_no_identity_yet_reads_as_none(tmp_path: Path) -> None:
    assert read_identity(tmp_path) is None
    provision(tmp_path)
    found = read_identity(tmp_path)
    assert found is not None and found.hub_id.startswith("hub-")
