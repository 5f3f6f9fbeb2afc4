"""GS1-128 barcodes of all-numeric element strings (an SSCC label's `(00)` + 18 digits), as bar patterns and SVG;
and plain Code 128 of short printable text (code set B, no FNC1), for signs such as a pack station's name.

Code 128 (ISO/IEC 15417) in code set C, which packs two digits per symbol: Start C, FNC1 (what makes it GS1-128),
the digit pairs, the mod-103 check symbol, Stop. Each symbol is 11 modules (Stop 13) of alternating bars and
spaces; the quiet zone on each side is 10 modules (GS1 General Specifications §5.4.4). An odd number of digits, or
anything but digits, is refused: labels here only carry numeric AIs.
"""

from __future__ import annotations

from html import escape

# The 107 Code 128 symbols as bar/space widths (values 0-105, then Stop), from ISO/IEC 15417 table 1.
_WIDTHS = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
START_B, START_C, FNC1, STOP = 104, 105, 102, 106
QUIET_MODULES = 10


def symbols(digits: str) -> list[int]:
    """The symbol values of an all-numeric element string: Start C, FNC1, pairs, check (Stop not included)."""
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) % 2:
        raise ValueError("GS1-128 here encodes an even number of digits (an element string such as 00 + an SSCC)")
    values = [START_C, FNC1] + [int(digits[i:i + 2]) for i in range(0, len(digits), 2)]
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return values + [check]


def text_symbols(text: str) -> list[int]:
    """The symbol values of printable ASCII text in code set B: Start B, one symbol per character, check."""
    if not text or not text.isascii() or not all(32 <= ord(c) <= 126 for c in text):
        raise ValueError("Code 128 set B encodes printable ASCII text")
    values = [START_B] + [ord(c) - 32 for c in text]
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return values + [check]


def _pattern(values: list[int]) -> str:
    out = []
    for value in [*values, STOP]:
        for i, width in enumerate(_WIDTHS[value]):
            out.append(("1" if i % 2 == 0 else "0") * int(width))
    return "".join(out)


def modules(digits: str) -> str:
    """The symbol as modules, "1" for bar and "0" for space, without quiet zones."""
    return _pattern(symbols(digits))


def text_modules(text: str) -> str:
    """A Code 128 (set B) symbol of `text` as modules."""
    return _pattern(text_symbols(text))


def human_readable(digits: str) -> str:
    """The text under the bars: `(00) 1 0614141 000000000 2` for an SSCC; other strings as given, AI in brackets."""
    if digits.startswith("00") and len(digits) == 20:
        sscc = digits[2:]
        return f"(00) {sscc[0]} {sscc[1:8]} {sscc[8:17]} {sscc[17]}"
    return f"({digits[:2]}) {digits[2:]}"


def bar_runs(pattern: str) -> list[tuple[int, int]]:
    """The bars of a module pattern as (first module, width in modules), left to right."""
    runs = []
    start = None
    for i, bit in enumerate(pattern + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit == "0" and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def svg(digits: str, *, module_mm: float = 0.495, height_mm: float = 31.75, title: str | None = None) -> str:
    """An SVG of the barcode with its quiet zones and human-readable line, sized in millimetres for print (defaults:
    GS1's 0.495 mm X-dimension and 31.75 mm bar height for logistic labels)."""
    label = human_readable(digits)
    return _svg(modules(digits), label, title or f"GS1-128 barcode {label}", module_mm, height_mm)


def text_svg(text: str, *, module_mm: float = 0.4, height_mm: float = 15.0, title: str | None = None) -> str:
    """An SVG of a Code 128 (set B) barcode of `text`, its text under the bars."""
    return _svg(text_modules(text), text, title or f"Code 128 barcode {text}", module_mm, height_mm)


def _svg(pattern: str, label: str, name: str, module_mm: float, height_mm: float) -> str:
    width = (len(pattern) + 2 * QUIET_MODULES) * module_mm
    text_mm = 4.0
    bars = [
        f'<rect x="{(QUIET_MODULES + start) * module_mm:.3f}" y="0" width="{width * module_mm:.3f}" height="{height_mm}"/>'
        for start, width in bar_runs(pattern)
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(name)}" width="{width:.3f}mm" height="{height_mm + text_mm + 1:.3f}mm" '
        f'viewBox="0 0 {width:.3f} {height_mm + text_mm + 1:.3f}"><g fill="#000">{"".join(bars)}</g>'
        f'<text x="{width / 2:.3f}" y="{height_mm + text_mm:.3f}" font-family="monospace" font-size="{text_mm - 0.5}" text-anchor="middle">{escape(label)}</text></svg>'
    )
