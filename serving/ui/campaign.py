"""The campaign builder, ``/ui/campaign`` and ``/ui/campaign.csv``: ``churn campaign``'s
selection for a capacity per manager and a rule, its preview, and the whole selection as CSV
(audited). A manager's campaign covers their own book."""

from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

import pandas as pd
from starlette.responses import Response

from core.errors import ChurnError
from core.lang import Lang, catalogue
from core.money import format_money
from kpi.campaign import recommended_rule
from kpi.campaign_builder import (
    AVAILABLE,
    DEFAULT_STRATEGY,
    Campaign,
    CampaignAsk,
    CampaignBuilder,
)
from kpi.config import KpiConfig, KpiError
from kpi.inputs import stored_reasons
from kpi.rule_names import rule_name
from scoring.store.predictions import StoreError, StoreUnavailable
from scoring.store.workspace import scoring_dates
from serving.errors import scrub
from serving.ui.context import PREFIX, Context, PageError, Site, csv_response, plain

t = catalogue("workspace").t

log = logging.getLogger(__name__)


def advice(
    savings: pd.DataFrame, capacity: int, lang: Lang, currency: str | None = None
) -> dict[str, str]:
    """The recommended rule (highest expected saving within the capacity), the sentence that
    says why, and the no-capacity rule shown as the upper bound."""
    best, upper = recommended_rule(savings)
    rows = savings.set_index("rule")
    sentence = t(
        "recommend",
        lang,
        rule=rule_name(best, lang),
        saving=format_money(rows.loc[best, "saving_vs_nobody"], currency),
        k=capacity,
    )
    if upper is not None:
        sentence += " " + t(
            "upper_bound",
            lang,
            n=int(rows.loc[upper, "contacts"]),
            saving=format_money(rows.loc[upper, "saving_vs_nobody"], currency),
        )
    return {"rule": best, "upper": upper or "", "sentence": sentence}


class CampaignPage:
    """The builder's form, preview and export."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.campaigns = CampaignBuilder(site.datasets)

    def campaign_ask(self, ctx: Context) -> tuple[CampaignAsk, KpiConfig, list[str]]:
        """The builder's inputs from the query string (400 naming a bad one)."""
        params = ctx.params({"asof", "capacity", "by", "cost", "success_rate"})
        cfg = self.site.kpi_config(ctx.svc)
        dates = scoring_dates(ctx.svc.store)
        if not dates:
            raise PageError(404, "not_found", t("nothing_scored", ctx.lang))
        asof = params.get("asof", dates[0])
        if asof not in dates:
            raise PageError(404, "not_found", f"asof: nothing was scored as of {asof!r}")
        capacity = params.get("capacity", str(cfg.campaign.capacity_per_manager))
        if not capacity.isdigit() or int(capacity) > 100_000:
            raise PageError(400, "bad_request", f"capacity: {capacity!r} is not 0 to 100000")
        by = params.get("by", DEFAULT_STRATEGY)
        if by not in AVAILABLE:
            raise PageError(400, "bad_request", f"by: {by!r} is not one of {', '.join(AVAILABLE)}")
        numbers: dict[str, float | None] = {}
        for key, top in (("cost", math.inf), ("success_rate", 1.0)):
            text = params.get(key)
            if text is None:
                numbers[key] = None
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (0 <= value <= top) or math.isinf(value):
                limit = "a number from 0 to 1" if top == 1 else "a number 0 or more"
                raise PageError(400, "bad_request", f"{key}: {text!r} is not {limit}")
            numbers[key] = value
        ask = CampaignAsk(asof, int(capacity), by, numbers["cost"], numbers["success_rate"])
        return ask, cfg, dates

    def build(self, ctx: Context) -> tuple[Campaign, KpiConfig, list[str]]:
        """The selection the query string asks for (store trouble re-raised for the gate)."""
        ask, cfg, dates = self.campaign_ask(ctx)
        try:
            built = self.campaigns.build(
                ctx.svc.store, ask, cfg, ctx.principal.book, ctx.svc.uplift_model
            )
        except KpiError as exc:
            if isinstance(exc.__cause__, StoreError | StoreUnavailable):
                raise exc.__cause__ from None
            raise PageError(422, "bad_request", scrub(str(exc))) from None
        return built, cfg, dates

    def campaign(self, ctx: Context) -> Response:
        """The builder's form and the preview of its selection."""
        built, cfg, dates = self.build(ctx)
        ask = built.ask
        query = {
            k: v
            for k, v in {
                "asof": ask.asof,
                "capacity": ask.capacity,
                "by": ask.by,
                "cost": ask.cost,
                "success_rate": ask.success_rate,
            }.items()
            if v is not None
        }
        chosen = built.chosen
        preview = [plain(r) for r in chosen.head(50).to_dict("records")]
        return ctx.render(
            "campaign.html",
            nav="campaign",
            ask=ask,
            dates=dates,
            strategies=list(AVAILABLE),
            chosen=preview,
            total=len(chosen),
            saved_value=float(chosen["expected_saved_value"].sum()),
            per_manager=[
                {"id": mid, **plain(r)} for mid, r in built.per_manager().to_dict("index").items()
            ],
            savings=[
                {**plain(r), "name": rule_name(str(r["rule"]), ctx.lang)}
                for r in built.savings.to_dict("records")
            ],
            advice=advice(built.savings, built.result.capacity, ctx.lang, ctx.currency),
            notes=built.notes,
            team_wide=built.result.team_wide,
            config_capacity=cfg.campaign.capacity_per_manager,
            export_url=f"{PREFIX}/campaign.csv?{urlencode(query)}",
            lang_url=lambda code: f"{PREFIX}/campaign?{urlencode({**query, 'lang': code})}",
        )

    def campaign_csv(self, ctx: Context) -> Response:
        """The whole selection as ``churn campaign`` writes it (reasons by the champion, when
        one is loaded), audited."""
        built, _, _ = self.build(ctx)
        chosen = built.chosen.copy()
        champions = ctx.svc.models.current
        if champions is not None and len(chosen):
            try:
                found = stored_reasons(
                    ctx.svc.store,
                    pd.Timestamp(built.ask.asof),
                    chosen["customer_id"],
                    champions.churn,
                    lang=ctx.lang,
                )
                chosen["reasons"] = found.to_numpy()
            except (ChurnError, KeyError, ValueError) as exc:
                log.warning("workspace: campaign reasons unavailable: %s", exc)
        ctx.audit("export", "ok", f"campaign {ctx.request.url.query} ({len(chosen)} rows)")
        return csv_response(chosen, f"campaign_{built.ask.asof}_{built.ask.by}.csv")
