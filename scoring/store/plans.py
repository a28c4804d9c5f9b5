"""Improvement plans in the serving store (``improvement_plans``, described in
:mod:`scoring.store.schema`): the plan each manager at the bottom of a month's ranking owes
(document 000: 提交整改方案 within a week), and what a lead recorded as submitted.

Plans are issued once per manager and month (issuing again changes nothing: the first due date
stands); a plan is ``open`` until submitted, ``overdue`` once its due date has passed without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from core.errors import ChurnError
from scoring.store.migrate import upgrade
from scoring.store.schema import PLANS as TABLE
from scoring.store.schema import PREDICTIONS

MAX_PLAN_TEXT = 5000
"""The longest plan text a lead may record."""
STATUSES = ("open", "overdue", "submitted")
COLUMNS = (
    "account_manager_id", "period", "issued_on", "due_on", "score", "rank", "status",
    "submitted_at", "submitted_by", "text",
)  # fmt: skip


class PlanError(ChurnError):
    """A plan that cannot be recorded: unknown manager, no plan for the period, bad text."""


@dataclass(frozen=True)
class Owed:
    """A plan owed by ``manager`` for the month ``period`` (``YYYY-MM``)."""

    manager: str
    period: str
    score: float | None = None
    rank: int | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def check_text(text: str) -> str:
    """The plan's text, stripped; PlanError when empty, too long or holding control characters."""
    text = (text or "").strip()
    if not text:
        raise PlanError("the plan's text is empty; say what the plan is (--text ...)")
    if len(text) > MAX_PLAN_TEXT:
        raise PlanError(f"the plan's text is longer than {MAX_PLAN_TEXT} characters")
    if any(ch < " " and ch not in "\n\r\t" for ch in text):
        raise PlanError("the plan's text holds control characters")
    return text


def status(frame: pd.DataFrame, today: date) -> pd.Series:
    """``submitted``, ``overdue`` (past ``due_on``, nothing submitted) or ``open``."""
    done = frame["submitted_at"].notna()
    late = frame["due_on"].astype("str") < f"{today:%Y-%m-%d}"
    return pd.Series(
        [
            "submitted" if d else ("overdue" if x else "open")
            for d, x in zip(done, late, strict=True)
        ],
        index=frame.index,
        dtype="str",
    )


class PlanStore:
    """The improvement plans of one serving store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._ready = False

    def ensure_table(self) -> None:
        """Bring the store's schema up to date (once per object)."""
        if not self._ready:
            upgrade(self.engine)
            self._ready = True

    def issue(self, owed: Iterable[Owed], issued_on: date, due_days: int) -> int:
        """Record the plans not yet recorded, due ``due_days`` after ``issued_on``; returns
        how many are new (a plan already issued keeps its dates)."""
        self.ensure_table()
        owed = list(owed)
        if not owed:
            return 0
        due = issued_on + timedelta(days=due_days)
        new = 0
        with self.engine.begin() as conn:
            have = {
                (m, p)
                for m, p in conn.execute(
                    sa.select(TABLE.c.account_manager_id, TABLE.c.period).where(
                        TABLE.c.period.in_({o.period for o in owed})
                    )
                )
            }
            for o in owed:
                if (o.manager, o.period) in have:
                    continue
                conn.execute(
                    TABLE.insert().values(
                        account_manager_id=o.manager,
                        period=o.period,
                        issued_on=f"{issued_on:%Y-%m-%d}",
                        due_on=f"{due:%Y-%m-%d}",
                        score=o.score,
                        rank=o.rank,
                        created_at=_now(),
                    )
                )
                have.add((o.manager, o.period))
                new += 1
        return new

    def frame(
        self, today: date, manager: str | None = None, period: str | None = None
    ) -> pd.DataFrame:
        """The plans (one manager's, one period's or all), latest period first, with status."""
        self.ensure_table()
        query = sa.select(TABLE).order_by(TABLE.c.period.desc(), TABLE.c.account_manager_id)
        if manager is not None:
            query = query.where(TABLE.c.account_manager_id == manager)
        if period is not None:
            query = query.where(TABLE.c.period == period)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame = frame.astype({"account_manager_id": "str", "period": "str"})
        frame["status"] = status(frame, today) if len(frame) else pd.Series(dtype="str")
        return frame[list(COLUMNS)]

    def _known_managers(self, conn: sa.Connection) -> set[str]:
        scored: list[object] = list(
            conn.execute(sa.select(PREDICTIONS.c.account_manager_id).distinct()).scalars()
        )
        planned: list[object] = list(
            conn.execute(sa.select(TABLE.c.account_manager_id).distinct()).scalars()
        )
        return {str(m) for m in [*scored, *planned] if m is not None}

    def submit(
        self, manager: str, period: str, text: str, by: str, at: datetime | None = None
    ) -> Mapping[str, object]:
        """Record the plan ``manager`` handed in for ``period``; PlanError names what is wrong
        (an unknown manager, a period without a plan, an empty or oversized text). Submitting
        again replaces the text (a corrected plan)."""
        self.ensure_table()
        body = check_text(text)
        with self.engine.begin() as conn:
            found: list[str] = list(
                conn.execute(
                    sa.select(TABLE.c.period).where(TABLE.c.account_manager_id == manager)
                ).scalars()
            )
            periods = sorted(found, reverse=True)
            if not periods and manager not in self._known_managers(conn):
                raise PlanError(f"unknown account manager {manager!r}")
            if period not in periods:
                owed = f"their plans: {', '.join(periods)}" if periods else "they owe no plan"
                raise PlanError(
                    f"account manager {manager!r} has no improvement plan for {period} ({owed})"
                )
            values = {"submitted_at": at or _now(), "submitted_by": by, "text": body}
            conn.execute(
                TABLE.update()
                .where(TABLE.c.account_manager_id == manager, TABLE.c.period == period)
                .values(**values)
            )
        return {"account_manager_id": manager, "period": period, **values}
