"""Timezones as typed (issue 15): offsets, cities and IANA names resolve to IANA names, and a
fixed offset keeps its local time across the DST changes of zones that have them, on both the
scalar and the columnar path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.distribution.quiet import QuietTimes
from core.distribution.timezone_names import resolve_timezone, timezone_label
from core.distribution.timezones import TzTable, in_active_hours, utc_offset_minutes


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("UTC+3", "Etc/GMT-3"),  # IANA's Etc signs are inverted
        ("GMT+3", "Etc/GMT-3"),
        ("utc-05:00", "Etc/GMT+5"),
        ("+14", "Etc/GMT-14"),
        ("UTC+0", "UTC"),
        ("utc", "UTC"),
        ("moscow", "Europe/Moscow"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("europe/berlin", "Europe/Berlin"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("UTC+15", None),
        ("UTC+3:75", None),
        ("Mars/Olympus", None),
        ("dogecoin please", None),
        ("", None),
        ("x" * 300, None),
    ],
)
def test_typed_timezones_resolve_to_iana_names(typed: str, expected: str | None) -> None:
    assert resolve_timezone(typed) == expected


@pytest.mark.parametrize("typed", ["UTC+5:30", "UTC+5:45", "UTC+9:30"])
def test_a_fractional_offset_becomes_a_zone_fixed_at_that_offset_all_year(typed: str) -> None:
    name = resolve_timezone(typed)
    assert name is not None
    sign, rest = typed[3], typed[4:]
    h, m = (int(x) for x in rest.split(":"))
    want = (1 if sign == "+" else -1) * (60 * h + m)
    for month in range(1, 13):
        t = datetime(2026, month, 1, tzinfo=UTC).timestamp()
        assert utc_offset_minutes(name, t) == want


def test_labels_show_fixed_zones_as_utc_offsets() -> None:
    assert timezone_label("Etc/GMT-3") == "UTC+3"
    assert timezone_label("Etc/GMT+5") == "UTC-5"
    assert timezone_label("Europe/Moscow") == "Europe/Moscow"


def test_a_fixed_offset_keeps_its_active_hours_across_dst() -> None:
    """UTC+3 typed by a user: 09-18 local is 06-15 UTC in winter and in summer alike, while
    Europe/Berlin's window moves by an hour; both paths (scalar, columnar) agree."""
    fixed = resolve_timezone("UTC+3")
    assert fixed is not None
    table = TzTable()
    code = table.code(fixed)
    for month in (1, 7):  # Berlin: UTC+1 in January, UTC+2 in July
        for utc_hour in range(24):
            t = datetime(2026, month, 15, utc_hour, 30, tzinfo=UTC).timestamp()
            assert in_active_hours((9, 18), fixed, t) == (6 <= utc_hour < 15)
            assert int(table.offsets(t)[code]) == 180
            berlin_start = 8 if month == 1 else 7
            assert in_active_hours((9, 18), "Europe/Berlin", t) == (
                berlin_start <= utc_hour < berlin_start + 9
            )
    # The push's quiet-hours check reads the same stored name.
    quiet = QuietTimes(None, False, (9, 18), fixed)
    t = datetime(2026, 3, 29, 5, 0, tzinfo=UTC).timestamp()  # Europe's DST morning, 08:00 +3
    assert quiet.reason(t, high=False) == "active_hours"
    assert quiet.opens_at(t, pierce=False) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC).timestamp()
