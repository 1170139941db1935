"""Settings of the daemon's update service (the ``[update]`` table of the hub's configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class UpdateSettings:
    """``[update]``: where the updater's own settings are, and how offered bundles are fetched."""

    # The updater's settings (slots, boot env, keys), the file `hubd update` reads too.
    config: Path = Path("/etc/hubd/update.toml")
    # A bundle the cloud offers by URL must arrive within this long, or the install fails.
    download_timeout_s: float = 1800.0
    # Offered URLs must be https unless this is set (a LAN mirror, the tests): the signature,
    # not the transport, is what makes a bundle trusted, but https keeps what a hub runs private.
    is_http_allowed: bool = False
    # The root update helper's socket (hubd-update.socket: /run/hubd-update.sock on the hub
    # OS). Absent: hubd installs in its own process, so it must be able to write the slots and
    # the boot env itself (the tests, the demo); an unprivileged hubd needs the helper.
    helper_socket: Path | None = None
