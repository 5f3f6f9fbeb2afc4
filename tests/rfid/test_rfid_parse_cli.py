"""`fulfil rfid parse`: one JSON object per read or rejected payload, on the vendor samples and own captures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fulfil.cli import main

READERS = Path(__file__).resolve().parent.parent / "fixtures" / "readers"
FULFIL = Path(sys.executable).parent / "fulfil"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    status = main(["rfid", "parse", *argv])
    return status, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_impinj_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(READERS / "impinj-tagInventory.json"))
    assert status == 0
    assert out == [{"epc": "E2801190A5021F80055817CA", "reader": "impinj-13-f8-f5", "antenna": 1, "rssi_dbm": -26.5,
                    "seen_at": "2021-07-09T23:35:59.278427Z", "count": 1, "seq": None,
                    "frequency_khz": None, "phase_deg": None, "frequency_index": None}]  # the sample has neither


def test_zebra_sample_with_explicit_format_and_reader(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--format", "zebra", "--reader", "fx9600-dock", str(READERS / "zebra-iotc-data.json"))
    assert status == 0
    assert out == [{"epc": "AD99160040AAC99525000025", "reader": "fx9600-dock", "antenna": 1, "rssi_dbm": -54.0,
                    "seen_at": "2023-02-24T10:14:42.851000Z", "count": 9, "seq": 194,
                    "frequency_khz": 927250, "phase_deg": 0.0, "frequency_index": None}]  # channel 927.25 MHz


def test_whole_file_array(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(READERS / "zebra-reports.json"))
    assert status == 0 and [o["seq"] for o in out] == [1001, 1002, 1003, 1004, 1006]


def test_json_lines_with_bad_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(READERS / "mixed.jsonl"))
    assert status == 1  # something was rejected
    assert [o.get("epc", o.get("error")) for o in out] == [
        "E2801190A5021F80055817CA", "AD99160040AAC99525000025", "bad antenna: 'two'", "not JSON: JSONDecodeError",
        "3034257BF7194E40000003E9",
    ]
    assert out[2]["line"] == 3 and out[3]["line"] == 4


def test_text_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(READERS / "handheld.txt"))
    assert status == 1
    assert len([o for o in out if "epc" in o]) == 6
    assert out[-1] == {"error": "not a hex EPC: 'not-an-epc'", "line": 8}


def test_events_are_printed_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    _, without = run(capsys, str(READERS / "impinj-events.json"))
    status, with_events = run(capsys, "--events", str(READERS / "impinj-events.json"))
    assert status == 0 and len(without) == 2
    assert [o["event"] for o in with_events if "event" in o] == [
        "antenna_disconnected", "antenna_connected", "inventory_status", "overflow", "other"]


def test_forced_format_rejects_the_other_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--format", "impinj", str(READERS / "zebra-iotc-data.json"))
    assert status == 1 and out == [{"error": "no eventType and no ...Event member"}]


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["rfid", "parse", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_console_script_reads_stdin() -> None:
    sample = (READERS / "zebra-iotc-data.json").read_bytes() + b"\n" + (READERS / "impinj-tagInventory.json").read_bytes()
    done = subprocess.run([str(FULFIL), "rfid", "parse", "-"], input=sample, capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["epc"] for line in done.stdout.splitlines()] == ["AD99160040AAC99525000025", "E2801190A5021F80055817CA"]


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["rfid", "parse", "--format", "llrp", "-"])
    assert exit_info.value.code == 2
