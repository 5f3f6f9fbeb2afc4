"""Fixtures for the rfid tests: captured reader payloads, a fixed receipt time, EPC factories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

READERS = Path(__file__).resolve().parent.parent / "fixtures" / "readers"
RECEIVED = datetime(2024, 3, 5, 14, 2, 30, tzinfo=UTC)


@pytest.fixture
def received() -> datetime:
    """A fixed receipt time, so parsed reads compare exactly."""
    return RECEIVED


@pytest.fixture
def payload() -> Callable[[str], bytes]:
    """The bytes of a captured payload under tests/fixtures/readers/."""

    def load(name: str) -> bytes:
        return (READERS / name).read_bytes()

    return load
