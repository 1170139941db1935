"""Install a bundle into the inactive slot, mark a booted update good, detect a rollback.

Theory of operation (one update, slot A booted, B inactive):

1. **Verify** (nothing written yet): header signature by a trusted key; board; version not older
   than the running one nor below the floor; the image's size within the slot. A seekable
   bundle's payload (as carried: compressed or not) is hashed too, so a tampered image is
   refused before the slot is touched.
2. **Disarm B**: BOOT_ORDER="A", BOOT_B_LEFT=0, one write. From here until step 5 B cannot boot,
   whatever happens to its bytes; a power cut during the write boots A.
3. **Stream** the payload into B in chunks, decompressing a zstd one on the fly (hubd.ota.payload)
   and hashing the image as it goes, refusing a byte past the manifest's image size (and so
   past the slot's: the cap is on the decompressed size), then fsync.
4. **Check**: the hash of what was written must equal the signed one, and so must the hash of
   the slot read back from the device after fsync (its cached pages dropped first); otherwise
   B stays disarmed. update.json records B as pending.
5. **Commit** (the one commit point): BOOT_ORDER="B A", BOOT_B_LEFT=tries, one write.
6. After the reboot, before hubd: ``rollback_check`` snapshots hubd's data for the trial (see
   hubd.ota.state). After hubd: ``mark_good`` waits until hubd is healthy for a while, then
   resets B's counter and drops the snapshot. If hubd never gets healthy the unit fails and the hub
   reboots; the bootloader spends B's tries and boots A, whose ``rollback_check`` sees B pending
   but not booted, restores the snapshot and removes B from BOOT_ORDER.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hubd.core.errors import BundleRejectedError, TrialFailedError, UpdateError
from hubd.core.events import UpdatePhase
from hubd.ota.bootenv import BootEnv, BootPlan, other_slot
from hubd.ota.bundle import (
    KEY_ID_BYTES,
    MAGIC,
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURES,
    SIGNATURE_BYTES,
    Header,
    Manifest,
    Version,
    read_header,
    verify_header,
)
from hubd.ota.config import UpdateConfig
from hubd.ota.payload import PayloadReader
from hubd.ota.state import UpdateState, drop_snapshot, restore_snapshot, take_snapshot

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
Progress = Callable[[int, int], None]
# Every phase's progress: (phase, bytes done, bytes total); the LAN API and tunnel show it.
PhaseProgress = Callable[[UpdatePhase, int, int], None]
# What a bundle adds to its payload at most: magic, length, manifest, count, signatures.
MAX_HEADER_BYTES = len(MAGIC) + 4 + MAX_MANIFEST_BYTES + 1 + MAX_SIGNATURES * (
    KEY_ID_BYTES + SIGNATURE_BYTES)


class Outcome(StrEnum):
    """What a boot-time check found."""

    NORMAL = "normal"
    TRIAL = "trial"
    ROLLED_BACK = "rolled_back"
    MARKED_GOOD = "marked_good"


@dataclass(frozen=True, slots=True)
class Installed:
    """A committed install: reboot to run it."""

    slot: str
    version: Version
    key_id: str


def _slot_of(config: UpdateConfig, path: Path) -> str:
    return "A" if path == config.slot_a else "B"


def _no_progress(done: int, total: int) -> None:
    """Progress sink that ignores reports."""


def _no_phases(phase: UpdatePhase, done: int, total: int) -> None:
    """Phase sink that ignores reports."""


class Updater:
    """The update state machine of one hub; every side effect goes through config's paths."""

    def __init__(self, config: UpdateConfig, env: BootEnv,
                 trusted: dict[bytes, Ed25519PublicKey], running: Version, booted: str) -> None:
        self.config = config
        self.env = env
        self.trusted = trusted
        self.running = running
        self.booted = booted
        self.state_path = config.update_dir / "update.json"
        self.snapshot_dir = config.update_dir / "snapshot"

    # -- install ----------------------------------------------------------------------------

    def install(self, bundle: Path, progress: Progress = _no_progress,
                phases: PhaseProgress = _no_phases) -> Installed:
        """Verify bundle, write it to the inactive slot and commit; raises with nothing booted."""
        with open(bundle, "rb") as stream:
            return self.install_stream(stream, progress, phases)

    def max_bundle_bytes(self) -> int:
        """The largest bundle that can fit the inactive slot (its payload plus a full header)."""
        return self._capacity(other_slot(self.booted)) + MAX_HEADER_BYTES

    def install_stream(self, stream: BinaryIO, progress: Progress = _no_progress,
                       phases: PhaseProgress = _no_phases) -> Installed:
        """The same from any stream; a non-seekable one has its payload checked while written."""
        phases(UpdatePhase.VERIFYING, 0, 0)
        header, kid, state = self._check_header(stream)
        manifest = header.manifest
        size = manifest.size
        target = other_slot(self.booted)
        if stream.seekable():
            self._check_payload(stream, manifest,
                                lambda n: phases(UpdatePhase.VERIFYING, n, manifest.carried_size))
            stream.seek(header.payload_offset)
        plan = BootPlan.read(self.env)
        # Step 2: disarm the target before its first byte changes.
        disarmed = BootPlan((self.booted,), plan.left | {target: 0, self.booted: max(
            plan.left[self.booted], self.config.tries)})
        self.env.set(disarmed.values())
        state.slots[target] = {"version": str(manifest.version), "status": "writing"}
        state.pending = None
        state.save(self.state_path)
        def writing(done: int, total: int) -> None:
            progress(done, total)
            phases(UpdatePhase.WRITING, done, total)

        path = self.config.slot_path(target)
        digest = self._write_slot(stream, path, manifest, writing)
        if digest != manifest.sha256:
            raise UpdateError(f"slot {target} holds sha256 {digest}, the manifest signs "
                              f"{manifest.sha256}: the slot stays unbootable")
        stored = read_back(path, size, lambda n: phases(UpdatePhase.HASHING, n, size))
        if stored != manifest.sha256:
            raise UpdateError(f"slot {target} reads back sha256 {stored}, the manifest signs "
                              f"{manifest.sha256}: the slot stays unbootable")
        state.slots[target] = {"version": str(manifest.version), "status": "installed"}
        state.pending = {"slot": target, "version": str(manifest.version),
                         "min_version": str(manifest.min_version), "booted": False}
        state.save(self.state_path)
        # Step 5, the commit point: one write of the new order and the new slot's tries.
        committed = BootPlan((target, self.booted), disarmed.left | {target: self.config.tries})
        self.env.set(committed.values())
        phases(UpdatePhase.COMMITTED, size, size)
        log.info("event=update_committed slot=%s version=%s key=%s", target, manifest.version,
                 kid.hex())
        return Installed(target, manifest.version, kid.hex())

    def check_header(self, stream: BinaryIO) -> Manifest:
        """Step 1 without the payload: signature, board, version, size (BundleRejectedError).

        What a bundle's first bytes can already refuse, before the rest of it is fetched."""
        return self._check_header(stream)[0].manifest

    def _check_header(self, stream: BinaryIO) -> tuple[Header, bytes, UpdateState]:
        header = read_header(stream)
        kid = verify_header(header, self.trusted)
        state = UpdateState.load(self.state_path)
        if state.pending is not None and state.pending.get("slot") == self.booted:
            # The other slot is the only known-good one while this trial runs: keep it.
            raise BundleRejectedError(f"slot {self.booted} runs an update that is not marked "
                                      "good yet; the fallback slot cannot be overwritten")
        self._check_policy(header.manifest, state, self._capacity(other_slot(self.booted)))
        return header, kid, state

    def _capacity(self, slot: str) -> int:
        if self.config.slot_size_bytes:
            return self.config.slot_size_bytes
        path = self.config.slot_path(slot)
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)

    def _check_policy(self, manifest: Manifest, state: UpdateState, capacity: int) -> None:
        if manifest.board != self.config.board:
            raise BundleRejectedError(f"bundle is for board {manifest.board!r}, this hub is "
                                      f"{self.config.board!r}")
        floor = max(Version.parse(state.floor), Version.parse(self.config.min_version))
        if manifest.version < self.running:
            raise BundleRejectedError(f"bundle {manifest.version} is older than the running "
                                      f"{self.running}")
        if manifest.version < floor:
            raise BundleRejectedError(f"bundle {manifest.version} is below this hub's minimum "
                                      f"{floor}")
        if manifest.size > capacity:
            raise BundleRejectedError(f"image of {manifest.size} bytes does not fit the "
                                      f"{capacity}-byte slot")

    def _check_payload(self, stream: BinaryIO, manifest: Manifest,
                       hashed: Callable[[int], None]) -> None:
        digest, size, carried = hashlib.sha256(), 0, manifest.carried_size
        while chunk := stream.read(min(CHUNK_BYTES, carried + 1 - size)):
            digest.update(chunk)
            size += len(chunk)
            hashed(min(size, carried))
        if size != carried or digest.hexdigest() != manifest.carried_sha256:
            raise BundleRejectedError("image does not match its signed size and sha256 "
                                      "(tampered or truncated)")

    def _write_slot(self, stream: BinaryIO, path: Path, manifest: Manifest,
                    progress: Progress) -> str:
        digest, written = hashlib.sha256(), 0
        # No O_TRUNC/O_CREAT: a slot is a partition; the tests create their slot files.
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError as exc:
            raise UpdateError(f"cannot open slot {_slot_of(self.config, path)} at {path}: "
                              f"{exc.strerror}") from exc
        payload = PayloadReader(stream, manifest, CHUNK_BYTES)
        try:
            # One byte more than the image may hold, so a payload that decompresses to more
            # than the signed size is caught at the first byte too many.
            while chunk := payload.read(min(CHUNK_BYTES, manifest.size - written + 1)):
                if written + len(chunk) > manifest.size:
                    raise UpdateError(f"bundle carries more than the {manifest.size} bytes "
                                      "signed")
                digest.update(chunk)
                os.write(fd, chunk)
                written += len(chunk)
                progress(written, manifest.size)
            if written < manifest.size:
                raise UpdateError(f"bundle ended after {written} of {manifest.size} bytes")
            payload.finish()
            if stream.read(1):
                raise UpdateError(f"bundle carries more than the {manifest.size} bytes signed")
            os.fsync(fd)
        finally:
            os.close(fd)
        return digest.hexdigest()

    # -- after the reboot -------------------------------------------------------------------

    def rollback_check(self) -> Outcome:
        """Before hubd starts: begin a trial, or finish a rollback of an update that failed."""
        state = UpdateState.load(self.state_path)
        pending = state.pending
        if pending is None:
            return Outcome.NORMAL
        slot = str(pending["slot"])
        if slot == self.booted:
            if not pending.get("booted"):
                take_snapshot(self.config.data_dir, self.snapshot_dir)
                pending["booted"] = True
                state.save(self.state_path)
            log.info("event=update_trial slot=%s version=%s", slot, pending["version"])
            return Outcome.TRIAL
        # An update is pending but the other slot booted: its tries ran out (or it never ran).
        restored = bool(pending.get("booted")) and restore_snapshot(
            self.snapshot_dir, self.config.data_dir)
        drop_snapshot(self.snapshot_dir)
        plan = BootPlan.read(self.env)
        self.env.set(BootPlan((self.booted,), plan.left | {slot: 0}).values())
        state.slots[slot] = {"version": pending["version"], "status": "bad"}
        state.pending = None
        state.last_event = {"kind": "rolled_back", "slot": slot, "version": pending["version"],
                            "data_restored": restored}
        state.save(self.state_path)
        log.warning("event=update_rolled_back slot=%s version=%s data_restored=%s", slot,
                    pending["version"], restored)
        return Outcome.ROLLED_BACK

    def mark_good(self, is_healthy: Callable[[], bool]) -> Outcome:
        """After hubd starts: confirm a trial once healthy, or refresh a normal boot's tries."""
        state = UpdateState.load(self.state_path)
        pending = state.pending
        plan = BootPlan.read(self.env)
        if pending is None or pending["slot"] != self.booted:
            # A normal boot: give the running slot its tries back, or reboots would use them up.
            if plan.left[self.booted] != self.config.tries:
                self.env.set({f"BOOT_{self.booted}_LEFT": str(self.config.tries)})
            return Outcome.NORMAL
        if not is_healthy():
            raise TrialFailedError(f"slot {self.booted} ({pending['version']}) never became "
                                   "healthy; reboot to spend its tries and roll back")
        order = (self.booted, *(s for s in plan.order if s != self.booted))
        self.env.set(BootPlan(order, plan.left | {self.booted: self.config.tries}).values())
        floor = max(Version.parse(state.floor), Version.parse(str(pending["min_version"])))
        state.floor = str(floor)
        state.slots[self.booted] = {"version": pending["version"], "status": "good"}
        state.pending = None
        state.last_event = {"kind": "marked_good", "slot": self.booted,
                            "version": pending["version"]}
        state.save(self.state_path)
        drop_snapshot(self.snapshot_dir)
        log.info("event=update_marked_good slot=%s version=%s", self.booted, pending["version"])
        return Outcome.MARKED_GOOD


