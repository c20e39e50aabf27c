"""Seed 002: the current date and a tag (blue/green) that shows which deployment answered."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify

from probe_demo.app import services

blueprint = Blueprint("hello", __name__)


def date_fields(now: datetime) -> dict[str, int]:
    return {
        "year": now.year, "month": now.month, "day": now.day, "hour": now.hour,
        "minute": now.minute, "second": now.second, "microsecond": now.microsecond,
    }


@blueprint.get("/")
def hello():
    return jsonify(date=date_fields(datetime.now()), tag=services().settings.tag)
