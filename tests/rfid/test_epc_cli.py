"""`fulfil epc decode` and `fulfil epc encode`: JSON lines out, reasons and exit statuses."""

from __future__ import annotations

import argparse
import io
import json
import sys

import pytest

from fulfil.commands import epc as epc_command

SGTIN = "3074257BF7194E4000001A85"
SSCC = "3174257BF4499602D2000000"
SGTIN198 = "3634257BF7194E5B3770E40000000000000000000000000000"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]], str]:
    parser = argparse.ArgumentParser(prog="fulfil")
    epc_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    status = args.func(args)
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return status, lines, err if lines else out + err


def test_decode_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(["epc", "decode", SGTIN, SSCC, "E2801190A5021F80055817CA"], capsys)
    assert status == 0
    assert lines[0] == {
        "hex": SGTIN,
        "scheme": "sgtin-96",
        "filter": 3,
        "company_prefix": "0614141",
        "gs1_key": "80614141123458",
        "serial": "6789",
        "tag_uri": "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
        "pure_uri": "urn:epc:id:sgtin:0614141.812345.6789",
    }
    assert (lines[1]["scheme"], lines[1]["gs1_key"]) == ("sscc-96", "106141412345678908")
    assert lines[2]["scheme"] == "unknown" and "error" not in lines[2]


def test_decode_stdin_lines_with_junk(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = f"{SGTIN198}\n\n  0x{SGTIN.lower()}  \n307C257BF7194E4000001A85\nzz\xff\n".encode("latin-1")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, lines, _ = run(["epc", "decode"], capsys)
    assert status == 1  # some input could not be decoded
    assert [line["scheme"] for line in lines] == ["sgtin-198", "sgtin-96", "unknown", "unknown"]
    assert lines[2]["error"] == "sgtin-96 header: partition 7 is invalid"
    assert lines[3]["error"] == "not hexadecimal"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--gtin", "80614141123458", "--serial", "6789", "--company-prefix-length", "7", "--filter", "3"], SGTIN),
        (["--gtin", "80614141123458", "--serial", "6789", "--company-prefix-length", "7", "--scheme", "sgtin-198", "--hex-digits", "50"], SGTIN198),
        (["--sscc", "106141412345678908", "--company-prefix-length", "7", "--filter", "3"], SSCC),
        (["--uri", "urn:epc:tag:sscc-96:3.0614141.1234567890"], SSCC),
        (["--uri", "urn:epc:tag:sgtin-198:1.0614141.812345.6789"], SGTIN198 + "00"),
    ],
)
def test_encode(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(["epc", "encode", *argv], capsys)
    assert status == 0 and lines[0]["hex"] == expected
    status, _, out = run(["epc", "encode", "--hex-only", *argv], capsys)
    assert (status, out) == (0, expected + "\n")


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--gtin", "80614141123457", "--serial", "1", "--company-prefix-length", "7"], "check digit"),
        (["--gtin", "80614141123458", "--serial", "1"], "--company-prefix-length is required"),
        (["--gtin", "80614141123458", "--company-prefix-length", "7"], "--serial is required"),
        (["--gtin", "80614141123458", "--serial", "007", "--company-prefix-length", "7"], "leading zeros"),
        (["--gtin", "80614141123458", "--serial", "A1", "--company-prefix-length", "7"], "sgtin-198"),
        (["--sscc", "106141412345678908", "--company-prefix-length", "7", "--serial", "1"], "--gtin only"),
        (["--uri", "urn:epc:tag:sgtin-96:1.0614141.812345.6789", "--filter", "1"], "do not combine"),
        (["--uri", "urn:epc:id:sgtin:0614141.812345.6789"], "tag URI"),
    ],
)
def test_encode_errors_exit_2_with_a_reason(argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, err = run(["epc", "encode", *argv], capsys)
    assert status == 2 and not lines
    assert err.startswith("fulfil epc encode: error:") and reason in err


def test_encode_needs_exactly_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(["epc", "encode", "--gtin", "80614141123458", "--sscc", "106141412345678908"], capsys)
    assert exit_info.value.code == 2
