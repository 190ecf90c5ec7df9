"""Password hashes for auto-created customers.

The original gave every auto-created user the password ``password``. Here a customer gets an
unusable password unless an operator configured an initial one, which is stored only as a salted
PBKDF2 hash (Django's ``pbkdf2_sha256$iterations$salt$hash`` format, so the hashes stay usable by
a Django-style login). The hash is computed once by the composition root, not per booking, so a
first booking costs no more than any other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["UNUSABLE_PASSWORD", "hash_password", "verify_password"]

#: Never matches any password (the ``!`` prefix cannot come out of :func:`hash_password`).
UNUSABLE_PASSWORD = "!"  # noqa: S105 - a marker that matches no password, not a secret
_ALGORITHM = "pbkdf2_sha256"
_ITERATIONS = 600_000
_PARTS = 4


def hash_password(password: str, *, salt: str | None = None, iterations: int = _ITERATIONS) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    encoded = base64.b64encode(digest).decode("ascii")
    return f"{_ALGORITHM}${iterations}${salt}${encoded}"


def verify_password(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != _PARTS or parts[0] != _ALGORITHM or not parts[1].isdigit():
        return False
    expected = hash_password(password, salt=parts[2], iterations=int(parts[1]))
    return hmac.compare_digest(expected, stored)
