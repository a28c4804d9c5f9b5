"""YAML text to Python objects, safely and with libyaml's parser where PyYAML was built with it
(about ten times the pure-Python parser's speed: the catalogue and configs every command reads)."""

from __future__ import annotations

from typing import IO, Any


def safe_load(text: str | IO[str]) -> Any:
    """``yaml.safe_load``, through ``CSafeLoader`` when available (same types, safe tags only)."""
    import yaml  # not at import time: `churn --help` needs no YAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
