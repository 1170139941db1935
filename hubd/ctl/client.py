"""The hub's API seen from hubctl: HTTPS with the certificate pinned by its SPKI SHA-256.

The hub's certificate is self-signed, so the chain is not checked. Instead, a first handshake
fetches the certificate and checks that it carries the paired public key (RFC 7469 §2.4's pin);
the session then accepts only that exact certificate (aiohttp checks its fingerprint on every
connection), so no request ever goes to another key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hubd.core.errors import HubError


class HubCallError(HubError):
    """A call failed: the hub's problem (code, detail) or a transport failure."""

    def __init__(self, message: str, *, status: int = 0, code: str = "",
                 body: dict[str, Any] | None = None) -> None:
        self.status = status
        self.code = code
        self.body = body or {}
        super().__init__(message)


def spki_sha256(cert_der: bytes) -> str:
    """The pin of a DER certificate."""
    key = x509.load_der_x509_certificate(cert_der).public_key()
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _no_chain_check() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the pin below replaces the chain
    return context


@dataclass
class Hub:
    """A session with one hub."""

    url: str
    pin_sha256: str
    token: str
    session: aiohttp.ClientSession
    seen_pin: str = ""

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   text: str | None = None, content_type: str = "application/yaml") -> Any:
        """One API call; the JSON answer, or HubCallError with the hub's problem."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if text is not None:
            data, headers["Content-Type"] = text.encode(), content_type
        try:
            async with self.session.request(method, f"{self.url}/api/v1{path}", json=json_body,
                                            data=data, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except aiohttp.ServerFingerprintMismatch as exc:
            raise HubCallError(f"the hub at {self.url} changed its certificate mid-session"
                               ) from exc
        except aiohttp.ClientError as exc:
            raise HubCallError(f"cannot reach {self.url}: {exc}") from exc
        return _answer(raw, status)

    async def upload(self, path: str, file: Path) -> Any:
        """POST a file as application/octet-stream, streamed from disk (never read whole)."""
        headers = {"Authorization": f"Bearer {self.token}",
                   "Content-Type": "application/octet-stream"}
        try:
            stream = await asyncio.to_thread(open, file, "rb")
        except OSError as exc:
            raise HubCallError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            # aiohttp sends a file object in chunks read off the event loop, with its length.
            async with self.session.post(f"{self.url}/api/v1{path}", data=stream,
                                         headers=headers) as resp:
                raw, status = await resp.read(), resp.status
        except aiohttp.ClientError as exc:
            raise HubCallError(f"cannot reach {self.url}: {exc}") from exc
        finally:
            stream.close()
        return _answer(raw, status)

    @asynccontextmanager
    async def websocket(self) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """The API's WebSocket, authenticated and pin-checked."""
        url = self.url.replace("https://", "wss://").replace("http://", "ws://")
        try:
            ws = await self.session.ws_connect(
                f"{url}/api/v1/ws", headers={"Authorization": f"Bearer {self.token}"},
                heartbeat=30.0)
        except aiohttp.ClientError as exc:
            raise HubCallError(f"cannot reach {self.url}: {exc}") from exc
        try:
            yield ws
        finally:
            await ws.close()


async def fetch_certificate(url: str) -> bytes:
    """The DER certificate the server at an https URL presents."""
    parts = urlsplit(url)
    try:
        async with asyncio.timeout(10):
            _, writer = await asyncio.open_connection(parts.hostname, parts.port or 443,
                                                      ssl=_no_chain_check())
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise HubCallError(f"cannot reach {url}: {exc}") from exc
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    if not isinstance(der, bytes):
        raise HubCallError(f"{url} shows no certificate")
    return der


@asynccontextmanager
async def connect(url: str, pin_sha256: str, token: str) -> AsyncIterator[Hub]:
    """A session with the hub at url whose certificate carries the pinned key (any key when
    pin_sha256 is empty: the first contact; ``Hub.seen_pin`` then says which)."""
    seen = ""
    tls: ssl.SSLContext | aiohttp.Fingerprint | bool = False
    if url.startswith("https:"):
        der = await fetch_certificate(url)
        seen = spki_sha256(der)
        if pin_sha256 and seen != pin_sha256:
            raise HubCallError(f"the hub at {url} shows key {seen[:16]}…, not the paired "
                               f"{pin_sha256[:16]}…: someone may be in the middle; pair again "
                               "only if you replaced the hub")
        tls = aiohttp.Fingerprint(hashlib.sha256(der).digest())
    connector = aiohttp.TCPConnector(ssl=tls)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield Hub(url.rstrip("/"), pin_sha256, token, session, seen)


def _answer(raw: bytes, status: int) -> Any:
    """The hub's JSON answer; an error status raises HubCallError with its problem's detail."""
    body = json.loads(raw) if raw else None
    if status >= 400:
        problem = body if isinstance(body, dict) else {}
        raise HubCallError(str(problem.get("detail", f"HTTP {status}")), status=status,
                           code=str(problem.get("code", "")), body=problem)
    return body
