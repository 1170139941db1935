"""Answers to the server's S2 questions during inclusion (zwave-js-server controller events)."""

from __future__ import annotations

import pytest

from radios.zwave.inclusion import InclusionFlow, InclusionRequest, SecurityClass
from radios.zwave.session import InclusionStrategy

ASKED = {"requested": {"securityClasses": [SecurityClass.S2_ACCESS_CONTROL,
                                           SecurityClass.S2_AUTHENTICATED,
                                           SecurityClass.S0_LEGACY],
                       "clientSideAuth": False}}


def test_default_grants_what_the_device_asks_and_gives_the_pin() -> None:
    flow = InclusionFlow(InclusionRequest(InclusionStrategy.SECURITY_S2, pin="12345"))
    assert flow.grant(ASKED) == {"inclusionGrant": {"securityClasses": [2, 1, 7],
                                                    "clientSideAuth": False}}
    assert flow.pin({"dsk": "-23456-34567-45678-56789-67890-01234-12345"}) == {"pin": "12345"}
    assert flow.dsk.startswith("-23456")


def test_a_restricted_grant_and_no_pin_asks_the_user() -> None:
    flow = InclusionFlow(InclusionRequest(grant=frozenset({SecurityClass.S0_LEGACY})))
    assert flow.grant(ASKED)["inclusionGrant"] == {"securityClasses": [7],
                                                   "clientSideAuth": False}
    assert flow.pin({"dsk": "-1"}) is None
    assert "waiting for the user's PIN" in flow.log[-1]


@pytest.mark.parametrize(("request_", "options"), [
    (InclusionRequest(), {"strategy": 0}),
    (InclusionRequest(InclusionStrategy.INSECURE), {"strategy": 2}),
    (InclusionRequest(InclusionStrategy.SECURITY_S0, force_security=True),
     {"strategy": 3, "forceSecurity": True}),
])
def test_begin_inclusion_options(request_: InclusionRequest, options: dict[str, object]) -> None:
    assert request_.options() == options


def test_a_pin_is_five_digits() -> None:
    with pytest.raises(ValueError, match="five digits"):
        InclusionRequest(pin="1234")
