"""Dashboard sessions: a token sealed into a cookie, and the CSRF value that goes with it.

Stateless on purpose: the cookie is the caller's token encrypted and authenticated with a key
derived from the server's secret key, so every gateway process (and every server sharing the
secret key) opens it without a session table. A session ends when its cookie expires (max_age)
or its token is revoked; logging out clears the cookie.

CSRF: csrf = HMAC-SHA256(a second derived key, cookie value). A page of ours learns it from
`/ui/session`'s answer and sends it as `X-CSRF-Token`; another site can neither read the cookie
(HttpOnly) nor compute the value. Changes (any method but GET/HEAD/OPTIONS) without it are
refused, even though SameSite=Strict already keeps the cookie off cross-site requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from modelport.domain.errors import Forbidden, Unauthorized
from modelport.security.secrets import SecretBox

SESSION_COOKIE = "mp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_MAX_AGE_S = 12 * 3600
CSRF_REFUSED = "csrf: missing or wrong X-CSRF-Token header"
_MAX_COOKIE = 4096  # a browser sends no more; anything longer is not ours


@dataclass(frozen=True, slots=True)
class Sealed:
    """A new session: the cookie value to set and its CSRF value."""

    cookie: str
    csrf: str


class SessionCookies:
    def __init__(
        self,
        box: SecretBox,
        max_age_s: int = DEFAULT_MAX_AGE_S,
        now: Callable[[], float] = time.time,  # wall clock: the seal's timestamp is wall time
    ) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(box.derive("ui-session")))
        self._csrf_key = box.derive("ui-csrf")
        self._now = now
        self.max_age_s = max_age_s

    def seal(self, token: str) -> Sealed:
        sealed = self._fernet.encrypt_at_time(token.encode(), int(self._now()))
        cookie = sealed.decode("ascii")
        return Sealed(cookie, self.csrf(cookie))

    def open(self, cookie: str) -> str | None:
        """The token inside a cookie of ours; None if it is not ours, tampered with or expired."""
        if not cookie or len(cookie) > _MAX_COOKIE:
            return None
        try:
            opened = self._fernet.decrypt_at_time(
                cookie.encode("ascii"), self.max_age_s, int(self._now())
            )
            return opened.decode()
        except (InvalidToken, UnicodeError):
            return None

    def csrf(self, cookie: str) -> str:
        return hmac.new(self._csrf_key, cookie.encode("ascii"), hashlib.sha256).hexdigest()

    def authorization(self, cookie: str, csrf_header: str | None, method: str) -> str:
        """The `Authorization` value a request carrying this cookie stands for.

        Unauthorized when the cookie is not a live session of ours; Forbidden when a change
        comes without the right CSRF header."""
        token = self.open(cookie)
        if token is None:
            raise Unauthorized("session expired or invalid: sign in again")
        if method.upper() not in SAFE_METHODS and not self._csrf_matches(cookie, csrf_header):
            raise Forbidden(CSRF_REFUSED)
        return f"Bearer {token}"

    def _csrf_matches(self, cookie: str, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf(cookie), given.strip())


def cookie_value(header: str | None, name: str = SESSION_COOKIE) -> str | None:
    """`name`'s value in a Cookie header (`a=1; mp_session=...`); None when absent."""
    if not header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None
