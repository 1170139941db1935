"""Updates through the LAN API, measured from outside: a real `hubd run` process with file
slots, and a client in the benchmark's own process uploading a signed bundle over TLS.

The clock starts at the upload's first byte and stops at the WebSocket's ``committed`` event:
the bundle is spooled to disk, its signature, policy and payload hash checked, the payload written
to the inactive slot (fsync), read back from it, and the boot order committed. The hub's CPU and
its peak RSS (VmHWM) come from /proc: the bundle is streamed, never held, so the peak barely moves.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.ota.bootenv import BootPlan, FileBootEnv
from hubd.ota.bundle import Manifest, Version, write_bundle
from tools.bench.footprint import cpu_s
from tools.bench.hubproc import free_port, paired_hub
from tools.bench.report import Table

CHUNK = 1 << 20


def _hwm_mib(pid: int) -> float:
    """The process's peak resident memory (proc(5): VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _hardware(root: Path, size: int) -> Path:
    """Slots, boot env, keys and update.toml as files; the bundle of a random image of size."""
    hw = root / "hw"
    (hw / "keys").mkdir(parents=True)
    key = Ed25519PrivateKey.generate()
    (hw / "keys/release.pub").write_text(key.public_key().public_bytes_raw().hex())
    for slot in ("a", "b"):
        with open(hw / f"slot-{slot}", "wb") as out:
            out.truncate(size)
    (hw / "os-release").write_text("IMAGE_VERSION=1.0\n")
    FileBootEnv(hw / "bootenv").set(BootPlan(("A", "B"), {"A": 3, "B": 3}).values())
    (hw / "update.toml").write_text(
        f'board = "bench"\nslot_a = "{hw}/slot-a"\nslot_b = "{hw}/slot-b"\n'
        f'slot_size_bytes = {size}\nbootenv_path = "{hw}/bootenv"\nkeys_dir = "{hw}/keys"\n'
        f'update_dir = "{hw}/data/update"\ndata_dir = "{hw}/data/hubd"\n'
        f'os_release = "{hw}/os-release"\nbooted_slot = "A"\n')
    digest = hashlib.sha256()
    with open(root / "payload", "wb") as out:
        for _ in range(size // CHUNK):
            chunk = os.urandom(CHUNK)
            digest.update(chunk)
            out.write(chunk)
    manifest = Manifest(Version.parse("1.1"), "bench", size, digest.hexdigest(),
                        Version.parse("0"))
    with open(root / "hub.bundle", "wb") as out, open(root / "payload", "rb") as payload:
        write_bundle(out, manifest, [key], payload)
    return root / "hub.bundle"


async def _upload(root: Path, bundle: Path) -> tuple[float, float, float, float, float]:
    """(s to 202, s to committed, hub CPU s, hub peak RSS before and after, MiB)."""
    port = free_port()
    (root / "hub.toml").write_text(
        f'[hub]\nstate_dir = "{root / "state"}"\n[log]\nlevel = "warning"\n'
        f'[api]\nhost = "127.0.0.1"\nport = {port}\nis_zeroconf = false\n'
        f'[update]\nconfig = "{root / "hw/update.toml"}"\n'
        '[radios.virtual]\ndevices = [{ address = "1", name = "Lamp", kind = "dimmer" }]\n')
    async with paired_hub(root / "hub.toml", port) as (url, session, headers, pid), \
            session.ws_connect(f"{url}/api/v1/ws", headers=headers) as ws:
        await ws.send_json({"id": 1, "type": "subscribe"})
        hwm, cpu = _hwm_mib(pid), cpu_s(pid)
        started = time.perf_counter()
        with open(bundle, "rb") as stream:  # noqa: ASYNC230 - aiohttp reads it in a thread
            async with session.post(f"{url}/api/v1/update/bundle", data=stream, headers={
                    **headers, "Content-Type": "application/octet-stream"}) as resp:
                if resp.status != 202:
                    raise RuntimeError(f"upload: {resp.status} {await resp.text()}")
        accepted = time.perf_counter() - started
        while True:
            message = await ws.receive_json(timeout=600)
            event = message.get("event") or {}
            if event.get("event") == "update_progress" and event["phase"] in (
                    "committed", "failed"):
                break
        committed = time.perf_counter() - started
        if event["phase"] != "committed":
            raise RuntimeError(f"the install failed: {event['reason']}")
        return accepted, committed, cpu_s(pid) - cpu, hwm, _hwm_mib(pid)


async def run(quick: bool = False) -> list[Table]:
    """The update figures: one bundle of each size, uploaded and installed."""
    logging.getLogger().setLevel(logging.ERROR)
    table = Table("update: a bundle uploaded through the LAN API and installed",
                  ("image MiB", "s to 202", "s to committed", "MiB/s", "hub CPU s",
                   "hub peak RSS MiB before → after"),
                  path="upload's first byte (aiohttp, TLS on loopback) → spooled → verified "
                       "(signature, policy, payload sha256) → 202 → written to a file slot, "
                       "fsync, read back → boot order committed (the WebSocket's event); a real "
                       "`hubd run` process")
    for size_mib in (1,) if quick else (16, 128):
        with tempfile.TemporaryDirectory() as tmp:
            bundle = await asyncio.to_thread(_hardware, Path(tmp), size_mib * CHUNK)
            accepted, committed, cpu, before, after = await _upload(Path(tmp), bundle)
        table.rows.append((size_mib, accepted, committed, size_mib / committed, cpu,
                           f"{before:.0f} → {after:.0f}"))
    return [table]
