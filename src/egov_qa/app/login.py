"""An optional login for the chat, for serving it beyond this machine.

The user and a hash of the password are given as ``USER:HASH`` (``--auth`` or
``EGOV_QA_AUTH``); the password itself is never stored. A hash is made with
``python app.py --hash-password`` (scrypt from the standard library, with a salt of
its own) and checked in constant time. Gradio asks for the login before the page or
any endpoint is served.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from egov_qa.errors import EgovQAError

SCHEME = "scrypt"
# scrypt's cost: about 16 MB and a few tens of milliseconds a check.
_N, _R, _P = 2**14, 8, 1


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A password's hash as it is given to ``--auth``: ``scrypt$SALT$DIGEST``.

    Raises:
        ValueError: the password is empty.
    """
    if not password:
        raise ValueError("the password is empty: choose one")
    salt = salt or os.urandom(16)
    return f"{SCHEME}${_b64(salt)}${_b64(_scrypt(password, salt))}"


@dataclass(frozen=True)
class Login:
    """One user and their password's hash; called as ``login(user, password)`` it says whether they match."""

    user: str
    password_hash: str

    def __call__(self, user: str, password: str) -> bool:
        _, salt, digest = self.password_hash.split("$")
        tried = _scrypt(password or "", _unb64(salt))
        # Both compared in full, so that the time taken says nothing about which one was wrong.
        same_user = hmac.compare_digest((user or "").encode("utf-8"), self.user.encode("utf-8"))
        return hmac.compare_digest(tried, _unb64(digest)) and same_user


def parse_login(text: str) -> Login:
    """``USER:HASH`` (as ``--auth`` or ``EGOV_QA_AUTH`` gives it) as a :class:`Login`.

    Raises:
        EgovQAError: it is not a user, a colon and a hash made by ``--hash-password``.
    """
    user, colon, stored = (text or "").strip().partition(":")
    parts = stored.split("$")
    problem = None
    if not colon or not user.strip():
        problem = "it has no user before the colon"
    elif len(parts) != 3 or parts[0] != SCHEME or not parts[1] or not parts[2]:
        problem = "what follows the colon is not a password hash"
    else:
        try:
            _unb64(parts[1]), _unb64(parts[2])
        except ValueError:
            problem = "the password hash is damaged"
    if problem:
        raise EgovQAError(
            f"the login is not USER:HASH ({problem}): make the hash with `python app.py --hash-password` "
            "and give it as --auth USER:HASH or EGOV_QA_AUTH=USER:HASH"
        )
    return Login(user.strip(), stored)
