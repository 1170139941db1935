"""The one exception tree of hubd; each class says what the caller should do.

    HubError                      root: catch this to catch everything hubd raises
    ├── ConfigError               fatal; shown to the user with file, key (and line)
    │   ├── RuleError             a rule (file or API text) is wrong; only that rule is off
    │   └── SettingsError         (hubd.ctl) hubctl's own settings file is unreadable
    ├── StartError                fatal at start, not a file's fault: restarting cannot help
    │   └── StateDirectoryError   the state directory cannot be created or written
    ├── InvalidValueError         a value the model refuses (also a ValueError): say it, go on
    ├── StoreError                the database cannot be opened, read or written
    │   ├── SchemaTooNewError     written by a newer hubd
    │   ├── CorruptDatabaseError  not a usable SQLite file: moved aside at start
    │   └── DuplicateError        a row with that key exists already (also a ValueError)
    ├── StillBusyError            settle() gave up: work still pending after its rounds
    ├── ApiProblem                a LAN API call refused: answered as RFC 9457 problem+json
    ├── HubCallError              (hubd.ctl) hubctl: the hub refused a call or cannot be reached
    ├── RuleRejectedError         a rule sent to the API is wrong (its errors are located)
    ├── UnknownRuleError, UnknownSceneError   the API was asked for a rule or scene not there
    ├── TransientError            retry with backoff (link down, busy, timeout on a transport)
    ├── LocalProtocolError        we built a frame or request the protocol forbids (a bug here)
    ├── RemoteProtocolError       the peer sent something the protocol forbids (count it, skip it)
    ├── DeviceError               a device said no or said nothing (NAK, timeout, rejection)
    │   └── UnknownDeviceError    no device with that id or name
    └── UpdateError               an update could not be installed; the booted slot is unchanged
        ├── BundleRejectedError   the bundle failed verification before anything was written
        ├── UpdateBusyError       an install is already under way (one at a time); try later
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


class StartError(HubError):
    """The daemon cannot start on this system as it is; systemd must not restart it in a loop."""


class StateDirectoryError(StartError):
    """The state directory cannot be created or written (read-only, wrong owner, full)."""


class InvalidValueError(HubError, ValueError):
    """A value outside what the model allows: an argument, a name, a setting.

    Also a ValueError, so code that validates with ``except ValueError`` keeps working.
    """


class StoreError(HubError):
    """The database cannot be opened, read or written."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer hubd whose schema this one does not know."""


class CorruptDatabaseError(StoreError):
    """The file is not a usable SQLite database."""


class DuplicateError(StoreError, ValueError):
    """A row with that key (a token's id or hash) exists already."""


class StillBusyError(HubError):
    """A settle() (tests, dry runs) gave up with work still pending: it never ran dry."""


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


class UpdateBusyError(UpdateError):
    """Another install is under way: updates run one at a time; nothing was touched."""


class TrialFailedError(UpdateError):
    """A freshly updated slot never became healthy; rebooting spends its tries and rolls back."""
