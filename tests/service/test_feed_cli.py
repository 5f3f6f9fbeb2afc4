"""`fulfil feed export`: the feed to a file for a scheduled upload, complete or not there at all, with the cursor kept
for the next incremental export; bad input exits 2 with one line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import select

from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.models import Location, LocationKind, StockCause, StockLevel
from fulfil.stock import service as stock
from fulfil.stock.rules import available
from tests.service.test_cli import run


def tsv_rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["store_code"], r["id"]): r for r in csv.DictReader(io.StringIO(path.read_text()), delimiter="\t")}


def test_a_full_export_then_an_incremental_one(env: dict[str, str], fresh_database_url: str, tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["seed", "--demo"], env).returncode == 0
    out, cursor_file = tmp_path / "local-inventory.tsv", tmp_path / "feed.cursor"
    full = run(["feed", "export", "--output", str(out), "--cursor-file", str(cursor_file)], env)
    assert full.returncode == 0, full.stderr
    summary = json.loads(full.stdout)
    rows = tsv_rows(out)
    assert summary["rows"] == len(rows) > 0 and summary["since"] is None
    assert cursor_file.read_text().strip() == summary["cursor"]
    assert not (tmp_path / "local-inventory.tsv.partial").exists()
    engine = make_engine(fresh_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            stores = set(s.scalars(select(Location.id).where(Location.kind == LocationKind.STORE)))
            levels = {(lvl.location_id, lvl.gtin): available(lvl.on_hand, lvl.reserved, lvl.safety) for lvl in s.scalars(select(StockLevel))}
            assert {key: int(row["quantity"]) for key, row in rows.items()} == {key: n for key, n in levels.items() if key[0] in stores}
            store, gtin = sorted(rows)[0]
            stock.adjust(s, store, gtin, stock.Cause(StockCause.MANUAL, actor="test", reason="count"), delta=5)
    finally:
        engine.dispose()
    update = tmp_path / "local-inventory-update.tsv"
    incremental = run(["feed", "export", "--incremental", "--cursor-file", str(cursor_file), "--output", str(update)], env)
    assert incremental.returncode == 0, incremental.stderr
    changed = tsv_rows(update)
    assert int(changed[(store, gtin)]["quantity"]) == int(rows[(store, gtin)]["quantity"]) + 5
    assert len(changed) < len(rows)
    assert json.loads(incremental.stdout)["since"] == summary["cursor"] != cursor_file.read_text().strip()
    as_json = run(["feed", "export", "--format", "json", "--since", summary["cursor"]], env)  # to stdout, summary on stderr
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["count"] == json.loads(as_json.stderr)["rows"] >= 1


def test_bad_input_exits_2_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    garbled = run(["feed", "export", "--since", "not-a-cursor"], env)
    assert garbled.returncode == 2 and "not a feed cursor" in garbled.stderr and "Traceback" not in garbled.stderr
    first = run(["feed", "export", "--incremental", "--cursor-file", str(tmp_path / "none")], env)
    assert first.returncode == 2 and "run a full export first" in first.stderr
    out = tmp_path / "never.tsv"
    other_rules = run(["feed", "export", "--since", "1.00000000", "--output", str(out)], {**env, "FULFIL_AVAILABILITY_LIMITED_MAX": "7"})
    assert other_rules.returncode == 2 and "fetch the full feed" in other_rules.stderr
    assert not out.exists()
