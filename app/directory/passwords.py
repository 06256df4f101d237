"""Agent desktop passwords in agent files (docs/job-types/agent.md, "Passwords").

Never kept in plain text: when an agent file is accepted, each password cell of the stored file
is replaced by its encryption (Fernet: AES-128-CBC with an HMAC-SHA256, the key derived from the
service's ``SECRET_KEY``), so a worker that resumes the job after a crash can still set it; the
worker keeps only a salted scrypt hash on the agent (werkzeug's ``generate_password_hash``).
Every download of the file shows ``~`` where a password was (a re-upload leaves it as it is);
the log shows ``********``.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from werkzeug.security import generate_password_hash

SEALED = "{sealed}"
MASK = "********"
# What a dry run keeps in place of a hash (rolled back with the rest; never a real hash).
DRY_RUN_HASH = "(a new password)"
MAX_PASSWORD = 256
# The operators' method (app/accounts/users.py): scrypt, n=2**15, r=8, p=1.
METHOD = "scrypt"


def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"bulkjob agent passwords\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class Sealer:
    """Seals and opens the password cells of one service's files (one ``SECRET_KEY``)."""

    def __init__(self, secret: str) -> None:
        self._fernet = _fernet(secret)

    def seal(self, password: str) -> str:
        return SEALED + self._fernet.encrypt(password.encode()).decode("ascii")

    def open(self, cell: str) -> str | None:
        """The password a sealed cell holds; None when it cannot be opened (the key changed)."""
        try:
            return self._fernet.decrypt(cell[len(SEALED) :].encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None


class PasswordError(ValueError):
    """A password cell that cannot be set (the message says why, never what it holds)."""


def readable(sealer: Sealer, cell: str) -> str:
    """The password a cell gives, checked: at most 256 ASCII characters 33-126."""
    if is_sealed(cell):
        password = sealer.open(cell)
        if password is None:
            raise PasswordError(
                "cannot be read: the service's SECRET_KEY changed since the job was created"
            )
    else:
        password = cell  # a file stored before passwords were sealed
    if len(password) > MAX_PASSWORD or not all(33 <= ord(c) <= 126 for c in password):
        raise PasswordError(f"must be at most {MAX_PASSWORD} ASCII characters 33-126")
    return password


def is_sealed(cell: str) -> bool:
    return cell.startswith(SEALED)


def hashed(password: str) -> str:
    return generate_password_hash(password, method=METHOD)
