"""Plain-text serial readers: one line per tag (hex EPC, optional antenna, RSSI, timestamp), parsed by rfid.payloads."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from hardware.serial.framing import Decoded, ReaderProtocol, utc_now
from rfid.payloads import parse_text
from rfid.reads import Rejection

# A line longer than this without a line break is not a reader's line (wrong baud rate, binary stream).
MAX_LINE = 256
OVERLONG = "overlong line"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class TextLineProtocol(ReaderProtocol):
    """Line framing over `rfid.payloads.parse_text`; a bad line is a rejection, never an exception."""

    name: ClassVar[str] = "text"
    default_baudrate: ClassVar[int] = 9600
    expects_traffic: ClassVar[bool] = False  # no tag in the field, no line: silence is normal

    def __init__(self, *, reader: str | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(reader=reader, clock=clock)
        self._after_cr = False  # the last chunk ended with CR: a LF starting the next one ends no new line
        self._line = bytearray()
        self._discarding = False  # inside an overlong line: drop bytes up to the next line break
        self._line_number = 0

    def reset(self) -> None:
        """Forget a partial line."""
        self._line.clear()
        self._discarding = self._after_cr = False

    def _parse(self, data: bytes, *, final: bool) -> list[Decoded]:
        out: list[Decoded] = []
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
        if data:
            self._after_cr = data.endswith(b"\r")
        pieces = _LINE_BREAK.split(data)
        for index, piece in enumerate(pieces):
            complete = index < len(pieces) - 1 or (final and bool(self._line or piece))
            self._take(piece, out)
            if complete:
                self._end_line(out)
        return out

    def _take(self, piece: bytes, out: list[Decoded]) -> None:
        if self._discarding:
            self.stats.noise_bytes += len(piece)
            return
        self._line += piece
        if len(self._line) > MAX_LINE:
            self.stats.noise_bytes += len(self._line)
            out.append(Rejection(OVERLONG, bytes(self._line[:MAX_LINE]), self._line_number + 1, self.name))
            self._line.clear()
            self._discarding = True

    def _end_line(self, out: list[Decoded]) -> None:
        self._line_number += 1
        line, self._discarding = bytes(self._line), False
        self._line.clear()
        if not line.strip():
            return
        result = parse_text(line, reader=self.reader_id, received_at=self._clock())
        for read in result.reads:
            self.stats.frames_ok += 1
            out.append(read)
        for rejection in result.rejections:
            self.stats.malformed += 1
            out.append(Rejection(rejection.reason, rejection.raw, self._line_number, self.name))

