"""Dashboard session cookies: only our server opens them, they expire, and changes need the
CSRF value that belongs to the cookie."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from modelport.domain.errors import Forbidden, Unauthorized
from modelport.security.secrets import SecretBox
from modelport.security.sessions import CSRF_REFUSED, SessionCookies, cookie_value


class Wall:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


def test_a_sealed_token_opens_and_reads_need_no_csrf(box: SecretBox) -> None:
    sessions = SessionCookies(box)
    sealed = sessions.seal("mp_secret")
    assert "mp_secret" not in sealed.cookie
    assert sessions.open(sealed.cookie) == "mp_secret"
    assert sessions.authorization(sealed.cookie, None, "GET") == "Bearer mp_secret"
    assert sessions.authorization(sealed.cookie, sealed.csrf, "POST") == "Bearer mp_secret"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "post"])
@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_a_change_without_the_right_csrf_is_forbidden(
    box: SecretBox, method: str, csrf: str | None
) -> None:
    sessions = SessionCookies(box)
    sealed = sessions.seal("mp_secret")
    with pytest.raises(Forbidden) as refused:
        sessions.authorization(sealed.cookie, csrf, method)
    assert refused.value.message == CSRF_REFUSED


def test_the_csrf_of_another_session_does_not_fit(box: SecretBox) -> None:
    sessions = SessionCookies(box)
    mine, theirs = sessions.seal("mp_a"), sessions.seal("mp_b")
    with pytest.raises(Forbidden):
        sessions.authorization(mine.cookie, theirs.csrf, "POST")


def test_cookies_of_another_key_tampered_or_expired_do_not_open(box: SecretBox) -> None:
    wall = Wall()
    sessions = SessionCookies(box, max_age_s=60, now=wall)
    sealed = sessions.seal("mp_secret")
    other = SessionCookies(SecretBox(Fernet.generate_key()))
    assert other.open(sealed.cookie) is None
    tampered = sealed.cookie[:-6] + ("A" if sealed.cookie[-6] != "A" else "B") + sealed.cookie[-5:]
    assert sessions.open(tampered) is None
    assert sessions.open("") is None
    assert sessions.open("é" * 10) is None
    assert sessions.open("x" * 5000) is None
    wall.t += 59
    assert sessions.open(sealed.cookie) == "mp_secret"
    wall.t += 2
    assert sessions.open(sealed.cookie) is None
    with pytest.raises(Unauthorized):
        sessions.authorization(sealed.cookie, sealed.csrf, "GET")


def test_the_session_key_is_not_the_stored_secrets_key(box: SecretBox) -> None:
    """A session cookie is no stored secret and a stored secret no session: separate keys."""
    sealed = SessionCookies(box).seal("mp_secret")
    with pytest.raises(Exception, match="cannot be decrypted"):
        box.decrypt("enc:v1:" + sealed.cookie)
    assert SessionCookies(box).open(box.encrypt("mp_secret")[len("enc:v1:") :]) is None


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (None, None),
        ("", None),
        ("mp_session=abc", "abc"),
        ("theme=dark; mp_session=a=b==; other=1", "a=b=="),
        ('mp_session="quoted"', "quoted"),
        ("xmp_session=nope; mp_sessionx=nope", None),
    ],
)
def test_cookie_value_finds_our_cookie(header: str | None, value: str | None) -> None:
    assert cookie_value(header) == value
