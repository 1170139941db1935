"""The root update helper over its unix socket: hubd's client (HelperInstaller) against the
helper's own code, the bundle passed as a descriptor; refusals change nothing; the helper
trusts nothing hubd says; `python -m hubd.ota.helper` as systemd starts it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.core.errors import BundleRejectedError, UpdateBusyError, UpdateError
from hubd.core.events import UpdatePhase
from hubd.ota import helper, wire
from hubd.ota.bootenv import BootPlan
from hubd.ota.config import load_update_config
from hubd.ota.host import open_updater
from hubd.ota.remote import HelperInstaller
from hubd.ota.state import UpdateState
from tests.hubd.ota.conftest import (
    SLOT_BYTES,
    HelperServer,
    Slots,
    bundle_bytes,
    image,
    slot_version,
)

Served = tuple[Slots, HelperServer]


def test_info_comes_from_the_helper(helper_server: Served) -> None:
    _, server = helper_server
    info = HelperInstaller(server.path).info()
    assert (info.running_version, info.booted_slot) == ("1", "A")
    assert info.max_bundle_bytes > SLOT_BYTES and info.committed_version is None


def test_install_through_the_helper_with_progress(helper_server: Served, tmp_path: Path
                                                  ) -> None:
    slots, server = helper_server
    bundle = tmp_path / "hubd-1.1.bundle"
    bundle.write_bytes(slots.bundle("1.1"))
    seen: list[tuple[UpdatePhase, int, int]] = []
    installed = HelperInstaller(server.path).install(
        bundle, lambda phase, done, total: seen.append((phase, done, total)))
    assert (installed.slot, str(installed.version)) == ("B", "1.1")
    phases = [p for i, (p, _, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != p]
    assert phases == [UpdatePhase.VERIFYING, UpdatePhase.WRITING, UpdatePhase.HASHING,
                      UpdatePhase.COMMITTED]
    assert (UpdatePhase.WRITING, 100_000, 100_000) in seen
    assert slot_version(slots.root / "slot-b") == "1.1"
    assert BootPlan.read(slots.env) == BootPlan(("B", "A"), {"A": 3, "B": 3})
    assert HelperInstaller(server.path).info().committed_version == "1.1"


def test_the_helper_reboots_only_into_a_committed_update(helper_server: Served,
                                                        tmp_path: Path) -> None:
    slots, server = helper_server
    with pytest.raises(UpdateError, match="no committed update"):
        HelperInstaller(server.path).reboot()
    assert server.reboots == []
    bundle = tmp_path / "hubd-1.1.bundle"
    bundle.write_bytes(slots.bundle("1.1"))
    HelperInstaller(server.path).install(bundle, lambda *_: None)
    HelperInstaller(server.path).reboot()
    assert server.reboots == ["reboot"]


@pytest.mark.parametrize("case", ["tampered", "other_key", "older", "truncated"])
def test_the_helper_checks_every_bundle_itself(helper_server: Served, tmp_path: Path,
                                               case: str) -> None:
    slots, server = helper_server
    data = {
        "tampered": lambda: _flip(slots.bundle("1.1"), -10),
        "other_key": lambda: bundle_bytes(image("1.1"), "1.1", [Ed25519PrivateKey.generate()]),
        "older": lambda: slots.bundle("0.5"),
        "truncated": lambda: slots.bundle("1.1")[:-1000],
    }[case]()
    bundle = tmp_path / "bad.bundle"
    bundle.write_bytes(data)
    before = slots.files()
    with pytest.raises(BundleRejectedError):
        HelperInstaller(server.path).install(bundle, lambda *_: None)
    assert slots.files() == before


def test_a_header_check_refuses_before_the_payload(helper_server: Served) -> None:
    slots, server = helper_server
    with pytest.raises(BundleRejectedError, match="board"):
        HelperInstaller(server.path).check_header(slots.bundle("1.1", board="other")[:2000])
    manifest = HelperInstaller(server.path).check_header(slots.bundle("1.1")[:2000])
    assert str(manifest.version) == "1.1"


def test_one_install_at_a_time(helper_server: Served, tmp_path: Path) -> None:
    slots, server = helper_server
    bundle = tmp_path / "b.bundle"
    bundle.write_bytes(slots.bundle("1.1"))
    before = slots.files()
    updater = open_updater(load_update_config(slots.root / "update.toml"))
    with helper.install_lock(updater), pytest.raises(UpdateBusyError):
        HelperInstaller(server.path).install(bundle, lambda *_: None)
    assert slots.files() == before


def test_only_a_regular_file_is_taken(helper_server: Served) -> None:
    slots, server = helper_server
    before = slots.files()
    read_end, write_end = os.pipe()
    try:
        reply = _raw(server.path, wire.encode({"op": "install"}), [read_end])
    finally:
        os.close(read_end)
        os.close(write_end)
    assert reply[-1]["error"] == "rejected" and "regular file" in reply[-1]["reason"]
    assert _raw(server.path, wire.encode({"op": "install"}), [])[-1]["error"] == "failed"
    assert _raw(server.path, b"not json\n", [])[-1]["error"] == "failed"
    assert _raw(server.path, wire.encode({"op": "format"}), [])[-1]["error"] == "failed"
    assert slots.files() == before


def test_hubd_gone_stops_the_install_with_nothing_written(tmp_path: Path) -> None:
    slots = Slots(tmp_path / "hw")
    bundle = tmp_path / "b.bundle"
    bundle.write_bytes(slots.bundle("1.1"))
    before = slots.files()
    ours, theirs = socket.socketpair()
    with open(bundle, "rb") as stream:
        socket.send_fds(ours, [wire.encode({"op": "install"})], [stream.fileno()])
    ours.close()  # hubd stopped before the first progress line
    with theirs:
        helper.serve(theirs, lambda: open_updater(load_update_config(slots.root / "update.toml")))
    assert slots.files() == before
    assert UpdateState.load(slots.root / "data/update/update.json").pending is None


def test_the_helper_reads_at_its_own_offsets(helper_server: Served, tmp_path: Path) -> None:
    """hubd's copy of the descriptor shares the file offset: moving it changes nothing."""
    slots, server = helper_server
    bundle = tmp_path / "b.bundle"
    bundle.write_bytes(slots.bundle("1.1"))
    with open(bundle, "rb") as stream:
        stream.seek(12345)
        reply = _raw(server.path, wire.encode({"op": "install"}), [stream.fileno()])
    assert reply[-1]["ok"] is True, reply[-1]
    assert slot_version(slots.root / "slot-b") == "1.1"


