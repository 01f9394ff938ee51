from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.windows import after_days, first_email_at, in_window, iso_z


def at(hour: int, minute: int = 0, day: int = 4) -> datetime:
    return datetime(2026, 12, day, hour, minute, 30, 123456, tzinfo=UTC)


WINDOW_CASES = [
    pytest.param(at(10), 9, 17, at(10).replace(microsecond=0), id="inside"),
    pytest.param(at(9, 0), 9, 17, at(9, 0).replace(microsecond=0), id="at-start"),
    pytest.param(at(7), 9, 17, datetime(2026, 12, 4, 9, tzinfo=UTC), id="before"),
    pytest.param(at(17, 0), 9, 17, datetime(2026, 12, 5, 9, tzinfo=UTC), id="at-end"),
    pytest.param(at(23), 9, 17, datetime(2026, 12, 5, 9, tzinfo=UTC), id="after"),
    pytest.param(at(23), 22, 6, at(23).replace(microsecond=0), id="wrap-inside-late"),
    pytest.param(at(3), 22, 6, at(3).replace(microsecond=0), id="wrap-inside-early"),
    pytest.param(at(12), 22, 6, datetime(2026, 12, 4, 22, tzinfo=UTC), id="wrap-out"),
    pytest.param(at(12), 0, 0, at(12).replace(microsecond=0), id="equal-always-open"),
    pytest.param(at(23, 59), 9, 24, at(23, 59).replace(microsecond=0), id="end-24"),
]


@pytest.mark.parametrize(("now", "start", "end", "expected"), WINDOW_CASES)
def test_first_email_waits_for_the_window(
    now: datetime, start: int, end: int, expected: datetime
) -> None:
    assert first_email_at(now, start, end) == expected


def test_window_is_half_open() -> None:
    assert in_window(at(16, 59), 9, 17)
    assert not in_window(datetime(2026, 12, 4, 17, tzinfo=UTC), 9, 17)


def test_delays_are_whole_days_to_the_second() -> None:
    assert after_days(at(10), 2) == datetime(2026, 12, 6, 10, 0, 30, tzinfo=UTC)


def test_run_at_is_iso_utc_with_z() -> None:
    assert iso_z(at(10)) == "2026-12-04T10:00:30Z"
