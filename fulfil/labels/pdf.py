"""A parcel's shipping label as a one-page A6 PDF (105 × 148 mm), for printers that take files.

Written directly (PDF 1.4, ISO 32000-1): one page whose content stream draws the GS1-128 bars of `(00)` + the SSCC as
filled rectangles at GS1's 0.495 mm X-dimension, and the text in Helvetica, one of the fonts every PDF reader has
(text in Windows-1252, so French accents print; other characters become "?"). No library, no fonts embedded.
"""

from __future__ import annotations

from fulfil.labels.gs1_128 import QUIET_MODULES, bar_runs, human_readable, modules

MM = 72 / 25.4  # points per millimetre
WIDTH, HEIGHT = 105 * MM, 148 * MM
MARGIN = 6 * MM
MODULE = 0.495 * MM
BAR_HEIGHT = 31.75 * MM


def _text(value: str) -> str:
    """A PDF string literal in WinAnsiEncoding."""
    raw = value.encode("cp1252", "replace")
    escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return "(" + escaped.decode("latin-1") + ")"


def _line(x: float, y: float, size: float, value: str, *, bold: bool = False) -> str:
    return f"BT /{'F2' if bold else 'F1'} {size:.1f} Tf {x:.2f} {y:.2f} Td {_text(value)} Tj ET"


def label_pdf(*, sscc: str, order_id: int, shipment_id: int, sender: list[str], to: list[str], units: int) -> bytes:
    """The label: sender, addressee, order and shipment, units, and the SSCC barcode with its human-readable line."""
    ops: list[str] = []
    y = HEIGHT - MARGIN - 8
    ops.append(_line(MARGIN, y, 7, "FROM / EXPÉDITEUR"))
    for text in sender[:3]:
        y -= 10
        ops.append(_line(MARGIN, y, 9, text))
    y -= 22
    ops.append(_line(MARGIN, y, 7, "TO / DESTINATAIRE"))
    for i, text in enumerate(to[:6]):
        y -= 17 if i == 0 else 14
        ops.append(_line(MARGIN, y, 14 if i == 0 else 12, text, bold=i == 0))
    y -= 26
    ops.append(_line(MARGIN, y, 11, f"Order / Commande {order_id}", bold=True))
    y -= 14
    ops.append(_line(MARGIN, y, 10, f"Shipment / Expédition {shipment_id} · {units} unit(s) / article(s)"))
    y -= 8
    ops.append(f"0.5 w {MARGIN:.2f} {y:.2f} m {WIDTH - MARGIN:.2f} {y:.2f} l S")
    digits = "00" + sscc
    pattern = modules(digits)
    total = (len(pattern) + 2 * QUIET_MODULES) * MODULE
    left = (WIDTH - total) / 2 + QUIET_MODULES * MODULE
    bottom = MARGIN + 16
    bars = [f"{left + start * MODULE:.3f} {bottom:.2f} {width * MODULE:.3f} {BAR_HEIGHT:.2f} re" for start, width in bar_runs(pattern)]
    ops.append("0 g " + " ".join(bars) + " f")
    ops.append(_line(MARGIN, bottom + BAR_HEIGHT + 4, 7, "SSCC"))
    readable = human_readable(digits)
    ops.append(_line(WIDTH / 2 - len(readable) * 2.9, MARGIN + 4, 9.6, readable))
    content = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH:.2f} {HEIGHT:.2f}] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> "
        f"/Contents 6 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
