"""The provisioning and update units in systemd/: ordering, sandbox rating, systemd's own checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_units import UNITS, config_lines, parse_unit

NEW_UNITS = ["hubd-provision.service", "hubd-update-rollback-check.service",
             "hubd-update-mark-good.service"]


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
    # verify wants ExecStart to exist: check a copy that runs /bin/true instead.
    copy = tmp_path / name
    true = shutil.which("true") or "/bin/true"
    copy.write_text((UNITS / name).read_text().replace("/usr/bin/hubd", true))
    return copy


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", NEW_UNITS)
def test_security_exposure_is_at_most_2(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager",
         str(runnable_copy(name, tmp_path))],
        capture_output=True, text=True, timeout=30, check=False)
    found = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", NEW_UNITS)
def test_systemd_knows_every_key(name: str, tmp_path: Path) -> None:
    done = subprocess.run(["systemd-analyze", "verify", str(runnable_copy(name, tmp_path))],
                          capture_output=True, text=True, timeout=30, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if name in line]
    assert complaints == []
