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
