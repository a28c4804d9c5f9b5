"""Mapping specs: the YAML that says how an export (files or database queries) maps onto the
data contract (:class:`ContractMapping`) or a snapshot (:class:`SnapshotMapping`), validated once.
Every key is documented in ``docs/mapping.md``; :mod:`features.adapters.mapping` applies them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from core.config import Frozen, validation_message
from core.yamlfile import safe_load
from features.adapters.hooks import FIXES, RULES, Rules
from features.adapters.snapshot import (
    AdapterError,
)
from features.contract import TABLES

SPECS = Path(__file__).parent / "specs"
DERIVED = "first_transaction"


def _no_yaml_booleans(value: Any) -> Any:
    if isinstance(value, bool) or (
        isinstance(value, list | tuple) and any(isinstance(v, bool) for v in value)
    ):
        raise ValueError(
            "YAML reads an unquoted yes/no/true/false as a boolean: quote the value, e.g. 'Yes'"
        )
    return value


class SourceSpec(Frozen):
    """Where one table comes from: a file (``file:``) or a database query (``url:`` + ``query:``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    file: str | None = None
    """Path relative to the spec's folder (or to the folder given on the command line)."""
    url: str | None = None
    """SQLAlchemy URL; ``${VAR}`` is read from the environment (keep passwords out of specs)."""
    query: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: int | str | None = None
    header: bool = True
    names: tuple[str, ...] | None = None
    """Column names of a header-less text file (``header: false``)."""

    @model_validator(mode="after")
    def _one_source(self) -> SourceSpec:
        if self.file is not None and self.url is not None:
            raise ValueError("give file: or url:, not both")
        if (self.url is None) != (self.query is None):
            raise ValueError("url: and query: go together")
        if self.names is not None and self.header:
            raise ValueError("names: is for header-less files: add header: false")
        return self

    @property
    def is_query(self) -> bool:
        return self.url is not None


class TableMapping(SourceSpec):
    """One contract table: its source and how its columns map onto the contract's."""

    columns: dict[str, str] = {}
    """Contract column -> source column. Source columns already named like a contract column
    (case, spaces and ``CamelCase`` aside) map themselves."""
    date_formats: dict[str, str] = {}
    """Contract date column -> ``strftime`` format such as ``%d/%m/%Y``; default ISO 8601."""
    constants: dict[str, str] = {}
    """Column -> a value every row gets (e.g. ``kind: purchase``)."""
    keep: tuple[str, ...] = ()
    """Source columns kept beside the contract's (as text, under their source names)."""
    derive: Literal["first_transaction"] | None = None
    """customers only: one row per customer of the transactions, signed up at their first one."""

    @field_validator("constants", mode="before")
    @classmethod
    def _constant_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _no_yaml_booleans(v) for k, v in value.items()}
        return value


class ContractMapping(Frozen):
    """``kind: contract``: an export mapped onto the contract tables."""

    kind: Literal["contract"] = "contract"
    name: str
    title: str | None = None
    folder: str | None = None
    """Folder name of the data set under a data root (``churn bench``)."""
    out: str | None = None
    """Default output folder of ``churn import --spec`` (relative to the spec)."""
    as_of: date | None = None
    """Last day the data covers; default: the last event in the data."""
    tables: dict[str, TableMapping]

    @model_validator(mode="after")
    def _tables(self) -> ContractMapping:
        unknown = [t for t in self.tables if t not in TABLES]
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; the contract's: {list(TABLES)}")
        for name in ("customers", "transactions"):
            if name not in self.tables:
                raise ValueError(f"the contract requires the table {name!r}")
        for name, tm in self.tables.items():
            table = TABLES[name]
            bad = [c for c in (*tm.columns, *tm.date_formats) if c not in table.column_names]
            if bad:
                raise ValueError(
                    f"{name}: {bad} not column(s) of the table; its columns: "
                    f"{list(table.column_names)}"
                )
            not_dates = [c for c in tm.date_formats if table.column(c).kind != "date"]
            if not_dates:
                raise ValueError(f"{name}: date_formats for non-date column(s) {not_dates}")
            both = set(tm.columns) & set(tm.constants)
            if both:
                raise ValueError(f"{name}: {sorted(both)} both mapped and constant")
            if tm.derive is not None and name != "customers":
                raise ValueError(f"{name}: derive: is for the customers table only")
            if tm.derive is not None and (tm.file or tm.url or tm.columns):
                raise ValueError(f"{name}: a derived table has no file:, url: or columns:")
        return self


