"""The three integrity checks of serial RFID protocols: ThingMagic's CRC, Chafon's CRC-16/0x8408, the R2000 LRC."""

from __future__ import annotations


def _thingmagic_table() -> tuple[int, ...]:
    # The register shifted four message bits at a time: entry n is the feedback of nibble n.
    table = []
    for nibble in range(16):
        register = nibble << 12
        for _ in range(4):
            register = ((register << 1) ^ 0x1021) if register & 0x8000 else register << 1
        table.append(register & 0xFFFF)
    return tuple(table)


_TM_TABLE = _thingmagic_table()


def thingmagic_crc(data: bytes | bytearray | memoryview) -> int:
    """ThingMagic's CRC over LEN..DATA: register 0xFFFF, message bits shifted in MSB first, poly 0x1021, no augmentation."""
    register = 0xFFFF
    for byte in data:
        # Shift the high nibble, then the low nibble, into the low end of the register.
        register = (((register << 4) | (byte >> 4)) ^ _TM_TABLE[register >> 12]) & 0xFFFF
        register = (((register << 4) | (byte & 0x0F)) ^ _TM_TABLE[register >> 12]) & 0xFFFF
    return register


def thingmagic_crc_bitwise(data: bytes | bytearray | memoryview) -> int:
    """The same CRC one bit at a time, straight from the definition (the reference the table version is tested against)."""
    register = 0xFFFF
    for byte in data:
        for shift in range(7, -1, -1):
            top = register & 0x8000
            register = ((register << 1) | ((byte >> shift) & 1)) & 0xFFFF
            if top:
                register ^= 0x1021
    return register


def _chafon_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        register = byte
        for _ in range(8):
            register = (register >> 1) ^ 0x8408 if register & 1 else register >> 1
        table.append(register)
    return tuple(table)


_CHAFON_TABLE = _chafon_table()


def chafon_crc(data: bytes | bytearray | memoryview) -> int:
    """Chafon's CRC-16: init 0xFFFF, reflected polynomial 0x8408, no final xor (sent least significant byte first)."""
    register = 0xFFFF
    for byte in data:
        register = (register >> 8) ^ _CHAFON_TABLE[(register ^ byte) & 0xFF]
    return register


def r2000_check(data: bytes | bytearray | memoryview) -> int:
    """The R2000 CHECK byte: two's complement of the 8-bit sum, so that a whole frame sums to 0 mod 256."""
    return (-sum(data)) & 0xFF
