"""The customer page, ``/ui/customers/{id}``: profile, lifecycle, score history, reasons with a
SHAP waterfall, a timeline of recent purchases, contacts and complaints, contract end; the
retention contacts logged on it (``POST /ui/customers/{id}/contacts``: validated, CSRF-protected,
audited) and their export, ``/ui/contacts.csv``.

The timeline comes from the data folder the scoring read; the waterfall of the churn score's SHAP
contributions is an inline SVG drawn here, so the page needs no script and no plotting library.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
from starlette.responses import RedirectResponse, Response

from core.bundle import BIAS_COLUMN
from core.errors import ChurnError
from core.lang import Lang, catalogue, show_date
from core.money import format_money
from features.catalog import sentence
from features.dataset import Dataset
from features.shown import category
from kpi.inputs import DatasetCache
from scoring.contacted import CONTACT_DETAILS, days_since_contact, last_contacts
from scoring.lists import present
from scoring.reasons import Reason
from scoring.store.contacts import (
    CHANNEL_CHOICES,
    OFFER_CHOICES,
    ContactForm,
    ContactStore,
    check_form,
    contract_table,
)
from scoring.store.users import tokens_match
from scoring.store.workspace import customer_history, features_row, scoring_dates
from serving.state import ServiceState
from serving.ui.context import (
    MAX_FILTER,
    PREFIX,
    Context,
    PageError,
    csv_response,
    plain,
    same_origin,
)

t = catalogue("workspace").t

log = logging.getLogger(__name__)

EVENT_TABLES = {"transactions": "ts", "interactions": "ts", "complaints": "opened_at"}
TIMELINE_EVENTS = 25
WATERFALL_BARS = 10


@dataclass(frozen=True)
class Event:
    date: str
    kind: str
    detail: str


class Timelines:
    """Per data folder, the customers' rows of each event table, indexed once per loaded data
    set so a customer page reads only that customer's rows."""

    def __init__(self) -> None:
        self._load = DatasetCache(size=1)
        self._lock = threading.Lock()
        self._index: tuple[int, dict[str, dict[str, np.ndarray]]] | None = None

    def data(self, folder: Path) -> tuple[Dataset, dict[str, dict[str, np.ndarray]]]:
        ds = self._load(folder)
        with self._lock:
            if self._index is not None and self._index[0] == id(ds):
                return ds, self._index[1]
        index = {
            name: frame.groupby("customer_id", sort=False, observed=True).indices
            for name in (*EVENT_TABLES, "customers")
            if (frame := ds.table(name)) is not None and "customer_id" in frame.columns
        }
        with self._lock:
            self._index = (id(ds), index)
        return ds, index

    def customer(
        self, folder: Path, customer_id: str
    ) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
        """The customer's row of the ``customers`` table (as a dict) and their event rows."""
        ds, index = self.data(folder)
        profile: dict[str, object] = {}
        customers = ds.table("customers")
        rows = index.get("customers", {}).get(customer_id)
        if customers is not None and rows is not None and len(rows):
            profile = customers.iloc[int(rows[0])].to_dict()
        parts = {}
        for name in EVENT_TABLES:
            frame = ds.table(name)
            found = index.get(name, {}).get(customer_id)
            if frame is not None and found is not None:
                parts[name] = frame.iloc[found]
        return profile, parts


def _day(value: object, lang: Lang = "en") -> str:
    if value is None or pd.isna(value):
        return ""
    return show_date(pd.Timestamp(value).date(), lang)


