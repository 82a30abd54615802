"""Password hashing (argon2id through argon2-cffi) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from potok.errors import N_

MIN_LENGTH = 8
MAX_LENGTH = 256

_hasher = PasswordHasher()
_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong username costs the same
    time as a wrong password (made with the hasher in use, hence lazily)."""
    key = id(_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = _hasher.hash("potok-dummy-password")
    return _dummy_hashes[key]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, *, username: str = "") -> str | None:
    """The policy's objection to ``password`` as a message id, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return N_("The password must be at least 8 characters long.")
    if len(password) > MAX_LENGTH:
        return N_("The password must be at most 256 characters long.")
    if not password.strip():
        return N_("The password must not be only spaces.")
    if username and password.strip().lower() == username.lower():
        return N_("The password must not be the same as the username.")
    return None
