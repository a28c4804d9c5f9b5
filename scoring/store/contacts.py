"""Retention contacts logged in the workspace: whom a manager contacted (or held back as a
control), how, and what happened, kept in the serving store's database (``ui_contacts``, described
in :mod:`scoring.store.schema`) with the columns of the data contract's ``contacts`` table, so
``churn export contacts`` writes a file the loader accepts as that table.

A form's fields are checked against the contract's column rules (allowed outcomes, ``treated``
0 or 1) and the workspace's own (a date not in the future, an outcome for a contact made); a
control row keeps no channel or outcome, whatever the form sent. Each problem names the field
and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from core.csv_out import to_csv_text
from features.contract import TABLES, Column, Table
from scoring.store.migrate import upgrade
from scoring.store.schema import CONTACT_TEXT
from scoring.store.schema import CONTACTS as TABLE

CONTACTS = "contacts"
MAX_TEXT = CONTACT_TEXT
CHANNEL_CHOICES = ("call", "email", "chat", "visit")
OFFER_CHOICES = ("none", "discount", "upgrade", "free month")


def contract_table() -> Table:
    """The data contract's ``contacts`` table."""
    return TABLES[CONTACTS]


@dataclass(frozen=True)
class ContactForm:
    """What the contact form sent, as typed (kept to show the form again when refused)."""

    ts: str = ""
    channel: str = "call"
    offer: str = ""
    treated: str = "1"
    outcome: str = ""
    campaign_id: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> ContactForm:
        names = cls.__dataclass_fields__
        return cls(**{k: str(v).strip() for k, v in fields.items() if k in names})


def _allowed(column: Column) -> tuple[str, ...]:
    return column.allowed or ()


def check_form(form: ContactForm, latest: date) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The row's values and the problems, each ``(field, why)``; no problem means the row
    can be stored. ``latest`` is the last date a contact may have."""
    spec = contract_table()
    problems: list[tuple[str, str]] = []
    when: datetime | None = None
    try:
        when = datetime.strptime(form.ts, "%Y-%m-%d")
    except ValueError:
        problems.append(("ts", f"{form.ts!r} is not a date YYYY-MM-DD"))
    if when is not None and when.date() > latest:
        problems.append(("ts", f"{form.ts} is in the future (after {latest:%Y-%m-%d})"))
    treated_col = spec.column("treated")
    if form.treated not in ("0", "1"):
        low, high = f"{treated_col.min:g}", f"{treated_col.max:g}"
        problems.append(("treated", f"{form.treated!r} is not {low} (control) or {high}"))
    outcomes = _allowed(spec.column("outcome"))
    if form.treated == "1" and form.outcome not in outcomes:
        shown = repr(form.outcome) if form.outcome else "empty"
        problems.append(("outcome", f"{shown} is not one of {', '.join(outcomes)}"))
    if form.treated == "1" and not form.channel:
        problems.append(("channel", "say how the customer was contacted"))
    for name in ("channel", "offer", "campaign_id"):
        value = getattr(form, name)
        if len(value) > MAX_TEXT:
            problems.append((name, f"longer than {MAX_TEXT} characters"))
        elif any(ch < " " for ch in value):
            problems.append((name, "holds control characters"))
    treated = form.treated == "1"
    row: dict[str, object] = {
        "ts": when,
        "campaign_id": form.campaign_id or None,
        "channel": (form.channel or None) if treated else None,
        "offer": form.offer or None,
        "treated": int(treated),
        "outcome": form.outcome if treated else None,
    }
    return row, problems


class ContactStore:
    """The logged contacts in the serving store's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._ready = False

    def ensure_table(self) -> None:
        """Bring the store's schema up to date, ``ui_contacts`` included (once per object;
        a store opened through ``PredictionStore`` is up to date already)."""
        if not self._ready:
            upgrade(self.engine)
            self._ready = True

    def add(
        self, row: Mapping[str, object], customer_id: str, manager: str | None, logged_by: str
    ) -> str:
        """Store one checked row (see :func:`check_form`); returns its new ``contact_id``."""
        self.ensure_table()
        contact_id = f"ws-{uuid.uuid4().hex[:16]}"
        values = {
            **row,
            "contact_id": contact_id,
            "customer_id": customer_id,
            "account_manager_id": manager,
            "logged_by": logged_by,
            "logged_at": datetime.now(UTC).replace(tzinfo=None),
        }
        with self.engine.begin() as conn:
            conn.execute(TABLE.insert().values(**values))
        return contact_id

    def frame(self, customer_id: str | None = None, manager: str | None = None) -> pd.DataFrame:
        """Logged contacts in the contract's columns (one customer's, one manager's book's or
        all), oldest first; ``ts`` as ``YYYY-MM-DD``."""
        self.ensure_table()
        names = list(contract_table().column_names)
        query = sa.select(*[TABLE.c[n] for n in names]).order_by(
            TABLE.c.ts, TABLE.c.logged_at, TABLE.c.contact_id
        )
        if customer_id is not None:
            query = query.where(TABLE.c.customer_id == customer_id)
        if manager is not None:
            query = query.where(TABLE.c.account_manager_id == manager)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame["ts"] = pd.to_datetime(frame["ts"]).dt.strftime("%Y-%m-%d")
        frame["treated"] = frame["treated"].astype("int64")
        return frame[names]

    def to_csv(self, manager: str | None = None) -> str:
        """The contacts as a CSV file of the contract's ``contacts`` table."""
        return to_csv_text(self.frame(manager=manager))
