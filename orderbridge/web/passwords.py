"""Password hashes for `server.users`: scrypt from the standard library, written as
`scrypt$n$r$p$salt$hash` (salt and hash in base64) so the cost can rise without breaking old hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
COST = 2**14  # scrypt's n: about 16 MiB and a few tens of milliseconds per check
BLOCK = 8
PARALLEL = 1
MAX_COST = 2**20  # a hash asking more is refused: checking it would take the server's memory


def hash_password(password: str, *, cost: int = COST) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost, BLOCK, PARALLEL)
    return "$".join([SCHEME, str(cost), str(BLOCK), str(PARALLEL), _b64(salt), _b64(digest)])


def hash_problem(text: str) -> str | None:
    """Why `text` is no hash `hash_password` made, or None when it is one."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return "expected a hash made by `orderbridge hash-password` (scrypt$16384$8$1$...)"
    try:
        cost, block, parallel = (int(p) for p in parts[1:4])
        base64.b64decode(parts[4], validate=True)
        base64.b64decode(parts[5], validate=True)
    except ValueError:
        return "the hash is damaged; make it again with `orderbridge hash-password`"
    if cost < 2 or cost & (cost - 1) or cost > MAX_COST or not 1 <= block <= 32 or not 1 <= parallel <= 16:
        return "the hash's scrypt parameters are out of range; make it again with `orderbridge hash-password`"
    return None


def verify_password(password: str, stored: str) -> bool:
    if hash_problem(stored) is not None:
        return False
    _, cost, block, parallel, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    found = _scrypt(password, base64.b64decode(salt), int(cost), int(block), int(parallel), len(expected))
    return hmac.compare_digest(found, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p, dklen=length
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