def events(
    parts: dict[str, pd.DataFrame], asof: str, lang: Lang, currency: str | None = None
) -> list[Event]:
    """The latest events before the scoring date, newest first (what the model could see)."""
    cutoff = pd.Timestamp(asof)
    out: list[tuple[pd.Timestamp, Event]] = []
    tx = parts.get("transactions")
    if tx is not None and len(tx):
        tx = tx[tx["ts"] < cutoff].nlargest(TIMELINE_EVENTS, "ts")
        for row in tx.to_dict("records"):
            amount = float(row.get("amount") or 0.0)
            kind = "refund" if amount < 0 or row.get("kind") == "refund" else "purchase"
            bits = (
                [category("transaction_kind", row["kind"], lang)] if _text(row.get("kind")) else []
            )
            bits += [str(row["category"])] if _text(row.get("category")) else []
            what = " · ".join(bits)
            day = _day(row["ts"], lang)
            out.append(
                (
                    row["ts"],
                    Event(day, t(kind, lang), f"{format_money(amount, currency, 2)} {what}"),
                )
            )
    ia = parts.get("interactions")
    if ia is not None and len(ia):
        ia = ia[ia["ts"] < cutoff].nlargest(TIMELINE_EVENTS, "ts")
        for row in ia.to_dict("records"):
            what = " · ".join(
                category(name, row[c], lang)
                for c, name in (
                    ("channel", "channel"),
                    ("direction", "direction"),
                    ("outcome", "interaction_outcome"),
                )
                if _text(row.get(c))
            )
            out.append((row["ts"], Event(_day(row["ts"], lang), t("interaction", lang), what)))
    cp = parts.get("complaints")
    if cp is not None and len(cp):
        cp = cp[cp["opened_at"] < cutoff].nlargest(TIMELINE_EVENTS, "opened_at")
        for row in cp.to_dict("records"):
            resolved = row.get("resolved_at")
            state = (
                t("resolved", lang, date=_day(resolved, lang))
                if resolved is not None and not pd.isna(resolved) and resolved < cutoff
                else t("open_complaint", lang)
            )
            bits = [str(row["category"])] if _text(row.get("category")) else []
            if row.get("severity") is not None and not pd.isna(row["severity"]):
                bits.append(t("severity", lang, n=int(row["severity"])))
            detail = " · ".join([*bits, state])
            out.append(
                (
                    row["opened_at"],
                    Event(_day(row["opened_at"], lang), t("complaint", lang), detail),
                )
            )
    out.sort(key=lambda e: e[0], reverse=True)
    return [e for _, e in out[:TIMELINE_EVENTS]]


def _text(value: object) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and bool(str(value))
    )


@dataclass(frozen=True)
class Bar:
    label: str
    start: float
    end: float
    raises: bool
    x: float
    width: float
    y: float
    value_text: str


@dataclass(frozen=True)
class Waterfall:
    """Geometry of the SVG: one bar per feature from the base value to the score."""

    bars: list[Bar]
    width: int
    height: int
    axis_x: float
    base_x: float
    score_x: float
    base: float
    score: float
    label_width: int
    row_height: int


def waterfall(
    contributions: pd.Series, base: float, label: Callable[[str], str], lang: Lang
) -> Waterfall:
    """The top contributions by size, the rest summed in one bar, as SVG coordinates."""
    order = contributions.abs().sort_values(ascending=False, kind="stable").index
    top = list(order[:WATERFALL_BARS])
    steps: list[tuple[str, float]] = [(label(f), float(contributions[f])) for f in top]
    rest = float(contributions.drop(index=top).sum()) if len(order) > len(top) else 0.0
    if len(order) > len(top):
        steps.append((t("other_features", lang, n=len(order) - len(top)), rest))
    ends = base + np.cumsum([c for _, c in steps])
    starts = np.concatenate([[base], ends[:-1]])
    score = float(ends[-1]) if len(ends) else base
    lo = float(min(base, score, *starts, *ends))
    hi = float(max(base, score, *starts, *ends))
    span = (hi - lo) or 1.0
    label_width, plot_width, row_height = 300, 360, 26
    width = label_width + plot_width + 70

    def x(v: float) -> float:
        return label_width + (v - lo) / span * plot_width

    bars = [
        Bar(
            label=label,
            start=float(s),
            end=float(e),
            raises=c >= 0,
            x=min(x(s), x(e)),
            width=max(abs(x(e) - x(s)), 1.5),
            y=30 + i * row_height,
            value_text=f"{c:+.3f}",
        )
        for i, ((label, c), s, e) in enumerate(zip(steps, starts, ends, strict=True))
    ]
    height = 30 + len(bars) * row_height + 40
    return Waterfall(
        bars, width, height, label_width, x(base), x(score), base, score, label_width, row_height
    )


