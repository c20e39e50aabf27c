"""Seed 002's date layout, shared by the hello variant (what it answers) and the load client
(what it prints beside each answer). Standard library only: the client imports it."""

from __future__ import annotations

from datetime import datetime


def date_fields(now: datetime) -> dict[str, int]:
    return {
        "year": now.year, "month": now.month, "day": now.day, "hour": now.hour,
        "minute": now.minute, "second": now.second, "microsecond": now.microsecond,
    }
