"""Reproducible synthetic EPCs as readers report them (every GS1 partition, invalid values, junk) for simulators, tests and benchmarks."""

from __future__ import annotations

import random

from rfid.epc import encode_sgtin96, encode_sgtin198, encode_sscc96, gtin_check_digit
from rfid.epc.gs1 import AI82_CHARACTERS

_AI82 = sorted(AI82_CHARACTERS)


def random_gtin(rng: random.Random) -> str:
    """A random GTIN-14 with a correct check digit."""
    body = f"{rng.randrange(10**13):013d}"
    return body + str(gtin_check_digit(body))


def random_sscc(rng: random.Random) -> str:
    """A random SSCC-18 with a correct check digit."""
    body = f"{rng.randrange(10**17):017d}"
    return body + str(gtin_check_digit(body))


def random_serial_text(rng: random.Random) -> str:
    """A random 1-20 character AI 82 serial."""
    return "".join(rng.choice(_AI82) for _ in range(rng.randint(1, 20)))


def valid_epc(rng: random.Random) -> str:
    """One random valid SGTIN-96, SGTIN-198 or SSCC-96 of any partition and filter."""
    kind = rng.random()
    prefix_length = rng.randint(6, 12)
    filter_value = rng.randrange(8)
    if kind < 0.6:
        serial = rng.randrange(1 << 38) if rng.random() < 0.7 else rng.randrange(1000)
        return encode_sgtin96(random_gtin(rng), serial, prefix_length, filter_value)
    if kind < 0.8:
        return encode_sscc96(random_sscc(rng), prefix_length, filter_value)
    return encode_sgtin198(random_gtin(rng), random_serial_text(rng), prefix_length, filter_value, rng.choice((50, 52)))


def junk_epc(rng: random.Random) -> str:
    """One value a real reader might report that is not a valid GS1 EPC."""
    kind = rng.randrange(10)
    if kind == 0:
        return "E280" + "".join(rng.choice("0123456789ABCDEF") for _ in range(20))  # a factory TID
    if kind == 1:
        return "0" * rng.choice((4, 24, 32))
    if kind == 2:
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((2, 4, 8, 23, 24, 25, 32, 50, 52))))
    if kind == 3:  # a GS1 header with random body bits: bad partitions and over-long values
        return rng.choice(("30", "31", "36")) + "".join(rng.choice("0123456789ABCDEF") for _ in range(rng.choice((22, 48, 50))))
    if kind == 4:
        valid = valid_epc(rng)
        return valid[:2] + "".join(rng.choice("0123456789ABCDEF") for _ in range(len(valid) - 2))
    if kind == 5:  # noise a person or a reader adds
        valid = valid_epc(rng)
        return rng.choice((" ", "0x", "0X", "\t")) + valid.lower() + rng.choice(("", "\n", " "))
    if kind == 6:
        valid = valid_epc(rng)
        i = rng.randrange(len(valid))
        return valid[:i] + rng.choice("GZ- ./é") + valid[i + 1 :]
    if kind == 7:
        return valid_epc(rng)[: rng.randrange(1, 24)]
    if kind == 8:
        return ""
    return valid_epc(rng) + rng.choice(("00", "0000", "1"))


def mixed_epcs(count: int, seed: int = 4, junk_share: float = 0.1) -> list[str]:
    """`count` EPC hex strings: mostly valid GS1 EPCs, `junk_share` of them junk."""
    rng = random.Random(seed)
    return [junk_epc(rng) if rng.random() < junk_share else valid_epc(rng) for _ in range(count)]