def feature_label(name: str, value: object, lang: Lang) -> str:
    """A waterfall row's label: the feature catalogue's sentence for the value (numbers formatted
    as the catalogue formats them), else the feature and its value written out in full."""
    plain = _plain(value)
    try:
        return sentence(name, plain, lang)
    except ChurnError:  # a feature the registry does not describe
        pass
    if plain is None:
        shown = "—"
    elif isinstance(plain, float):
        shown = f"{plain:,.0f}" if plain.is_integer() or abs(plain) >= 100 else f"{plain:,.2f}"
    else:
        shown = category(name, plain, lang)
    return f"{name} = {shown}"


def top_reasons(contributions: pd.Series, values: pd.Series, k: int, lang: Lang) -> list[Reason]:
    """The ``k`` largest contributions by size (either direction) with their sentences: what
    ``POST /explain`` lists, from contributions already computed for the waterfall. A sentence
    already listed is not repeated (features that read alike merge into the first)."""
    order = contributions.abs().sort_values(ascending=False, kind="stable").index
    out: list[Reason] = []
    for name in order:
        if len(out) == k:
            break
        value = _plain(values[name])
        try:
            text = sentence(name, value, lang)
        except ChurnError:  # a feature the registry does not describe
            text = f"{name} = {value}"
        if all(r.sentence != text for r in out):
            out.append(Reason(name, value, float(contributions[name]), text))
    return out


def split_reasons(
    contributions: pd.Series, values: pd.Series, k: int, lang: Lang
) -> tuple[list[Reason], list[Reason]]:
    """Up to ``k`` reasons that raise the risk (largest first) and up to ``k`` that lower it:
    the customer page's "why at risk" and "what keeps them"."""
    raising = contributions[contributions > 0]
    lowering = contributions[contributions < 0]
    return top_reasons(raising, values, k, lang), top_reasons(lowering, values, k, lang)


def _plain(value: object) -> float | str | None:
    if value is None or isinstance(value, str):
        return value
    try:
        x = float(value)  # type: ignore[arg-type]  # numbers and numpy scalars
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(x) else x


def _today() -> date:
    """Today's date (UTC)."""
    return datetime.now(UTC).date()


def contact_day(asof: str, horizon_days: int) -> str:
    """The contact form's default date, ISO: today while the scoring is current (today within
    its horizon), else the scoring date (a past book, as in the demo); never a future day."""
    today = _today()
    scored = date.fromisoformat(str(asof)[:10])
    current = scored <= today <= scored + timedelta(days=horizon_days)
    return f"{today if current or scored > today else scored:%Y-%m-%d}"


