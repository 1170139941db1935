"""The update path end to end on file slots: install, reboot, mark good, roll back, refuse."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.core.errors import BundleRejectedError, UpdateError
from hubd.ota.bootenv import BootPlan
from hubd.ota.install import Outcome, wait_healthy
from tests.hubd.ota.conftest import SLOT_BYTES, FakeHub, bundle_bytes, image, slot_version


def state(hub: FakeHub) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((hub.root / "data/update/update.json").read_text())
    return loaded


def test_update_reboot_mark_good_and_stay(hub: FakeHub) -> None:
    seen: list[tuple[int, int]] = []
    done = hub.updater().install(hub.write_bundle(image("1.1"), "1.1"),
                                 lambda n, total: seen.append((n, total)))
    assert (done.slot, str(done.version)) == ("B", "1.1")
    assert seen[-1] == (100_000, 100_000)
    assert BootPlan.read(hub.env) == BootPlan(("B", "A"), {"A": 3, "B": 3})
    assert hub.reboot() == "B" and slot_version(hub.config.slot_b) == "1.1"
    assert hub.updater().mark_good(lambda: True) is Outcome.MARKED_GOOD
    assert BootPlan.read(hub.env) == BootPlan(("B", "A"), {"A": 3, "B": 3})
    # Many more reboots: mark-good runs on each and the good slot never runs out of tries.
    for _ in range(5):
        assert hub.reboot() == "B"
        assert hub.updater().mark_good(lambda: False) is Outcome.NORMAL
    assert state(hub)["slots"] == {"B": {"version": "1.1", "status": "good"}}
    assert state(hub)["pending"] is None
    assert not (hub.root / "data/update/snapshot").exists()


def test_never_marked_good_rolls_back_after_the_tries(hub: FakeHub) -> None:
    hub.updater().install(hub.write_bundle(image("1.1"), "1.1"))
    assert hub.reboot() == "B"
    # The new version runs, migrates its data, and never gets healthy.
    (hub.root / "data/hubd/hubd.sqlite3").write_text("migrated by 1.1")
    with pytest.raises(UpdateError, match="never became healthy"):
        hub.updater().mark_good(lambda: False)
    assert hub.reboot() == "B"
    assert hub.reboot() == "B"
    assert hub.reboot() == "A", "three tries spent: the bootloader falls back to A"
    assert hub.boots == ["B", "B", "B", "A"]
    # rollback_check on A put back the data that 1.0 can open and struck B from the order.
    assert (hub.root / "data/hubd/hubd.sqlite3").read_text() == "state of 1.0"
    assert BootPlan.read(hub.env).order == ("A",)
    assert state(hub)["last_event"] == {"kind": "rolled_back", "slot": "B", "version": "1.1",
                                        "data_restored": True}
    assert hub.updater().mark_good(lambda: True) is Outcome.NORMAL
    assert [hub.reboot() for _ in range(4)] == ["A"] * 4


def test_after_a_rollback_the_next_update_installs(hub: FakeHub) -> None:
    hub.updater().install(hub.write_bundle(image("1.1"), "1.1"))
    for _ in range(4):
        hub.reboot()
    assert hub.booted == "A"
    hub.updater().install(hub.write_bundle(image("1.2"), "1.2"))
    assert hub.reboot() == "B"
    assert hub.updater().mark_good(lambda: True) is Outcome.MARKED_GOOD


def test_power_cut_while_writing_boots_the_old_slot(hub: FakeHub) -> None:
    class CutStream(io.BytesIO):
        """The power goes after 40 kB of the payload were written."""

        def seekable(self) -> bool:
            return False  # streamed: the payload is checked only while written

        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 40_000:
                raise OSError("power cut")
            return super().read(min(size or 10_000, 10_000) if size and size > 0 else 10_000)

    raw = bundle_bytes(image("1.1"), "1.1", [hub.key])
    with pytest.raises(OSError, match="power cut"):
        hub.updater().install_stream(CutStream(raw))
    assert slot_version(hub.config.slot_b) == "1.1", "B was half written"
    assert [hub.reboot() for _ in range(5)] == ["A"] * 5


def test_tampered_streamed_image_leaves_the_slot_unbootable(hub: FakeHub) -> None:
    raw = bytearray(bundle_bytes(image("1.1"), "1.1", [hub.key]))
    raw[-5] ^= 0xFF

    class Stream(io.BytesIO):
        def seekable(self) -> bool:
            return False

    with pytest.raises(UpdateError, match="stays unbootable"):
        hub.updater().install_stream(Stream(bytes(raw)))
    assert BootPlan.read(hub.env).order == ("A",)
    assert [hub.reboot() for _ in range(4)] == ["A"] * 4


@pytest.mark.parametrize("case", ["bad-signature", "untrusted-key", "tampered-image",
                                  "tampered-manifest", "other-board", "older", "below-floor",
                                  "too-big", "truncated", "not-a-bundle"])
def test_refused_bundles_change_nothing(hub: FakeHub, case: str) -> None:
    payload = image("1.1")
    raw = bytearray(bundle_bytes(payload, "1.1", [hub.key]))
    if case == "bad-signature":
        raw[len(raw) - len(payload) - 1] ^= 0x01  # last byte of the signature
    elif case == "untrusted-key":
        raw = bytearray(bundle_bytes(payload, "1.1", [Ed25519PrivateKey.generate()]))
    elif case == "tampered-image":
        raw[-1000] ^= 0x01
    elif case == "tampered-manifest":
        at = raw.index(b'"board"')
        raw[at + 11] ^= 0x01
    elif case == "other-board":
        raw = bytearray(bundle_bytes(payload, "1.1", [hub.key], board="hub-other"))
    elif case == "older":
        raw = bytearray(bundle_bytes(image("0.8"), "0.8", [hub.key]))
    elif case == "below-floor":
        (hub.root / "data/update").mkdir(parents=True)
        (hub.root / "data/update/update.json").write_text('{"schema": 1, "floor": "1.5"}')
        raw = bytearray(bundle_bytes(payload, "1.1", [hub.key]))
    elif case == "too-big":
        raw = bytearray(bundle_bytes(image("1.1", SLOT_BYTES + 1), "1.1", [hub.key]))
    elif case == "truncated":
        raw = raw[:-10]
    else:
        raw = bytearray(b"PK\x03\x04" + bytes(raw[4:]))
    path = hub.root / "bad.bundle"
    path.write_bytes(bytes(raw))
    before = hub.snapshot()
    with pytest.raises(BundleRejectedError):
        hub.updater().install(path)
    assert hub.snapshot() == before
    assert hub.reboot() == "A"


def test_a_bundle_signed_by_old_and_new_keys_passes_either_trust_list(hub: FakeHub) -> None:
    new = Ed25519PrivateKey.generate()
    raw = bundle_bytes(image("1.1"), "1.1", [new, hub.key])
    path = hub.root / "rotated.bundle"
    path.write_bytes(raw)
    assert hub.updater().install(path).slot == "B"
    hub.key = new  # a hub that already trusts only the new key
    hub.booted = "A"
    assert hub.updater().install(path).slot == "B"


def test_no_install_over_the_fallback_while_a_trial_runs(hub: FakeHub) -> None:
    hub.updater().install(hub.write_bundle(image("1.1"), "1.1"))
    assert hub.reboot() == "B"
    before = hub.snapshot()
    with pytest.raises(BundleRejectedError, match="not marked good yet"):
        hub.updater().install(hub.write_bundle(image("1.2"), "1.2"))
    assert hub.snapshot() == before
    hub.updater().mark_good(lambda: True)
    assert hub.updater().install(hub.write_bundle(image("1.2"), "1.2")).slot == "A"


def test_min_version_of_a_good_update_raises_the_floor(hub: FakeHub) -> None:
    hub.updater().install(hub.write_bundle(image("2.0"), "2.0", min_version="1.5"))
    hub.reboot()
    hub.updater().mark_good(lambda: True)
    assert state(hub)["floor"] == "1.5"
    # Even reinstalling onto A (running 2.0 on B) refuses anything under 1.5 or 2.0.
    with pytest.raises(BundleRejectedError, match="older"):
        hub.updater().install(hub.write_bundle(image("1.6"), "1.6"))


def test_an_older_version_reads_state_written_by_a_newer_one(hub: FakeHub) -> None:
    (hub.root / "data/update").mkdir(parents=True)
    newer = {"schema": 1, "floor": "1.0", "slots": {}, "pending": None, "last_event": None,
             "future_field": {"x": 1}}
    (hub.root / "data/update/update.json").write_text(json.dumps(newer))
    hub.updater().install(hub.write_bundle(image("1.1"), "1.1"))
    assert state(hub)["future_field"] == {"x": 1}


def test_wait_healthy_restarts_the_window_on_a_restart() -> None:
    now = [0.0]
    answers = iter([(True, 0)] * 3 + [(True, 1)] + [(True, 1)] * 10)
    probes: list[float] = []

    def probe() -> tuple[bool, int]:
        probes.append(now[0])
        return next(answers)

    def sleep(s: float) -> None:
        now[0] += s

    assert wait_healthy(probe, 10.0, 100.0, 2.0, lambda: now[0], sleep)
    assert now[0] == 16.0  # the restart seen at t=6 restarted the 10 s window
    now[0] = 0.0
    assert not wait_healthy(lambda: (False, 0), 10.0, 30.0, 2.0, lambda: now[0], sleep)


def test_a_missing_slot_device_is_an_update_error(hub: FakeHub, tmp_path: Path) -> None:
    (tmp_path / "slot-b").unlink()
    with pytest.raises(UpdateError, match="cannot open slot B"):
        hub.updater().install(hub.write_bundle(image("1.1"), "1.1"))
    assert BootPlan.read(hub.env).order == ("A",)
