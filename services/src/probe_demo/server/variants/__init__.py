"""The server behaviours of the seeds, one module each.

A variant module holds everything about its behaviour and nothing else needs to know it:
    PORT            the port its seed listens on
    DRAIN_SECONDS   how long it keeps serving after SIGTERM with readiness failing
    blueprint       its routes
    describe(settings) -> str   what it does, in a line (/ui's header)
    liveness(state, settings) -> str | None   optional: why the pod is not live, or None
    COUNTS_HEALTHCHECKS  optional: True if the state's healthchecks count against N (/ui)
Adding a variant is adding a module here (plus the chart's enum and the docs).
"""

from __future__ import annotations

import pkgutil
from functools import cache
from importlib import import_module
from types import ModuleType


@cache
def names() -> tuple[str, ...]:
    return tuple(sorted(info.name for info in pkgutil.iter_modules(__path__)))


def get(name: str) -> ModuleType:
    if name not in names():
        raise KeyError(name)
    return import_module(f"{__name__}.{name}")