def test_python_m_helper_serves_the_socket_systemd_passes(tmp_path: Path) -> None:
    slots = Slots(tmp_path / "hw")
    ours, theirs = socket.socketpair()
    # As systemd's Accept=yes does: the connection as fd 3, LISTEN_PID and LISTEN_FDS=1.
    launch = (f"import os, sys; os.dup2({theirs.fileno()}, 3); "
              "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
              "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
    argv = [sys.executable, "-c", launch, "-m", "hubd.ota.helper", "--config",
            str(slots.root / "update.toml")]
    with ours:
        process = subprocess.Popen(argv, pass_fds=[theirs.fileno()], stderr=subprocess.PIPE)
        theirs.close()
        ours.sendall(wire.encode({"op": "info"}))
        reply = json.loads(ours.makefile("rb").readline())
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert reply["ok"] and reply["result"]["booted_slot"] == "A"
    assert b"event=helper_request op=info" in err
    alone = subprocess.run([sys.executable, "-m", "hubd.ota.helper"], capture_output=True,
                           timeout=60, check=False)
    assert alone.returncode == 2 and b"hubd-update.socket" in alone.stderr


def test_an_absent_helper_is_an_update_error(tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="not reachable"):
        HelperInstaller(tmp_path / "none.sock").info()


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0xFF
    return bytes(changed)


def _raw(path: Path, request: bytes, fds: list[int]) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(str(path))
        socket.send_fds(conn, [request], fds) if fds else conn.sendall(request)
        with conn.makefile("rb") as replies:
            return [json.loads(line) for line in replies]
