"""The daemon's update service: one install at a time, from any byte source, with progress.

A bundle arrives as chunks (an upload on the LAN API, a download the cloud offered through the
tunnel) and is spooled to a file on the data partition, never held in memory, refused past the
largest bundle the inactive slot can take. Then the ``Installer`` (hubd.ota.installer: the root
helper on a hub, the updater in this process elsewhere) installs the spooled file in a thread:
the file is seekable, so the signature, the policy and the payload's signed hash are all
checked before the slot's first byte changes. Each phase's progress goes to
``publish`` as an ``UpdateProgress`` (the daemon puts it on the bus; the API and the tunnel
forward it). A reboot into a committed update goes through the ``Reboot`` port (the OS edge).

    phase       next                  on error
    ─────────   ───────────────────   ────────────────────────────────────────────
    idle        receiving             (a second install while one runs: UpdateBusyError)
    receiving   verifying             failed: source broke off, over the size cap
    verifying   writing               failed: BundleRejectedError, nothing written
    writing     hashing               failed: UpdateError, the new slot stays disarmed
    hashing     committed             failed: the slot reads back wrong, stays disarmed
    committed   rebooting (asked)     —
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from hubd.core.clock import Clock
from hubd.core.errors import BundleRejectedError, HubError, UpdateBusyError, UpdateError
from hubd.core.events import UpdatePhase, UpdateProgress
from hubd.core.model import Context, Origin
from hubd.core.update import UpdateStatus
from hubd.ota.bundle import header_length
from hubd.ota.installer import Installer, InstallerInfo

log = logging.getLogger(__name__)

SPOOL_NAME = "incoming.bundle"
WRITE_BATCH_BYTES = 1 << 20  # spool writes leave the event loop in batches this big
REPORT_STEP = 50  # progress reported at most this many times per phase (and at its ends)


class Reboot(Protocol):
    """Restart the hub (the OS edge: systemctl on a hub, a recorder in the tests)."""

    async def __call__(self) -> None:
        """Ask the OS to reboot; returns once asked."""
        ...


class UpdateService:
    """Installs bundles one at a time and says how it goes."""

    def __init__(self, installer: Installer, spool_dir: Path, reboot: Reboot,
                 publish: Callable[[UpdateProgress], None], clock: Clock) -> None:
        self._installer = installer
        self.spool_dir = spool_dir
        self._reboot = reboot
        self._publish = publish
        self._clock = clock
        self._task: asyncio.Task[UpdateStatus] | None = None
        self._past_verify = asyncio.Event()
        self._status = UpdateStatus("", "", UpdatePhase.IDLE, "", 0, 0, "", False, 0, None)
        self._origin = Origin.SYSTEM.value
        self._is_stopping = False  # read by the install's thread: abort at the next chunk

    async def start(self) -> None:
        """Read what runs and what the updater remembers (in a thread: files, /proc, or the
        helper's socket); an update committed before hubd restarted is still there to reboot
        into."""
        info = await asyncio.to_thread(self._installer.info)
        self._status = _with_info(self._status, info)
        if info.committed_version is not None:
            self._status = replace(self._status, phase=UpdatePhase.COMMITTED,
                                   version=info.committed_version)

    def status(self) -> UpdateStatus:
        """The current status."""
        return self._status

    async def run(self) -> None:
        """Serve until cancelled (a daemon component); a stop aborts an install under way at
        its next chunk, its slot left disarmed, so hubd stops within its budget."""
        try:
            await asyncio.Event().wait()
        finally:
            self._is_stopping = True
            task = self._task
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=2.0)

    def begin(self, chunks: AsyncIterable[bytes], total_bytes: int | None, origin: str
              ) -> asyncio.Task[UpdateStatus]:
        """Start installing what chunks carry; UpdateBusyError at once if an install runs."""
        if self._task is not None and not self._task.done():
            raise UpdateBusyError(f"an install is under way ({self._status.phase}, "
                                  f"{self._status.version or 'version not known yet'}); one "
                                  "at a time")
        self._origin = origin
        self._past_verify = asyncio.Event()
        self._status = replace(self._status, is_busy=True)  # before anyone hears it began
        self._set(UpdatePhase.RECEIVING, "", 0, total_bytes or 0, "")
        task = asyncio.get_running_loop().create_task(self._run(chunks), name="update-install")
        task.add_done_callback(self._ended)
        self._task = task
        return task

    def _ended(self, task: asyncio.Task[UpdateStatus]) -> None:
        # Retrieved here, so an install nobody awaits (the tunnel's) logs no "never retrieved".
        if not task.cancelled():
            task.exception()
        self._past_verify.set()

    async def upload(self, chunks: AsyncIterable[bytes], total_bytes: int | None, origin: str
                     ) -> UpdateStatus:
        """Begin an install and return once writing began (the API answers 202 then), or
        raise why the bundle was refused (nothing written) or why it could not start."""
        return await self.verified(self.begin(chunks, total_bytes, origin))

    async def verified(self, task: asyncio.Task[UpdateStatus]) -> UpdateStatus:
        """Once the bundle is accepted and writing began (the status), or the error that
        refused it (BundleRejectedError and friends: nothing was written)."""
        await self._past_verify.wait()
        if task.done():
            return task.result()
        return self._status

    async def reboot(self, origin: str) -> None:
        """Reboot into the committed update (UpdateError if none is committed)."""
        if self._status.phase not in (UpdatePhase.COMMITTED, UpdatePhase.REBOOTING):
            raise UpdateError(f"no committed update to reboot into (the update is "
                              f"{self._status.phase})")
        self._origin = origin
        self._set(UpdatePhase.REBOOTING, self._status.version, 0, 0, "")
        log.warning("event=update_reboot version=%s origin=%s", self._status.version, origin)
        await self._reboot()

    # -- inside ------------------------------------------------------------------------------

    async def _run(self, chunks: AsyncIterable[bytes]) -> UpdateStatus:
        spool = self.spool_dir / SPOOL_NAME
        # How the install ends is said last, once the spool is gone and a new install may
        # begin: a client that sees "committed" (or "failed") and at once asks to reboot (or
        # tries again) must not find the hub still busy.
        ending, reason, committed = UpdatePhase.FAILED, "cancelled", (0, 0)
        try:
            info = await asyncio.to_thread(self._installer.info)
            await self._receive(chunks, spool, info.max_bundle_bytes)
            loop = asyncio.get_running_loop()

            def phases(phase: UpdatePhase, done: int, total: int) -> None:
                nonlocal committed
                if self._is_stopping:
                    raise UpdateError("hubd stopped during the install")
                if phase is UpdatePhase.COMMITTED:
                    committed = (done, total)  # said at the end, see above
                else:
                    loop.call_soon_threadsafe(self._progress, phase, done, total)

            installed = await asyncio.to_thread(self._installer.install, spool, phases)
            self._status = replace(self._status, version=str(installed.version))
            ending, reason = UpdatePhase.COMMITTED, ""
        except (HubError, OSError) as exc:
            reason = str(exc) if isinstance(exc, HubError) else f"{exc.strerror or exc}"
            log.error("event=update_failed reason=%r", reason)
            if isinstance(exc, OSError):
                raise UpdateError(reason) from exc
            raise
        except Exception as exc:  # the source's own failure (an upload's connection...)
            reason = f"{type(exc).__name__}: {exc}"
            log.exception("event=update_failed")
            raise UpdateError(reason) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(os.unlink, spool)
            with contextlib.suppress(HubError, OSError):
                info = await asyncio.to_thread(self._installer.info)
                self._status = _with_info(self._status, info)
            self._status = replace(self._status, is_busy=False)
            done, total = committed if ending is UpdatePhase.COMMITTED else (0, 0)
            self._set(ending, self._status.version, done, total, reason)
        return self._status

    async def _receive(self, chunks: AsyncIterable[bytes], spool: Path, cap: int) -> None:
        """Spool chunks to a file (0600) in batches, refusing a byte past the slot's cap, and
        the whole bundle as soon as its header (signature, board, version) says no."""
        head: bytearray | None = bytearray()  # the first bytes, until the header is checked
        await asyncio.to_thread(spool.parent.mkdir, parents=True, exist_ok=True)
        fd = await asyncio.to_thread(os.open, spool, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            batch, received = bytearray(), 0
            total = self._status.total_bytes
            if total > cap:
                raise BundleRejectedError(f"a bundle of {total} bytes cannot fit the slot "
                                          f"(at most {cap})")
            async for chunk in chunks:
                received += len(chunk)
                if received > cap:
                    raise BundleRejectedError(f"the bundle is larger than the {cap} bytes the "
                                              "inactive slot can take")
                batch += chunk
                if head is not None:
                    head += chunk
                    length = header_length(bytes(head))
                    if length is not None and len(head) >= length:
                        # Before the rest of a large bundle is fetched: a bad one stops here.
                        manifest = await asyncio.to_thread(self._installer.check_header,
                                                           bytes(head[:length]))
                        self._status = replace(self._status, version=str(manifest.version))
                        head = None
                if len(batch) >= WRITE_BATCH_BYTES:
                    await asyncio.to_thread(_write_all, fd, bytes(batch))
                    batch.clear()
                    self._progress(UpdatePhase.RECEIVING, received, max(total, received))
            if batch:
                await asyncio.to_thread(_write_all, fd, bytes(batch))
            if total and received != total:
                raise UpdateError(f"the bundle ended after {received} of {total} bytes")
            self._progress(UpdatePhase.RECEIVING, received, received)
        finally:
            await asyncio.to_thread(os.close, fd)

    def _progress(self, phase: UpdatePhase, done: int, total: int) -> None:
        """A phase moved on: publish it when it changed phase, ended or moved a step."""
        status = self._status
        if phase is UpdatePhase.WRITING:
            self._past_verify.set()
        step = max(1, total // REPORT_STEP)
        if (phase is status.phase and done != total and done != 0
                and done // step == status.done_bytes // step and total == status.total_bytes):
            return
        self._set(phase, status.version, done, total, "")

    def _set(self, phase: UpdatePhase, version: str, done: int, total: int, reason: str
             ) -> None:
        self._status = replace(self._status, phase=phase, version=version, done_bytes=done,
                               total_bytes=total, reason=reason)
        self._publish(UpdateProgress(phase, version, done, total, reason, self._clock.time(),
                                     Context.new(self._origin)))


def _with_info(status: UpdateStatus, info: InstallerInfo) -> UpdateStatus:
    return replace(status, running_version=info.running_version, booted_slot=info.booted_slot,
                   max_bundle_bytes=info.max_bundle_bytes, last_event=info.last_event)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

