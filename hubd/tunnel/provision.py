"""Provisioning by claim: send the hub's CSR and a one-time claim token to the relay.

The relay's CA signs the CSR for the hub id bound to the token and answers with the certificate,
its CA certificate and the tunnel URL; all three are stored in the identity directory. The HTTPS
call trusts the CA file given (a development relay) or the system's CAs. This runs once, from
`hubd tunnel provision`, so it may block (stdlib urllib).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from hubd.tunnel.identity import Endpoint, Identity, IdentityError


def provision(identity: Identity, relay_url: str, claim: str, ca_file: Path | None = None,
              timeout_s: float = 30.0) -> Endpoint:
    """Provision the hub; return where it will connect and the hub id it was given."""
    if not relay_url.startswith("https://"):
        raise IdentityError("the relay URL must start with https://")
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    payload = json.dumps({"csr": identity.csr_pem(), "claim": claim}).encode()
    request = urllib.request.Request(
        relay_url.rstrip("/") + "/api/v1/provision", data=payload, method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise IdentityError(f"the relay refused the claim (HTTP {exc.code}): {detail}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise IdentityError(f"cannot reach the relay at {relay_url}: {exc}") from exc
    try:
        endpoint = Endpoint(str(answer["tunnel_url"]), str(answer["hub_id"]))
        identity.store(str(answer["certificate"]), str(answer["ca"]), endpoint)
    except (KeyError, TypeError, ValueError) as exc:
        raise IdentityError(f"the relay's answer is not usable: {exc}") from exc
    return endpoint
