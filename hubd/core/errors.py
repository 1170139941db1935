"""The one exception tree of hubd; each class says what the caller should do.

    HubError                      root: catch this to catch everything hubd raises
    ├── ConfigError               fatal; shown to the user with file, key (and line)
    │   └── RuleError             a rule (file or API text) is wrong; only that rule is off
    ├── TransientError            retry with backoff (link down, busy, timeout on a transport)
    ├── LocalProtocolError        we built a frame or request the protocol forbids (a bug here)
    ├── RemoteProtocolError       the peer sent something the protocol forbids (count it, skip it)
    ├── DeviceError               a device said no or said nothing (NAK, timeout, rejection)
    │   └── UnknownDeviceError    no device with that id or name
    └── UpdateError               an update could not be installed; the booted slot is unchanged
        ├── BundleRejectedError   the bundle failed verification before anything was written
        └── TrialFailedError      an updated slot never got healthy: reboot toward the rollback

Third-party exceptions are translated at the edge with ``raise ... from exc``.
"""

from __future__ import annotations


class HubError(Exception):
    """Root of every error hubd raises on purpose."""


class ConfigError(HubError):
    """A configuration or rule file is wrong; names the file, the key and, when known, the line."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.key = key
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            where += f": {self.key}"
        return f"{where}: {self.message}"


class RuleError(ConfigError):
    """A rule is wrong; unlike other config errors it disables only that rule, never the hub."""


class TransientError(HubError):
    """Something that may work if tried again later, with backoff."""


class LocalProtocolError(HubError):
    """We tried to send something the protocol does not allow."""


class RemoteProtocolError(HubError):
    """The peer sent something the protocol does not allow."""


class DeviceError(HubError):
    """A device rejected a command or did not answer it."""

    def __init__(self, device_id: str, message: str) -> None:
        self.device_id = device_id
        self.message = message
        super().__init__(f"{device_id}: {message}")


class UnknownDeviceError(DeviceError):
    """No device is known by that id or name."""


class UpdateError(HubError):
    """An update failed; the running slot still boots first and nothing needs undoing."""


class BundleRejectedError(UpdateError):
    """An update bundle is unsigned, tampered, for another board or too old; nothing changed."""


class TrialFailedError(UpdateError):
    """A freshly updated slot never became healthy; rebooting spends its tries and rolls back."""
