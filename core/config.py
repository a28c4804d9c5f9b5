"""The configuration base every stage shares: frozen pydantic models and reading one YAML section.

One file can configure every stage; each stage validates its own section into its own model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from core.yamlfile import safe_load


class Frozen(BaseModel):
    """Base for every config model: immutable, unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def read_section(path: str | Path | None, section: str, error: type[Exception]) -> dict[str, Any]:
    """The ``section:`` mapping of a YAML config file ({} when no file or no section).

    One file can configure every stage; each stage reads its own section and ignores the others.
    Problems raise ``error`` naming the file and why.
    """
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise error(f"config file {p} does not exist")
    try:
        data = load_yaml(p)
    except (yaml.YAMLError, ValueError, OSError) as exc:  # YAML errors carry line numbers
        raise error(f"{p}: cannot be read as YAML: {exc}") from None
    found = data.get(section)
    if found is not None and not isinstance(found, dict):
        raise error(f"{p}: the '{section}:' section must be a mapping")
    return found or {}


def validation_message(exc: ValidationError, section: str) -> str:
    """Pydantic errors as ``section.key.sub: why`` items, one per problem."""
    return "; ".join(_problems(exc, section))


def _problems(exc: ValidationError, section: str) -> list[str]:
    return [
        f"{section}.{'.'.join(str(p) for p in err['loc'])}: "
        + err["msg"].removeprefix("Value error, ")
        for err in exc.errors()
    ]


M = TypeVar("M", bound=BaseModel)


def validate_section(
    data: dict[str, Any] | None,
    section: str,
    model: type[M],
    error: type[Exception],
    *,
    source: str = "configuration",
    title: str | None = None,
) -> M:
    """Validate a ``section:`` mapping into ``model`` (defaults when empty); problems raise
    ``error`` as ``source: invalid <title> configuration`` and one ``section.key: why`` line
    each."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        lines = "\n  ".join(_problems(exc, section))
        raise error(f"{source}: invalid {title or section} configuration\n  {lines}") from None


def load_section(
    path: str | Path | None,
    section: str,
    model: type[M],
    error: type[Exception],
    *,
    title: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> M:
    """The one way to read configuration: a config file's ``section:`` validated into ``model``
    (defaults when there is no file or no section; other sections are ignored). ``overrides``
    (command-line options, say) replace the file's keys, merged into nested mappings."""
    data = _merged(read_section(path, section, error), overrides or {})
    source = str(path) if path is not None else "configuration"
    return validate_section(data, section, model, error, source=source, title=title)


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        below = out.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            value = _merged(below, value)
        out[key] = value
    return out


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; an empty file is an empty mapping."""
    data = safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data
