"""Tokens, scopes, the pairing window with its setup code, and the per-client rate limit.

A token is 256 random bits (``hubd_`` + base64url); only its SHA-256 is kept, in memory for
the hot path and in the store's tokens table. The window opened by the hub's button (or by a
correct setup code) lasts ``pair_window_s``; wrong setup codes are counted and, past
``max_bad_codes``, lock pairing for ``lockout_s``, doubling each time, as a phone's PIN does.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, replace
from enum import StrEnum

from hubd.api.ports import TokenInfo, TokensPort
from hubd.api.problems import ApiProblem, Code
from hubd.core.clock import Clock

log = logging.getLogger(__name__)

TOKEN_PREFIX = "hubd_"
TOUCH_EVERY_S = 60.0  # last_used reaches the store at most this often per token


class Scope(StrEnum):
    """What a token may do; each scope includes the ones before it."""

    READ = "read"
    CONTROL = "control"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        """Whether this scope covers what ``needed`` asks."""
        order = (Scope.READ, Scope.CONTROL, Scope.ADMIN)
        return order.index(self) >= order.index(needed)


def hash_token(secret: str) -> str:
    """The hash under which a token is kept."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_setup_code() -> str:
    """A fresh 8-digit setup code (printed on the hub's label)."""
    return f"{secrets.randbelow(10**8):08d}"


class TokenBook:
    """The valid tokens (by hash), minted, checked, listed and revoked."""

    def __init__(self, port: TokensPort, clock: Clock) -> None:
        self._port = port
        self._clock = clock
        self._by_hash: dict[str, TokenInfo] = {}
        self._touched: dict[str, float] = {}  # token id -> last write of last_used (monotonic)

    async def load(self) -> None:
        """Read the kept tokens."""
        self._by_hash = {h: info for info, h in await self._port.load()}

    async def mint(self, client: str, scope: Scope) -> tuple[str, TokenInfo]:
        """A new token for a client: its secret (shown once) and its record."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(secrets.token_hex(8), str(scope), client, self._clock.time(), None)
        token_hash = hash_token(secret)
        await self._port.add(info, token_hash)
        self._by_hash[token_hash] = info
        log.info("event=token_minted id=%s client=%r scope=%s", info.id, client, scope)
        return secret, info

    def check(self, secret: str) -> TokenInfo | None:
        """The token a secret belongs to, or None."""
        info = self._by_hash.get(hash_token(secret))
        if info is None:
            return None
        return info

    def used(self, info: TokenInfo) -> TokenInfo | None:
        """Note a use; returns the record to write when it is time to persist last_used."""
        now = self._clock.monotonic()
        last = self._touched.get(info.id)
        if last is not None and now - last < TOUCH_EVERY_S:
            return None
        self._touched[info.id] = now
        touched = replace(info, last_used=self._clock.time())
        for token_hash, known in self._by_hash.items():
            if known.id == info.id:
                self._by_hash[token_hash] = touched
                break
        return touched

    async def persist_use(self, info: TokenInfo) -> None:
        """Write last_used of a token."""
        if info.last_used is not None:
            await self._port.touch(info.id, info.last_used)

    def tokens(self) -> list[TokenInfo]:
        """Every token, oldest first."""
        return sorted(self._by_hash.values(), key=lambda t: t.created)

    async def revoke(self, token_id: str) -> bool:
        """Revoke a token at once (memory first, then the store); whether it existed."""
        gone = [h for h, info in self._by_hash.items() if info.id == token_id]
        for token_hash in gone:
            del self._by_hash[token_hash]
        existed = await self._port.delete(token_id)
        if gone or existed:
            log.info("event=token_revoked id=%s", token_id)
        return bool(gone) or existed


@dataclass(slots=True)
class Pairing:
    """The pairing window and the setup-code lockout."""

    clock: Clock
    setup_code: str
    window_s: float = 60.0
    max_bad_codes: int = 5
    lockout_s: float = 300.0
    open_until: float = 0.0  # monotonic
    bad_codes: int = 0
    lockouts: int = 0
    locked_until: float = 0.0

    def open(self, why: str) -> None:
        """Open the window (button pressed, admin asked, right setup code)."""
        self.open_until = self.clock.monotonic() + self.window_s
        log.warning("event=pairing_open why=%s window_s=%g", why, self.window_s)

    def close(self) -> None:
        """Close the window (a client paired)."""
        self.open_until = 0.0

    def remaining_s(self) -> float:
        """Seconds the window stays open (0 when closed)."""
        return max(0.0, self.open_until - self.clock.monotonic())

    def admit(self, code: str | None) -> None:
        """Let a pairing through, or raise the problem that says why not."""
        now = self.clock.monotonic()
        if now < self.locked_until:
            retry = math.ceil(self.locked_until - now)
            raise ApiProblem(Code.PAIRING_LOCKED, f"too many wrong setup codes; try again in "
                             f"{retry} s", headers={"Retry-After": str(retry)})
        if code is None:
            if self.remaining_s() <= 0:
                raise ApiProblem(Code.PAIRING_CLOSED, "press the hub's button (or give its "
                                 "setup code) and pair within 60 s")
            return
        if hmac.compare_digest(code.encode(), self.setup_code.encode()):
            self.bad_codes = 0
            return
        self.bad_codes += 1
        log.warning("event=pairing_bad_code count=%d", self.bad_codes)
        if self.bad_codes >= self.max_bad_codes:
            self.bad_codes = 0
            self.lockouts += 1
            self.locked_until = now + self.lockout_s * 2 ** (self.lockouts - 1)
            self.open_until = 0.0
        raise ApiProblem(Code.BAD_SETUP_CODE, "that is not the hub's setup code")


class RateLimiter:
    """A token bucket per client; the least recently seen clients are forgotten past a cap."""

    def __init__(self, clock: Clock, rate_per_s: float, burst: int, max_clients: int = 10_000
                 ) -> None:
        self._clock = clock
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """Spend one request; 0 if allowed, else the seconds until the next one is."""
        now = self._clock.monotonic()
        tokens, last = self._buckets.pop(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens >= 1.0:
            tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - tokens) / self._rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait
