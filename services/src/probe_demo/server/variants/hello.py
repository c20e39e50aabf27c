"""Seed 002: the current date and a tag (blue/green) that shows which deployment answered."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify

from probe_demo.date_fields import date_fields
from probe_demo.server.config import Settings
from probe_demo.server.context import services

PORT = 5000
DRAIN_SECONDS = 0.0

blueprint = Blueprint("hello", __name__)


def describe(settings: Settings) -> str:
    return f"/ answers the date with tag {settings.tag!r}"


@blueprint.get("/")
def hello():
    return jsonify(date=date_fields(datetime.now()), tag=services().settings.tag)
