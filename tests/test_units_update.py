"""The provisioning and update units in systemd/: ordering, sandbox rating, systemd's own checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_units import ROOT, UNITS, config_lines, parse_unit

NEW_UNITS = ["hubd-provision.service", "hubd-update-rollback-check.service",
             "hubd-update-mark-good.service", "hubd-update@.service"]


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNITS / name)


def test_no_unit_waits_for_the_internet() -> None:
    for path in UNITS.glob("*.service"):
        assert "network-online" not in path.read_text(), path.name


def test_provisioning_runs_before_hubd_and_hubd_requires_it() -> None:
    provision = unit("hubd-provision.service")
    assert "hubd.service" in " ".join(provision["Unit"]["Before"])
    assert provision["Install"]["RequiredBy"] == ["hubd.service"]
    assert provision["Service"]["User"] == ["hubd"]
    assert provision["Service"]["ReadWritePaths"] == ["/data/identity"]
    assert "/data/identity" in provision["Service"]["ExecStart"][0]


def test_rollback_check_runs_before_hubd_and_mark_good_after() -> None:
    check = unit("hubd-update-rollback-check.service")
    assert "hubd.service" in " ".join(check["Unit"]["Before"])
    good = unit("hubd-update-mark-good.service")
    assert "hubd.service" in good["Unit"]["After"][0].split()
    # Wants, not Requires: a hubd that fails to start must still lead to a reboot and rollback.
    assert good["Unit"]["Wants"] == ["hubd.service"] and "Requires" not in good["Unit"]
    assert "--reboot-if-unhealthy" in good["Service"]["ExecStart"][0]
    timeout_s = int(good["Service"]["TimeoutStartSec"][0])
    assert timeout_s > 300, "must outlast update.toml's default health_timeout_s"


def test_tmpfiles_makes_the_directories_the_units_write() -> None:
    made = {f[1]: (f[2], f[3]) for f in config_lines(UNITS / "hubd-data.tmpfiles")}
    assert made["/data/identity"] == ("0700", "hubd")
    for name in NEW_UNITS:
        for path in " ".join(unit(name)["Service"].get("ReadWritePaths", [])).split():
            # "-/boot/efi": GRUB's ESP, mounted by fstab where there is one, not made here.
            assert path in made or path == "-/boot/efi", (name, path)


def runnable_copy(name: str, tmp_path: Path) -> Path:
    # verify wants ExecStart to exist: check a copy that runs /bin/true instead; a template
    # is checked as one of its instances.
    copy = tmp_path / name.replace("@.", "@test.")
    true = shutil.which("true") or "/bin/true"
    copy.write_text((UNITS / name).read_text().replace("/usr/bin/hubd", true)
                    .replace("/opt/hubd/bin/python", true))
    return copy


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", NEW_UNITS)
def test_security_exposure_is_at_most_2(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager",
         str(runnable_copy(name, tmp_path))],
        capture_output=True, text=True, timeout=30, check=False)
    found = re.search(rf"Overall exposure level for {re.escape(name.replace('@.', '@test.'))}: "
                      r"(\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", NEW_UNITS)
def test_systemd_knows_every_key(name: str, tmp_path: Path) -> None:
    done = subprocess.run(["systemd-analyze", "verify", str(runnable_copy(name, tmp_path))],
                          capture_output=True, text=True, timeout=30, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if name.partition("@")[0].removesuffix(".service") in line]
    assert complaints == []


# -- the root update helper (hubd-update.socket, hubd-update@.service) -----------------------


def test_the_helper_socket_is_for_group_hubd_one_helper_per_connection() -> None:
    socket = unit("hubd-update.socket")["Socket"]
    assert socket["ListenStream"] == ["/run/hubd-update.sock"]
    assert (socket["SocketUser"], socket["SocketGroup"], socket["SocketMode"]) == (
        ["root"], ["hubd"], ["0660"])
    assert socket["Accept"] == ["yes"] and int(socket["MaxConnections"][0]) <= 8
    # hubd is told where it is by hub.toml's [update] helper_socket (the image's hub.toml).
    overlay = (ROOT / "image/overlay/etc/hubd/hub.toml").read_text()
    assert 'helper_socket = "/run/hubd-update.sock"' in overlay


def test_the_helper_runs_hubds_own_code_and_may_write_only_the_slots() -> None:
    service = unit("hubd-update@.service")["Service"]
    argv = service["ExecStart"][0].split()
    assert argv[0] == "/opt/hubd/bin/python" and argv[-4:] == [
        "-m", "hubd.ota.helper", "--config", "/etc/hubd/update.toml"]
    assert service["CapabilityBoundingSet"] == [""] and service["PrivateNetwork"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"] and service["DevicePolicy"] == ["closed"]
    update = (ROOT / "image/overlay/etc/hubd/update.toml").read_text()
    slots = re.findall(r'^slot_[ab] = "(.+)"$', update, re.M)
    assert sorted(v.split()[0] for v in service["DeviceAllow"]) == sorted(slots)
    assert all(v.endswith(" rw") for v in service["DeviceAllow"])
    assert service["ReadWritePaths"] == ["/data/update -/boot/efi"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_knows_every_key_of_the_helper_socket(tmp_path: Path) -> None:
    shutil.copy(UNITS / "hubd-update.socket", tmp_path)
    # The socket's instances come from the template, here a copy that runs /bin/true.
    runnable_copy("hubd-update@.service", tmp_path).rename(tmp_path / "hubd-update@.service")
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "hubd-update.socket")],
                          capture_output=True, text=True, timeout=30, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if "hubd-update" in line]
    assert complaints == []
