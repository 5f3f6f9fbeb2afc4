"""Serial reader emulators on pseudo-terminals, for tests, benchmarks and the demo."""

from simulators.serial.base import DEFAULT_NOISE, NO_FAULTS, EmulatorLog, FaultPlan, PtyEmulator, Radio, Tag
from simulators.serial.emulators import (
    EMULATORS,
    Chafon18Emulator,
    Chafon288Emulator,
    R2000Emulator,
    TextLineEmulator,
    ThingMagicEmulator,
)

__all__ = [
    "DEFAULT_NOISE",
    "EMULATORS",
    "NO_FAULTS",
    "Chafon18Emulator",
    "Chafon288Emulator",
    "EmulatorLog",
    "FaultPlan",
    "PtyEmulator",
    "R2000Emulator",
    "Radio",
    "Tag",
    "TextLineEmulator",
    "ThingMagicEmulator",
]
