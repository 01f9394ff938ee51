"""When each step fires: the business-hours window and the delays, all in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def in_window(moment: datetime, start_hour: int, end_hour: int) -> bool:
    """Whether a UTC moment is inside [start, end); a start after the end wraps."""
    if start_hour == end_hour:
        return True
    hour = moment.hour + moment.minute / 60 + moment.second / 3600
    if start_hour < end_hour:
        return start_hour <= hour < end_hour
    return hour >= start_hour or hour < end_hour


def first_email_at(now: datetime, start_hour: int, end_hour: int) -> datetime:
    """Now if inside the window, else the next time the window opens."""
    now = now.astimezone(UTC).replace(microsecond=0)
    if in_window(now, start_hour, end_hour):
        return now
    opening = now.replace(hour=start_hour, minute=0, second=0)
    return opening if opening > now else opening + timedelta(days=1)


def after_days(now: datetime, days: int) -> datetime:
    """Now plus a number of whole days, to the second."""
    return now.astimezone(UTC).replace(microsecond=0) + timedelta(days=days)


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: ``2026-12-04T09:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
