"""The readers file: what it accepts, the errors that name the wrong field, and how antennas map to zones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fulfil.demo_network import readers_toml as network_readers_toml
from simulators.network_sim import Place
from fulfil.errors import InvalidInput
from fulfil.ingest.config import load_config, parse_config, unknown_locations
from fulfil.ingest.pipeline import IngestPipeline
from rfid.facts import Direction, PortalCrossed, TagArrived

GOOD = """
exit_policy = "exit"
share_group = "ingest"
[zones.receiving]
arrival_reads = 3
rssi_floor_dbm = -70
[[readers]]
id = "r700"
location = "ST-LYON-01"
transport = "mqtt"
topic = "readers/r700/events"
format = "impinj"
[readers.antennas]
1 = "receiving"
2 = "exit-inner"
3 = "exit-outer"
[[readers]]
id = "ru5102"
location = "ST-LYON-01"
transport = "serial"
port = "/dev/serial/by-id/usb-ru5102"
protocol = "chafon18"
[readers.antennas]
1 = "pack-station-2"
"""


def test_a_good_file_gives_zones_antennas_and_the_exit_portal() -> None:
    config = parse_config(GOOD)
    assert config.exit_policy == "exit" and config.share_group == "ingest"
    layout = config.layout()
    assert layout.antennas[("r700", 1)] == "ST-LYON-01/receiving"
    assert [p.name for p in layout.portals] == ["ST-LYON-01/exit"]
    receiving = next(z for z in layout.zones if z.name == "ST-LYON-01/receiving")
    assert receiving.arrival_reads == 3 and receiving.rssi_floor_dbm == -70
    assert unknown_locations(config, ["ST-PARIS-01"]) == {"ST-LYON-01"}


def test_reads_without_an_antenna_belong_to_a_single_zone_reader_only() -> None:
    layout = parse_config(GOOD).layout()
    assert layout.antennas[("ru5102", None)] == "ST-LYON-01/pack-station-2"  # Chafon UHFReader18: no antenna in its reports
    assert ("r700", None) not in layout.antennas  # three zones: a read naming no antenna could be any of them


@pytest.mark.parametrize(("change", "field"), [
    (('topic = "readers/r700/events"', ""), "readers.0"),  # an MQTT reader without a topic
    (('1 = "receiving"', '1 = "kitchen"'), "readers.0"),  # not a zone kind
    (('id = "ru5102"', 'id = "r700"'), ""),  # ids must be unique
    (('exit_policy = "exit"', 'exit_policy = "shrug"'), "exit_policy"),
    (('share_group = "ingest"', 'share_grup = "ingest"'), "share_grup"),
    (("arrival_reads = 3", "arrival_reads = -1"), "zones.receiving.arrival_reads"),
    (('1 = "pack-station-2"', '1 = "pack-station-2"\n2 = "backroom"'), "readers.1"),  # chafon18 cannot tell two zones apart
])
def test_errors_name_the_field(change: tuple[str, str], field: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(InvalidInput) as caught:
        parse_config(GOOD.replace(old, new, 1))
    assert caught.value.message.startswith("readers file: ")
    if field:
        assert any(p["field"].startswith(field) for p in caught.value.details), caught.value.details
    if old.startswith("1 = "):  # the message says what is wrong, not only where
        assert "kitchen" in caught.value.message or "one zone" in caught.value.message


def test_not_toml_and_missing_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not valid TOML"):
        parse_config("[[readers]\nid=")
    with pytest.raises(InvalidInput, match="cannot read readers file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("with_mqtt", [True, False])
def test_the_demo_networks_readers_file_is_valid(with_mqtt: bool) -> None:
    places = [Place("DC-PARIS", "warehouse", 48.9, 2.5), Place("ST-LYON-01", "store", 45.7, 4.8), Place("ST-NANTES-01", "store", 47.2, -1.6)]
    config = parse_config(network_readers_toml(places, with_mqtt, people_store="ST-LYON-01"))
    assert {r.transport for r in config.readers} == ({"mqtt"} if with_mqtt else {"http"})
    zones = {r.location: set(r.antennas.values()) for r in config.readers}
    assert zones["DC-PARIS"] == {"receiving", "pack-station-1", "pack-station-2", "pack-station-3"}  # a station per picker
    assert zones["ST-NANTES-01"] == {"receiving", "pack-station-1", "pack-station-2", "exit-inner", "exit-outer"}
    assert "pack-station-3" in zones["ST-LYON-01"]  # one more, for people, in the store the printed PIN opens


def test_facts_name_their_reader_unless_several_readers_serve_the_zone() -> None:
    shared = GOOD + """
[[readers]]
id = "dock-http"
location = "ST-LYON-01"
transport = "http"
[readers.antennas]
1 = "receiving"
"""
    now = datetime.now(UTC)
    pipeline = IngestPipeline(parse_config(shared), None)  # type: ignore[arg-type]  # no database needed to name readers
    assert pipeline._reader_of(TagArrived("E", "ST-LYON-01/pack-station-2", now)) == "ru5102"
    assert pipeline._reader_of(PortalCrossed("E", "ST-LYON-01/exit", Direction.OUT, now, now, now)) == "r700"
    assert pipeline._reader_of(TagArrived("E", "ST-LYON-01/receiving", now)) is None  # r700 or dock-http: not guessed
