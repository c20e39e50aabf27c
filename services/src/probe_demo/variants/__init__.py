"""The server behaviours of the seeds, one module each; `get(name)` picks one.

Ports and drain defaults live in probe_demo.config.VARIANT_DEFAULTS, because they are needed
before the app exists.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from probe_demo.config import VARIANT_DEFAULTS


def get(name: str) -> ModuleType:
    if name not in VARIANT_DEFAULTS:
        raise KeyError(name)
    return import_module(f"probe_demo.variants.{name}")
