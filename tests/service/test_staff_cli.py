"""`fulfil staff add|demo`: PINs drawn at random, printed once; the demo's PIN kept owner-only and reused while it
still signs in (what `make run` prints for the store app)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastapi.testclient import TestClient

from fulfil.app import create_app
from tests.factories import quiet_settings
from tests.service.test_cli import run


def _signs_in(url: str, store: str, pin: str) -> bool:
    app = create_app(quiet_settings(url))
    with TestClient(app) as client:
        return client.post("/api/v1/store/sign-in", json={"location_id": store, "pin": pin}).status_code == 200


def test_the_demo_pin_is_kept_and_reused_while_it_signs_in(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["seed", "--demo"], env).returncode == 0
    kept = tmp_path / "pin"
    first = run(["staff", "demo", "--file", str(kept)], env)
    assert first.returncode == 0, first.stderr
    pin = first.stdout.strip()
    assert len(pin) == 6 and pin.isdigit() and "Lyon" in first.stderr
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600 and kept.read_text().strip() == pin
    again = run(["staff", "demo", "--file", str(kept)], env)
    assert again.stdout.strip() == pin and "reused" in again.stderr
    assert _signs_in(env["FULFIL_DATABASE_URL"], "ST-LYON-01", pin)
    kept.write_text("999999\n")  # a file that no longer signs in: a new PIN replaces it
    renewed = run(["staff", "demo", "--file", str(kept)], env)
    new_pin = renewed.stdout.strip()
    assert renewed.returncode == 0 and kept.read_text().strip() == new_pin
    assert _signs_in(env["FULFIL_DATABASE_URL"], "ST-LYON-01", new_pin)


def test_staff_add_prints_a_new_pin_once(env: dict[str, str]) -> None:  # noqa: F811
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["seed", "--demo"], env).returncode == 0
    added = run(["staff", "add", "--store", "ST-LYON-01", "--name", "Hugo"], env)
    assert added.returncode == 0, added.stderr
    assert _signs_in(env["FULFIL_DATABASE_URL"], "ST-LYON-01", added.stdout.strip())
    refused = run(["staff", "add", "--store", "DC-NOWHERE", "--name", "Hugo"], env)
    assert refused.returncode == 2 and "not found" in refused.stderr