class SnapshotMapping(SourceSpec):
    """``kind: snapshot``: one row per customer with a churn flag (see :class:`SnapshotSpec`)."""

    kind: Literal["snapshot"]
    name: str
    title: str | None = None
    folder: str | None = None
    out: str | None = None
    id: str | None = None
    """Customer id column; without one ids are ``row-<line>``."""
    label: str
    positive: tuple[str, ...] = Field(min_length=1)
    """Label values meaning churned."""
    negative: tuple[str, ...] = ()
    """Label values meaning stayed; default every other non-empty value."""
    numeric: tuple[str, ...] | None = None
    """Numeric feature columns; with numeric: and categorical: both absent, every other column
    is a feature, numeric when all its values are numbers."""
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    """Columns never used as features (when they are inferred)."""
    value: str | None = None
    """Numeric column of the customer's value (also a feature)."""
    merge_levels: dict[str, dict[str, str]] = {}
    fix: str | None = None
    """Name of a repair hook in :mod:`features.adapters.hooks` (``FIXES``)."""
    rules: str | None = None
    """Name of the data set's rules in :mod:`features.adapters.hooks` (``RULES``)."""

    @field_validator("positive", "negative", mode="before")
    @classmethod
    def _label_text(cls, value: Any) -> Any:
        return _no_yaml_booleans(value)

    @model_validator(mode="after")
    def _hooks(self) -> SnapshotMapping:
        if self.fix is not None and self.fix not in FIXES:
            raise ValueError(f"fix: unknown hook {self.fix!r}; known: {sorted(FIXES)}")
        if self.rules is not None and self.rules not in RULES:
            raise ValueError(f"rules: unknown hook {self.rules!r}; known: {sorted(RULES)}")
        return self


MappingSpec = Annotated[ContractMapping | SnapshotMapping, Field(discriminator="kind")]


class _Spec(Frozen):
    spec: MappingSpec


def parse_spec(data: dict[str, Any], where: str) -> ContractMapping | SnapshotMapping:
    """Validate a spec mapping; AdapterError naming ``where`` and every bad key otherwise."""
    data = {"kind": "contract", **data}
    try:
        return _Spec.model_validate({"spec": data}).spec
    except ValidationError as exc:
        raise AdapterError(
            f"{where}: invalid mapping spec: "
            + validation_message(exc, "spec")
            .replace("spec.contract.", "")
            .replace("spec.snapshot.", "")
        ) from None


def load_spec(path: str | Path) -> ContractMapping | SnapshotMapping:
    """Read and validate a mapping spec (YAML)."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(f"{p}: no such mapping spec")
    try:
        data = safe_load(p.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{p.name}: cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise AdapterError(f"{p.name}: a mapping spec is a YAML mapping (key: value)")
    return parse_spec(data, p.name)


def shipped_spec(name: str) -> ContractMapping | SnapshotMapping:
    """The spec of a named adapter, shipped in ``features/adapters/specs/``."""
    return load_spec(SPECS / f"{name}.yaml")


def spec_rules(spec: ContractMapping | SnapshotMapping) -> Rules | None:
    """The spec's ``rules:`` hook, if it names one."""
    return RULES[spec.rules] if isinstance(spec, SnapshotMapping) and spec.rules else None


def spec_file(spec: ContractMapping | SnapshotMapping) -> str:
    """The file a spec reads (its first, for a contract spec); empty when it reads none."""
    if isinstance(spec, SnapshotMapping):
        return spec.file or ""
    return next((t.file for t in spec.tables.values() if t.file), "")


# --- reading the sources -----------------------------------------------------------------------
