"""What a handheld scan says: a product (GTIN, from a retail barcode or a GS1 element string), a parcel (SSCC), a
tagged item (an EPC read by an RFID sled), or nothing we know, with the reason.

A keyboard-wedge scanner types the code, so the text arrives in many dresses (docs/store-app.md, "Scanning"):
- EAN-13 / UPC-A / EAN-8 / GTIN-14 digits: a GTIN, padded to 14 digits, check digit verified;
- GS1 element strings from GS1-128 or GS1 DataMatrix: an optional symbology identifier (`]C1`, `]d2`, `]Q3`,
  `]e0`), Application Identifiers run together, variable-length fields ended by GS (ASCII 29) or a configured
  printable substitute, or written in the bracketed human-readable form `(01)…(21)…`. AI 01 is the GTIN, AI 00 the
  SSCC, AI 21 a serial (kept), others are skipped by their known lengths;
- EPC hex (24 hex characters for 96-bit tags, more for SGTIN-198): decoded with the EPC codec; an SGTIN is the
  item's GTIN and serial, an SSCC-96 a parcel.
Surrounding whitespace and a trailing CR/LF/TAB are ignored. Nothing here raises on junk: `Scan.problem` says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rfid.epc.decode import decode_epc
from rfid.epc.model import EpcError
from rfid.epc.gs1 import check_key, normalise_gtin

GS = "\x1d"
SYMBOLOGY_IDS = ("]C1", "]d2", "]Q3", "]e0", "]d1", "]Q1")
# Fixed-length AIs (GS1 General Specifications fig. 5.10.2-1 "predefined length"): AI prefix -> data length.
_FIXED = {"00": 18, "01": 14, "02": 14, "03": 14, "04": 16, "11": 6, "12": 6, "13": 6, "14": 2, "15": 6, "16": 6, "17": 6,
          "18": 6, "19": 6, "20": 2, "31": 6, "32": 6, "33": 6, "34": 6, "35": 6, "36": 6, "41": 13}
# AIs of the fixed-length prefixes 31-36 are four digits (e.g. 3103), 41x three; all others two digits here, or
# variable-length with the AI's own length (three or four digits) taken from the table below.
_VARIABLE_AI_LENGTH = {"10": 2, "21": 2, "22": 2, "30": 2, "37": 2, "90": 2, "91": 2, "92": 2, "93": 2, "94": 2, "95": 2, "96": 2,
                       "97": 2, "98": 2, "99": 2, "24": 3, "25": 3, "40": 3, "42": 3, "70": 4, "71": 3, "72": 4, "80": 4, "81": 4, "82": 4}
_MAX_VARIABLE = 90
_HEX = re.compile(r"[0-9A-Fa-f]{24,64}")
_BRACKETED = re.compile(r"\((\d{2,4})\)([^()]*)")


@dataclass(frozen=True)
class Scan:
    """One scan, classified: `kind` is "gtin", "sscc", "epc" or "unknown" (then `problem` says why)."""

    raw: str
    kind: str
    gtin: str | None = None
    sscc: str | None = None
    epc: str | None = None  # upper-case hex, for an RFID tag
    serial: str | None = None
    problem: str | None = None


def parse(text: str, substitute: str | None = None) -> Scan:
    """Classify a scanned text (`substitute`: a printable character the scanner sends for FNC1/GS)."""
    raw = text
    code = text.strip(" \r\n\t")
    for prefix in SYMBOLOGY_IDS:
        if code.startswith(prefix):
            return _element_string(raw, code[len(prefix):], substitute)
    if not code:
        return Scan(raw, "unknown", problem="empty scan")
    if code.startswith("("):
        return _bracketed(raw, code)
    if code.isdigit():
        if len(code) in (8, 12, 13, 14):
            try:
                return Scan(raw, "gtin", gtin=normalise_gtin(code))
            except EpcError as exc:
                return Scan(raw, "unknown", problem=str(exc))
        if len(code) == 18:
            return _sscc(raw, code)
        if len(code) == 20 and code.startswith("00"):
            return _sscc(raw, code[2:])
        return _element_string(raw, code, substitute)
    if GS in code or (substitute is not None and substitute in code):
        return _element_string(raw, code, substitute)
    if _HEX.fullmatch(code):
        epc = _epc(raw, code)
        if epc.kind != "unknown" or not code[:2].isdigit():
            return epc
        element = _element_string(raw, code, substitute)  # hex digits can also spell an element string
        return element if element.kind != "unknown" else epc
    if code[:2].isdigit():
        return _element_string(raw, code, substitute)
    return Scan(raw, "unknown", problem="not a GTIN, SSCC, GS1 element string or EPC")


def _sscc(raw: str, digits: str) -> Scan:
    try:
        return Scan(raw, "sscc", sscc=check_key(digits, 18, "SSCC"))
    except EpcError as exc:
        return Scan(raw, "unknown", problem=str(exc))


def _epc(raw: str, code: str) -> Scan:
    epc = decode_epc(code)
    if epc.error is not None or epc.gs1_key is None:
        return Scan(raw, "unknown", epc=code.upper(), problem=f"EPC {code.upper()}: {epc.error or 'not a GS1 EPC'}")
    if epc.scheme.startswith("sscc"):
        return Scan(raw, "sscc", sscc=epc.gs1_key, epc=epc.hex.upper())
    return Scan(raw, "epc", gtin=epc.gs1_key, epc=epc.hex.upper(), serial=epc.serial)


def _fields(code: str, substitute: str | None) -> dict[str, str] | str:
    """AI -> value of an element string run together (GS or `substitute` ends variable fields); a reason on junk."""
    separators = {GS} | ({substitute} if substitute else set())
    out: dict[str, str] = {}
    i = 0
    while i < len(code):
        if code[i] in separators:
            i += 1
            continue
        head = code[i:i + 2]
        if not head.isdigit():
            return f"no Application Identifier at position {i}"
        if head in _FIXED:
            ai_len = 4 if head in ("31", "32", "33", "34", "35", "36") else 3 if head == "41" else 2
            ai = code[i:i + ai_len]
            value = code[i + ai_len:i + ai_len + _FIXED[head]]
            if len(value) != _FIXED[head] or not value.isdigit():
                return f"AI ({ai}) needs {_FIXED[head]} digits"
            i += ai_len + _FIXED[head]
        elif head in _VARIABLE_AI_LENGTH:
            ai_len = _VARIABLE_AI_LENGTH[head]
            ai = code[i:i + ai_len]
            end = i + ai_len
            while end < len(code) and code[end] not in separators and end - i - ai_len < _MAX_VARIABLE:
                end += 1
            value = code[i + ai_len:end]
            if not value:
                return f"AI ({ai}) has no value"
            i = end
        else:
            return f"unknown Application Identifier ({head}…)"
        out[ai] = value
    return out


def _element_string(raw: str, code: str, substitute: str | None) -> Scan:
    fields = _fields(code, substitute)
    if isinstance(fields, str):
        return Scan(raw, "unknown", problem=f"GS1 element string: {fields}")
    return _from_fields(raw, fields)


def _bracketed(raw: str, code: str) -> Scan:
    pairs = _BRACKETED.findall(code)
    if not pairs or "".join(f"({a}){v}" for a, v in pairs) != code:
        return Scan(raw, "unknown", problem="bracketed GS1 element string: expected (AI)value pairs")
    return _from_fields(raw, dict(pairs))


def _from_fields(raw: str, fields: dict[str, str]) -> Scan:
    if "00" in fields:
        return _sscc(raw, fields["00"])
    if "01" in fields:
        try:
            gtin = check_key(fields["01"], 14, "GTIN")
        except EpcError as exc:
            return Scan(raw, "unknown", problem=str(exc))
        return Scan(raw, "gtin", gtin=gtin, serial=fields.get("21"))
    return Scan(raw, "unknown", problem="GS1 element string without a GTIN (01) or SSCC (00)")