class CustomerPage:
    """The customer page and the contacts logged on it; keeps the data folder's timelines and
    the contact store of each service store."""

    def __init__(self) -> None:
        self.timelines = Timelines()
        self._lock = threading.Lock()
        self._contacts: dict[int, ContactStore] = {}

    def contacts(self, svc: ServiceState) -> ContactStore:
        """The retention contacts of the service's store."""
        with self._lock:
            found = self._contacts.get(id(svc.store))
            if found is None:
                found = self._contacts[id(svc.store)] = ContactStore(svc.store.engine)
            return found

    def customer(
        self,
        ctx: Context,
        contact: ContactForm | None = None,
        problems: list[tuple[str, str]] | None = None,
        status: int = 200,
    ) -> Response:
        """The page of one customer the principal may see (404 for any other)."""
        svc, lang = ctx.svc, ctx.lang
        customer_id = ctx.request.path_params["customer_id"]
        unknown = PageError(404, "not_found", t("unknown_customer", lang, id=customer_id))
        if len(customer_id) > MAX_FILTER:
            raise unknown
        dates = scoring_dates(svc.store)
        if not dates:
            raise PageError(404, "not_found", t("nothing_scored", lang))
        asked = ctx.request.query_params.get("asof")
        if asked is not None and asked not in dates:
            raise PageError(404, "not_found", f"asof: nothing was scored as of {asked!r}")
        history = customer_history(svc.store, customer_id, dates)
        if history.empty:
            raise unknown
        at = history[history["asof"] == asked] if asked else history.tail(1)
        if at.empty:
            raise unknown
        row = at.iloc[0].to_dict()
        if not ctx.principal.may_see(row["account_manager_id"]):
            ctx.refuse("customer", customer_id)
            raise unknown
        run = svc.store.run(row["asof"])
        current = present(
            at.assign(rank=1).drop(columns="asof").assign(asof=row["asof"]),
            run.horizon_days,
            svc.config.lists.reasons,
            lang,
        ).iloc[0]
        h = f"_{run.horizon_days}d"
        explanation = self.explain(ctx, customer_id, row["asof"])
        stored_reasons = [
            current[f"reason_{i}"]
            for i in range(1, svc.config.lists.reasons + 1)
            if current.get(f"reason_{i}")
        ]
        profile, timeline, data_note = self.timeline(
            customer_id, run.source, row["asof"], lang, ctx.currency
        )
        logged = self.contacts(svc).frame(customer_id=customer_id)
        saved = ctx.request.query_params.get("logged")
        last = last_contacts(self.data_contacts(run.source, customer_id), logged)
        contacted = days_since_contact(pd.Series([customer_id]), last, row["asof"])[0]
        return ctx.render(
            "customer.html",
            status=status,
            contact=contact or ContactForm(ts=contact_day(row["asof"], run.horizon_days)),
            problems=problems or [],
            saved=saved if status == 200 and saved in set(logged["contact_id"]) else None,
            logged=[plain(r) for r in logged.iloc[::-1].to_dict("records")],
            channels=CHANNEL_CHOICES,
            offers=OFFER_CHOICES,
            outcomes=contract_table().column("outcome").allowed or (),
            contact_url=f"{PREFIX}/customers/{quote(customer_id, safe='')}/contacts",
            customer_id=customer_id,
            row=row,
            current=current,
            probability=current[f"churn_probability{h}"],
            value=current[f"value_if_retained{h}"],
            value_at_risk=current[f"expected_value_at_risk{h}"],
            horizon=run.horizon_days,
            history=history.to_dict("records"),
            explanation=explanation,
            stored_reasons=stored_reasons,
            profile=profile,
            details=[(c, profile[c]) for c in CONTACT_DETAILS if isinstance(profile.get(c), str)],
            contacted=None if np.isnan(contacted) else int(contacted),
            timeline=timeline,
            data_note=data_note,
            dates=dates,
            list_url=f"{PREFIX}/win-back" if row["lifecycle_status"] == "lapsed" else f"{PREFIX}/",
            lang_url=lambda code: f"{PREFIX}/customers/{customer_id}?{urlencode({'lang': code})}",
        )

    def explain(self, ctx: Context, customer_id: str, asof: str) -> dict[str, Any]:
        """The champion's reasons and waterfall for the stored features (a note instead when
        no champion is loaded or the features lack what it needs)."""
        champions = ctx.svc.models.current
        if champions is None:
            return {"note": t("no_model", ctx.lang)}
        frame = features_row(ctx.svc.store, customer_id, asof)
        if frame.empty or any(f not in frame.columns for f in champions.feature_names):
            return {"note": t("no_features", ctx.lang)}
        contrib = champions.churn.contributions(frame).iloc[0]
        base = float(contrib[BIAS_COLUMN])
        features = contrib.drop(index=BIAS_COLUMN)
        values = frame.iloc[0]
        raising, keeping = split_reasons(features, values, ctx.svc.config.top_k, ctx.lang)
        return {
            "reasons": raising,
            "keeps": keeping,
            "waterfall": waterfall(
                features, base, lambda f: feature_label(f, values[f], ctx.lang), ctx.lang
            ),
            "version": champions.churn_version,
        }

    def data_contacts(self, source: str, customer_id: str) -> pd.DataFrame | None:
        """The customer's rows of the data folder's contacts table (None: no table or folder)."""
        folder = Path(source) if source else None
        if folder is None or not folder.is_dir():
            return None
        try:
            contacts = self.timelines.data(folder)[0].table("contacts")
        except (ChurnError, OSError, ValueError):
            return None
        if contacts is None:
            return None
        return contacts[contacts["customer_id"].astype(str) == customer_id]

    def timeline(
        self, customer_id: str, source: str, asof: str, lang: Lang, currency: str | None = None
    ) -> tuple[dict[str, object], list[Event], str | None]:
        """The customers-table row and recent events from the data folder the scoring read."""
        folder = Path(source) if source else None
        if folder is None or not folder.is_dir():
            return {}, [], t("no_data", lang)
        try:
            profile, parts = self.timelines.customer(folder, customer_id)
        except (ChurnError, OSError, ValueError) as exc:
            log.warning("workspace: data folder of %s unreadable: %s", asof, exc)
            return {}, [], t("no_data", lang)
        return profile, events(parts, asof, lang, currency), None

    def log_contact(self, ctx: Context) -> Response:
        """Store a retention contact of a customer the principal may see (403 for an analyst:
        read-only); a refused field shows the customer page again (422) with what was typed
        and why."""
        svc, lang, p = ctx.svc, ctx.lang, ctx.principal
        customer_id = ctx.request.path_params["customer_id"]
        form = ctx.form or {}
        if not p.may_log_contacts:
            ctx.refuse("contact", customer_id)
            raise PageError(403, "forbidden", t("read_only", lang))
        if not same_origin(ctx.request) or not tokens_match(form.get("csrf"), p.csrf):
            ctx.audit("contact", "csrf", customer_id)
            raise PageError(403, "forbidden", t("csrf", lang))
        unknown = PageError(404, "not_found", t("unknown_customer", lang, id=customer_id))
        dates = scoring_dates(svc.store)
        history = (
            customer_history(svc.store, customer_id, dates)
            if dates and len(customer_id) <= MAX_FILTER
            else pd.DataFrame()
        )
        if history.empty:
            raise unknown
        manager = history.iloc[-1]["account_manager_id"]
        if not p.may_see(manager):
            ctx.refuse("contact", customer_id)
            raise unknown
        typed = ContactForm.from_fields(form)
        row, problems = check_form(typed, _today() + timedelta(days=1))
        if problems:
            fields = ", ".join(dict.fromkeys(f for f, _ in problems))
            ctx.audit("contact", "invalid", f"{customer_id}: {fields}")
            return self.customer(ctx, typed, problems, status=422)
        contact_id = self.contacts(svc).add(row, customer_id, manager, p.name)
        ctx.audit("contact", "ok", f"{customer_id} {contact_id}")
        back = f"{PREFIX}/customers/{quote(customer_id, safe='')}?"
        return RedirectResponse(back + urlencode({"logged": contact_id}) + "#contacts", 303)

    def export_contacts(self, ctx: Context) -> Response:
        """The logged contacts (a manager's: their book's) as the contract's ``contacts`` CSV."""
        unknown = sorted(set(ctx.request.query_params) - {"lang"})
        if unknown:
            raise PageError(400, "bad_request", f"unknown query parameter: {unknown[0]}")
        p = ctx.principal
        frame = self.contacts(ctx.svc).frame(manager=p.book)
        ctx.audit("export", "ok", f"contacts ({len(frame)} rows)")
        return csv_response(frame, "contacts.csv")
