"""Hardware errors: what a reader transport can go wrong with, independent of pyserial or the OS."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

import serial


class HardwareError(Exception):
    """Base class of every error raised by `hardware`."""


class PortUnavailable(HardwareError):
    """The port could not be opened: missing device, permission denied, busy, bad URL."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"cannot open {port}: {reason}")
        self.port = port
        self.reason = reason


class PortLost(HardwareError):
    """An open port failed while reading or writing: the reader was unplugged or the link died."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"{port} lost: {reason}")
        self.port = port
        self.reason = reason


class UnknownProtocol(HardwareError, ValueError):
    """A reader configuration names a protocol `hardware.serial` does not speak."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        # errno names are stable across locales, unlike strerror; keep both for the log.
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{name}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


@contextmanager
def opening(port: str) -> Iterator[None]:
    """Translate pyserial and OS errors raised while opening `port` into PortUnavailable."""
    try:
        yield
    except (serial.SerialException, OSError, ValueError) as exc:
        # ValueError: pyserial's answer to an unknown URL scheme or an invalid setting.
        raise PortUnavailable(port, _reason(exc)) from exc


@contextmanager
def transferring(port: str) -> Iterator[None]:
    """Translate pyserial and OS errors raised on an open `port` into PortLost."""
    try:
        yield
    except (serial.SerialException, OSError, TypeError) as exc:
        # TypeError: pyserial's posix read() on a port closed by another thread (fd is None).
        raise PortLost(port, _reason(exc)) from exc
