"""The promise calendar: cut-off, opening days, handling days, pickup readiness within opening hours, labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fulfil.promise import calendar

SHOP = {day: [["09:00", "12:00"], ["14:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}  # closed on Sunday


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=calendar.ZoneInfo("Europe/Paris"))


def test_an_order_before_the_cutoff_is_handled_today_after_it_the_next_open_day() -> None:
    hours = calendar.hours_of(SHOP, "Europe/Paris", "14:00")
    assert calendar.handling_start(hours, paris(2026, 12, 4, 13, 59)) == date(2026, 12, 4)  # Friday, before
    assert calendar.handling_start(hours, paris(2026, 12, 4, 14, 0)) == date(2026, 12, 5)  # Friday, after: Saturday
    assert calendar.handling_start(hours, paris(2026, 12, 5, 15, 0)) == date(2026, 12, 7)  # Saturday after: Sunday closed, Monday
    assert calendar.handling_start(hours, paris(2026, 12, 6, 10, 0)) == date(2026, 12, 7)  # Sunday: Monday


def test_the_cutoff_is_the_locations_local_time_not_utc() -> None:
    hours = calendar.hours_of(None, "America/New_York", "14:00")
    # 18:30 UTC is 13:30 in New York (winter): still today there.
    assert calendar.handling_start(hours, datetime(2026, 12, 4, 18, 30, tzinfo=UTC)) == date(2026, 12, 4)
    assert calendar.handling_start(hours, datetime(2026, 12, 4, 19, 30, tzinfo=UTC)) == date(2026, 12, 5)


def test_handling_days_count_open_days_and_transit_counts_calendar_days() -> None:
    hours = calendar.hours_of(SHOP, "Europe/Paris", "14:00")
    now = paris(2026, 12, 4, 10, 0)  # Friday morning
    assert calendar.dispatch_day(hours, now, 0) == date(2026, 12, 4)
    assert calendar.dispatch_day(hours, now, 2) == date(2026, 12, 7)  # Sat, then Mon (Sunday closed)
    assert calendar.delivery_date(hours, now, 2, 1) == date(2026, 12, 8)


def test_a_location_that_never_opens_makes_no_promise() -> None:
    hours = calendar.hours_of({"mon": []}, "UTC", "14:00")
    assert calendar.handling_start(hours, datetime(2026, 12, 4, tzinfo=UTC)) is None
    assert calendar.ready_at(hours, datetime(2026, 12, 4, tzinfo=UTC), timedelta(minutes=30)) is None


def test_no_opening_hours_means_always_open() -> None:
    hours = calendar.hours_of(None, "UTC", "14:00")
    now = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # a Sunday night
    assert calendar.ready_at(hours, now, timedelta(hours=2)) == now + timedelta(hours=2)


def test_pickup_preparation_runs_in_opening_time_only() -> None:
    hours = calendar.hours_of(SHOP, "Europe/Paris", "14:00")
    assert calendar.ready_at(hours, paris(2026, 12, 4, 10, 0), timedelta(hours=2)) == paris(2026, 12, 4, 12, 0)
    # 11:00 + 2 h: one hour before lunch, one after.
    assert calendar.ready_at(hours, paris(2026, 12, 4, 11, 0), timedelta(hours=2)) == paris(2026, 12, 4, 15, 0)
    # After closing on Saturday: Monday morning.
    assert calendar.ready_at(hours, paris(2026, 12, 5, 18, 30), timedelta(hours=1)) == paris(2026, 12, 7, 9, 30)
    # Before opening: from the opening.
    assert calendar.ready_at(hours, paris(2026, 12, 4, 7, 0), timedelta(minutes=30)) == paris(2026, 12, 4, 9, 30)


def test_labels_speak_the_stores_time() -> None:
    zone = calendar.ZoneInfo("Europe/Paris")
    now = paris(2026, 12, 4, 10, 0)
    assert calendar.label(paris(2026, 12, 4, 17, 0), now, zone) == "today at 17:00"
    assert calendar.label(paris(2026, 12, 5, 10, 0), now, zone) == "tomorrow at 10:00"
    assert calendar.label(paris(2026, 12, 8, 9, 30), now, zone) == "Tue 8 Dec at 09:30"


def test_malformed_stored_values_do_not_break_a_quote() -> None:
    hours = calendar.hours_of({"mon": "nine to five"}, "Mars/Olympus", "14:00")
    assert hours.week is None and str(hours.zone) == "UTC"


def test_an_interval_closing_after_midnight_runs_into_the_next_day() -> None:
    hours = calendar.hours_of({"fri": [["18:00", "02:00"]]}, "UTC", "14:00")
    friday_night = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    assert calendar.ready_at(hours, friday_night, timedelta(hours=2)) == datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
    assert hours.is_open_day(date(2026, 12, 5)) and not hours.is_open_day(date(2026, 12, 6))
