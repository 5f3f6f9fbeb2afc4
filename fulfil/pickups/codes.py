"""Pickup codes: short, human, unique, and the QR payload the customer's message carries.

A code is CODE_LENGTH symbols from an alphabet without look-alikes (no 0/O, 1/I/L): 31^8, about 8.5e11 codes
(39.6 bits), drawn with `secrets`. Customers may type it in lower case, with spaces or a dash (`ABCD-EFGH`):
`normalise` takes all of those to the stored form."""

from __future__ import annotations

import hmac
import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
# A new code is drawn again when it collides with a stored one (unique column); after this many, intake fails.
ATTEMPTS = 8
# What a code may look like where it is typed (path or body): the stored form, lower case, separators.
CODE_INPUT_PATTERN = r"^[A-Za-z0-9 -]{1,32}$"
_SEPARATORS = re.compile(r"[ -]")
QR_PREFIX = "FULFIL:PICKUP"


def new_code() -> str:
    """A fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(typed: str) -> str:
    """A typed code in its stored form (upper case, separators dropped); it may still be no code at all."""
    return _SEPARATORS.sub("", typed).upper()


def matches(stored: str | None, typed: str) -> bool:
    """Whether a typed code is the stored one (compared in constant time)."""
    return stored is not None and hmac.compare_digest(stored.encode(), normalise(typed).encode())


def qr_payload(order_id: int, code: str) -> str:
    """What the QR code in the customer's message encodes: `FULFIL:PICKUP:<order id>:<code>`. Upper-case letters,
    digits and colons only, so it fits a QR code's compact alphanumeric mode; a store app scanning it knows the
    order (its waiting parcels are in GET /pickups) and the code to hand over with."""
    return f"{QR_PREFIX}:{order_id}:{code}"


def display(code: str) -> str:
    """The code as printed for people: two groups of four (`ABCD-EFGH`)."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code
