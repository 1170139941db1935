"""The daemon's side of updates: the update service built from ``[update]``, the reboot it
may ask for, and the download of a bundle the cloud offers (hubd.ota, hubd.api and hubd.tunnel
never import each other; the daemon hands the service to the API and the tunnel as their ports).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from hubd.core.clock import Clock
from hubd.core.errors import UpdateError
from hubd.core.events import UpdateProgress
from hubd.core.update import UpdateStatus
from hubd.ota.config import load_update_config
from hubd.ota.host import open_updater
from hubd.ota.install import Updater
from hubd.ota.installer import Installer, LocalInstaller
from hubd.ota.remote import HelperInstaller
from hubd.ota.service import Reboot, UpdateService
from hubd.ota.settings import UpdateSettings

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024


async def systemctl_reboot() -> None:
    """Ask systemd for a reboot and return at once (the hub's Reboot port)."""
    process = await asyncio.create_subprocess_exec("systemctl", "--no-block", "reboot")
    if await process.wait() != 0:
        raise UpdateError(f"systemctl reboot failed with status {process.returncode}")


def build_updates(settings: UpdateSettings, publish: Callable[[UpdateProgress], None],
                  clock: Clock, reboot: Reboot | None = None,
                  state_dir: Path | None = None) -> UpdateService:
    """The update service over the root helper ``helper_socket`` names, else over the updater
    that update.toml describes, in this process.

    With the helper, bundles are spooled in hubd's state directory (hubd cannot write the
    updater's) and the helper reboots into a committed update (hubd may not reboot); without
    it, bundles go to update.toml's update directory and hubd runs systemctl itself."""
    if settings.helper_socket is not None:
        if state_dir is None:
            raise UpdateError("the update helper needs hubd's state directory for its spool")
        helper = HelperInstaller(settings.helper_socket)
        installer: Installer = helper
        spool_dir = state_dir / "update-spool"

        async def helper_reboot() -> None:
            await asyncio.to_thread(helper.reboot)

        reboot = reboot or helper_reboot
    else:
        config = load_update_config(settings.config)

        def opener() -> Updater:
            return open_updater(load_update_config(settings.config))

        installer, spool_dir = LocalInstaller(opener), config.update_dir
    return UpdateService(installer, spool_dir, reboot or systemctl_reboot, publish, clock)


async def download(url: str, timeout_s: float) -> AsyncIterator[bytes]:
    """The bytes at url, within timeout_s for the whole transfer; failures are UpdateErrors."""
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(30.0, timeout_s))
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
            if response.status != 200:
                raise UpdateError(f"HTTP {response.status} from {url}")
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                yield chunk
    except TimeoutError as exc:
        raise UpdateError(f"the download of {url} took longer than {timeout_s:g} s") from exc
    except aiohttp.ClientError as exc:
        raise UpdateError(f"the download of {url} failed: {exc}") from exc


class TunnelUpdates:
    """The tunnel's UpdateOffers port: an offered URL is downloaded into the update service."""

    def __init__(self, service: UpdateService, settings: UpdateSettings) -> None:
        self.service = service
        self.settings = settings

    def status(self) -> UpdateStatus:
        """What runs, and the last install's progress."""
        return self.service.status()

    def offer(self, url: str, size_bytes: int | None, origin: str) -> UpdateStatus:
        """Start fetching and installing the bundle at url; its progress goes up as events."""
        scheme = urlsplit(url).scheme
        allowed = ("https", "http") if self.settings.is_http_allowed else ("https",)
        if scheme not in allowed:
            raise UpdateError(f"offered URL must be {' or '.join(allowed)}, not {scheme or url!r}")
        log.warning("event=update_offered url=%s size_bytes=%s origin=%s", url, size_bytes,
                    origin)
        self.service.begin(download(url, self.settings.download_timeout_s), size_bytes, origin)
        return self.service.status()

    async def reboot(self, origin: str) -> None:
        """Reboot into the committed update."""
        await self.service.reboot(origin)