def read_back(path: Path, size: int, hashed: Callable[[int], None]) -> str:
    """SHA-256 of the first size bytes of a slot as the device returns them, not the page cache."""
    digest, done = hashlib.sha256(), 0
    fd = os.open(path, os.O_RDONLY)
    try:
        # Written and fsynced already: drop the cached pages so the read comes from the medium.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while done < size:
            chunk = os.read(fd, min(CHUNK_BYTES, size - done))
            if not chunk:
                break
            digest.update(chunk)
            done += len(chunk)
            hashed(done)
    finally:
        os.close(fd)
    return digest.hexdigest()


def wait_healthy(probe: Callable[[], tuple[bool, int]], healthy_for_s: float, timeout_s: float,
                 poll_s: float = 2.0, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> bool:
    """True once probe says healthy, with no restart, for healthy_for_s; False after timeout_s.

    probe returns (is_up, restarts): a restart inside the window starts the window again.
    """
    start = monotonic()
    since: float | None = None
    restarts_seen = -1
    while True:
        now = monotonic()
        is_up, restarts = probe()
        if not is_up or restarts != restarts_seen:
            since = now if is_up else None
            restarts_seen = restarts
        if since is not None and now - since >= healthy_for_s:
            return True
        if now - start >= timeout_s:
            return False
        sleep(poll_s)
