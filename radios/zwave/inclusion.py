"""Adding and removing Z-Wave nodes: the options of each strategy and the S2 questions.

Inclusion with S2 (zwave-js "Security S2 bootstrapping", zwave-js-server "controller events"):
``begin_inclusion`` → the device asks for security classes → the server sends ``grant security
classes`` and waits for ``controller.grant_security_classes`` → for S2 Access Control or
Authenticated, the server sends ``validate dsk and enter pin`` with the DSK minus its first five
digits, and waits for ``controller.validate_dsk_and_enter_pin`` with the PIN printed on the device
(the first five digits of its DSK) → the node is added, interviewed, then ``ready``. Answering
``False`` to either question aborts the bootstrap (the node stays, included insecurely). With no
PIN in the request, the driver waits for ``enter_pin`` (zwave-js gives up after a few minutes).
Strategy DEFAULT uses S2 when the device supports it, S0 only for devices that need it, else none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from radios.zwave.session import InclusionStrategy, Json

_PIN = re.compile(r"^\d{5}$")


class SecurityClass:
    """zwave-js SecurityClass numbers (grant lists carry them)."""

    S2_UNAUTHENTICATED = 0
    S2_AUTHENTICATED = 1
    S2_ACCESS_CONTROL = 2
    S0_LEGACY = 7


@dataclass(frozen=True, slots=True)
class InclusionRequest:
    """How to include the next node: the strategy, and for S2 the PIN from the device's label."""

    strategy: InclusionStrategy = InclusionStrategy.DEFAULT
    pin: str | None = None  # the five digits printed on the device, for S2 (Authenticated)
    force_security: bool = False  # S0 even for devices that do not need it
    grant: frozenset[int] | None = None  # classes to grant; None: whatever the device asks

    def __post_init__(self) -> None:
        if self.pin is not None and not _PIN.match(self.pin):
            raise ValueError("the S2 PIN is the five digits printed on the device")

    def options(self) -> dict[str, object]:
        """The ``options`` of ``controller.begin_inclusion``."""
        out: dict[str, object] = {"strategy": int(self.strategy)}
        if self.strategy in (InclusionStrategy.DEFAULT, InclusionStrategy.SECURITY_S0) and \
                self.force_security:
            out["forceSecurity"] = True
        return out


@dataclass(slots=True)
class InclusionFlow:
    """Answers the server's S2 questions for the inclusion in progress; remembers what it saw."""

    request: InclusionRequest = field(default_factory=InclusionRequest)
    dsk: str = ""
    granted: tuple[int, ...] = ()
    log: list[str] = field(default_factory=list)

    def grant(self, body: Json) -> dict[str, object]:
        """The answer to ``grant security classes``: the args of grant_security_classes."""
        requested = body.get("requested")
        asked: list[int] = []
        client_side_auth = False
        if isinstance(requested, dict):
            asked = [c for c in requested.get("securityClasses", []) if isinstance(c, int)]
            client_side_auth = requested.get("clientSideAuth") is True
        allowed = self.request.grant
        self.granted = tuple(c for c in asked if allowed is None or c in allowed)
        self.log.append(f"granted {list(self.granted)} of {asked}")
        return {"inclusionGrant": {"securityClasses": list(self.granted),
                                   "clientSideAuth": client_side_auth}}

    def pin(self, body: Json) -> dict[str, object] | None:
        """The answer to ``validate dsk and enter pin``: the PIN given with the request, or
        None when the user must be asked (they compare the DSK and type the PIN)."""
        self.dsk = str(body.get("dsk", ""))
        if self.request.pin is None:
            self.log.append(f"DSK {self.dsk}: waiting for the user's PIN")
            return None
        self.log.append(f"PIN given for DSK {self.dsk}")
        return {"pin": self.request.pin}
