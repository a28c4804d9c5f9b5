"""GET endpoints of the service (a FastAPI app BentoML mounts beside its POST APIs).

``/at_risk`` pages through the latest batch scoring; ``/models`` says which champions answer;
``/scorecards`` computes the KPI scorecards of a period from the predictions stored at its month
starts and the data folder that scoring read; ``/docs.json`` is the OpenAPI document (BentoML's,
made to match the service: :func:`serving.schemas.contract`) and ``/docs`` its page, built from
assets this server holds.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import HTMLResponse, JSONResponse, Response

from core.csv_out import to_csv_text
from core.errors import ChurnError
from core.lang import Lang, accept_language, parse_lang
from kpi.config import KpiError
from kpi.inputs import (
    DatasetCache,
    MissingPredictionsError,
    UnknownSelectionError,
    scorecard_records,
    select_rows,
    store_scorecard,
)
from kpi.periods import parse_period
from scoring.champions import ModelHolder
from scoring.lists import AT_RISK, LIST_LIFECYCLES, WIN_BACK, named_values, present
from scoring.reasons import reason_sentences
from scoring.store.predictions import AtRiskQuery, StoredCustomer, StoreError, StoreUnavailable
from serving.errors import Problem, error_response, pydantic_problems, scrub
from serving.schemas import (
    MAX_OFFSET,
    MAX_PAGE,
    PERIOD_PATTERN,
    PRODUCT,
    CustomerResponse,
    CustomerScores,
    ListItem,
    ListResponse,
    ModelInfo,
    ModelStatus,
    RfmSegment,
    contract,
    record_schema,
)
from serving.state import ServiceState

log = logging.getLogger(__name__)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="./static_content/swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
<script>
window.onload = function () {{
  window.ui = SwaggerUIBundle({{url: "./docs.json", dom_id: "#swagger-ui", validatorUrl: null,
    deepLinking: true, presets: [SwaggerUIBundle.presets.apis]}});
}};
</script>
</body></html>
"""
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'"
)
"""The docs page may load from this server only (the browser enforces it)."""


def product_version() -> str:
    """The installed version of this project (``0+unknown`` when run from an uninstalled tree)."""
    try:
        return version("churn-service")
    except PackageNotFoundError:
        return "0+unknown"


def model_status(holder: ModelHolder) -> ModelStatus:
    """The champions a holder serves (or why it serves none)."""
    champions = holder.current
    refs = holder.refs
    return ModelStatus(
        ready=champions is not None,
        problem=holder.problem,
        alias=refs.alias,
        churn_model=ModelInfo(name=refs.churn, version=champions and champions.churn_version),
        value_model=ModelInfo(name=refs.value, version=champions and champions.value_version),
        feature_names=list(champions.feature_names) if champions else [],
        categories={k: sorted(v) for k, v in champions.categories.items()} if champions else {},
    )


def example_records(svc: ServiceState) -> dict[str, dict[str, Any]]:
    """Per served model, a record of its features: the first customer of the latest batch
    scoring where the store has one (its missing features made up), else made-up values."""
    champions = svc.models.current
    if champions is None:
        return {}
    _, made_up = record_schema(champions)
    try:
        stored = svc.store.first_records(1)
    except (StoreError, StoreUnavailable, SQLAlchemyError):
        stored = []
    base = {**made_up, **(stored[0] if stored else {})}
    refs = svc.models.refs
    return {
        name: {"customer_id": base.get("customer_id")}
        | {f: base.get(f) for f in bundle.feature_names}
        for name, bundle in ((refs.churn, champions.churn), (refs.value, champions.value))
    }


def customer_body(found: StoredCustomer, lang: Lang = "en") -> dict[str, Any]:
    """``GET /customers/{id}``'s body from the store's :class:`CustomerScores` row, its reasons
    as sentences in ``lang``."""
    scores = dict(found.scores)
    text = scores.get("reasons")
    scores["reasons"] = reason_sentences(text, lang) if isinstance(text, str) and text else []
    for col in ("last_purchase_date", "contract_end_date"):
        if scores.get(col) is not None:
            scores[col] = str(scores[col])[:10]
    features = {f: found.features.get(f) for f in found.run.feature_names}
    body = CustomerResponse(
        customer_id=found.customer_id,
        asof=found.run.asof,
        features=features,
        scores=CustomerScores.model_validate(scores),
    )
    return body.model_dump()


async def _bad_query(_: Request, exc: Exception) -> JSONResponse:
    """Query-string errors as 400 with the same body shape as every other refusal."""
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "invalid query parameters", pydantic_problems(exc.errors()))


def _error(status: int, message: str, loc: tuple[str | int, ...] = ()) -> JSONResponse:
    problems = [Problem(loc, message, "value_error")] if loc else []
    return error_response(status, message, problems)


@dataclass(frozen=True)
class ListQuery:
    """The filters, page and format both lists take."""

    asof: str | None
    account_manager_id: str | None
    segment: str | None
    rfm_segment: str | None
    min_probability: float
    limit: int | None
    offset: int
    format: str | None
    sort: Literal["benefit", "value_at_risk"] = "benefit"
    lang: Lang | None = None


LANG_HELP = (
    "Language of the values people read (reasons, why_listed, lifecycle, band, action) and of "
    "error messages: en or zh; default: the Accept-Language header, else en. Keys stay English."
)


def _list_query(
    asof: str | None = Query(None, pattern=DATE_PATTERN, description="Default: latest."),
    account_manager_id: str | None = Query(None, max_length=200),
    segment: str | None = Query(None, max_length=200),
    rfm_segment: RfmSegment | None = Query(None, description="One of the eight RFM segments."),
    min_probability: float = Query(0.0, ge=0.0, le=1.0, allow_inf_nan=False),
    limit: int | None = Query(
        None,
        ge=1,
        le=MAX_PAGE,
        description="Page size; default and maximum from config (400 above the maximum).",
    ),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    format: Literal["json", "csv"] | None = Query(None, description="Or Accept: text/csv."),
    sort: Literal["benefit", "value_at_risk"] = Query(
        "benefit",
        description="benefit: expected benefit of a contact first (the at-risk list's default); "
        "value_at_risk: expected value at risk first. The win-back list is always by value at "
        "risk.",
    ),
    lang: Lang | None = Query(None, description=LANG_HELP),
) -> ListQuery:
    return ListQuery(
        asof,
        account_manager_id,
        segment,
        rfm_segment,
        min_probability,
        limit,
        offset,
        format,
        sort,
        lang,
    )


def asked_lang(request: Request, asked: str | None = None) -> Lang:
    """The language a request asks for: ``lang``, else ``Accept-Language``, else English."""
    return (
        parse_lang(asked)
        if asked
        else accept_language(request.headers.get("accept-language")) or "en"
    )


def _unavailable(exc: StoreUnavailable) -> JSONResponse:
    log.warning("store unavailable: %s", exc)
    return _error(503, exc.public)


def build_routes(
    service: Callable[[], ServiceState], spec: Callable[[], dict[str, Any]]
) -> FastAPI:
    """The GET app; ``service`` returns the running service instance (config, models, store),
    ``spec`` BentoML's OpenAPI document of the whole service."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(RequestValidationError, _bad_query)
    cache: dict[Any, dict[str, Any]] = {}

    @app.get("/docs.json", include_in_schema=False)
    def openapi(svc: ServiceState = Depends(service)) -> JSONResponse:
        champions = svc.models.current
        key = champions and (champions.churn_version, champions.value_version)
        if key not in cache:
            cache.clear()
            cfg = svc.config
            limits = (cfg.max_batch_size, cfg.at_risk_max_page_size)
            cache[key] = contract(spec(), champions, limits, product_version(), bool(svc.api_key))
        return JSONResponse(cache[key])

    @app.get("/", include_in_schema=False)
    @app.get("/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        title = html.escape(f"{PRODUCT} {product_version()}")
        return HTMLResponse(
            DOCS_PAGE.format(title=title), headers={"Content-Security-Policy": DOCS_POLICY}
        )

    def list_page(name: str, request: Request, svc: ServiceState, q: ListQuery) -> Any:
        cfg = svc.config
        size = q.limit or cfg.at_risk_page_size
        if size > cfg.at_risk_max_page_size:
            return _error(
                400,
                f"limit {size} is above the maximum of {cfg.at_risk_max_page_size}",
                ("query", "limit"),
            )
        query = AtRiskQuery(
            lifecycle=LIST_LIFECYCLES[name],
            asof=q.asof,
            account_manager_id=q.account_manager_id,
            segment=q.segment,
            rfm_segment=q.rfm_segment,
            min_probability=q.min_probability,
            sort=q.sort,
            limit=size,
            offset=q.offset,
        )
        try:
            page = svc.store.at_risk(query)
        except StoreUnavailable as exc:
            return _unavailable(exc)
        except StoreError as exc:
            return _error(404, exc.public)
        lang = asked_lang(request, q.lang)
        rows = present(page.rows, page.horizon_days, cfg.lists.reasons, lang)
        wants_csv = q.format == "csv" or (
            q.format is None and "text/csv" in request.headers.get("accept", "")
        )
        # a CSV is read by people: every fixed value named; JSON keeps the schema's enums
        rows = named_values(rows, lang, None if wants_csv else ("recommended_action",))
        if wants_csv:
            return Response(
                to_csv_text(rows),
                media_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": f'attachment; filename="{name}_{page.asof}.csv"',
                    "X-Total-Count": str(page.total),
                },
            )
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        body = ListResponse(
            asof=page.asof,
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            items=[ListItem.model_validate(r) for r in records],
        )
        # the items keep the list's column order (the model puts its extra fields last)
        return JSONResponse({**body.model_dump(exclude={"items"}), "items": records})

    @app.get("/at_risk", response_model=ListResponse)
    def at_risk(
        request: Request, svc: ServiceState = Depends(service), q: ListQuery = Depends(_list_query)
    ) -> Any:
        """Active and lapsing customers of the latest batch scoring, highest expected benefit of
        a contact first (``sort=value_at_risk``: highest expected value at risk first)."""
        return list_page(AT_RISK, request, svc, q)

    @app.get("/win_back", response_model=ListResponse)
    def win_back(
        request: Request, svc: ServiceState = Depends(service), q: ListQuery = Depends(_list_query)
    ) -> Any:
        """Lapsed customers of the latest batch scoring (the win-back list), highest expected
        value at risk first."""
        return list_page(WIN_BACK, request, svc, q)

    datasets = DatasetCache()

    @app.get("/scorecards")
    def scorecards(
        request: Request,
        svc: ServiceState = Depends(service),
        period: str = Query(
            ..., max_length=20, pattern=PERIOD_PATTERN, description="YYYY-MM, YYYY-Qn or YYYY."
        ),
        team: str | None = Query(None, max_length=200),
        manager: str | None = Query(None, max_length=200, description="account_manager_id"),
        format: Literal["json", "csv"] | None = Query(None, description="Or Accept: text/csv."),
    ) -> Any:
        """KPI scorecards of managers and teams for a period, from the stored predictions made
        at each month's start (``churn score --asof``) and the data folder that scoring read."""
        try:
            parsed = parse_period(period)
        except KpiError as exc:
            return _error(400, str(exc), ("query", "period"))
        cfg = svc.kpi
        if isinstance(cfg, KpiError):
            return _error(503, f"the service's KPI configuration is invalid: {scrub(str(cfg))}")
        trouble = svc.store.problem()
        if trouble:
            return _error(503, trouble)
        try:
            inputs, frame = store_scorecard(svc.store, parsed, cfg, load=datasets)
            rows = select_rows(frame, team=team, manager=manager)
        except StoreUnavailable as exc:
            return _unavailable(exc)
        except (MissingPredictionsError, UnknownSelectionError) as exc:
            log.info("scorecards %s: %s", period, exc)
            return _error(404, scrub(str(exc)))
        except ChurnError as exc:  # no data for the period, data folder gone or invalid
            if isinstance(exc.__cause__, SQLAlchemyError | StoreError):
                log.warning("scorecards %s: store trouble: %s", period, exc)
                return _error(503, "the prediction store cannot be read")
            log.info("scorecards %s: %s", period, exc)
            return _error(422, scrub(str(exc)))
        wants_csv = format == "csv" or (
            format is None and "text/csv" in request.headers.get("accept", "")
        )
        if wants_csv:
            return Response(
                to_csv_text(rows),
                media_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": f'attachment; filename="scorecards_{parsed.label}.csv"'
                },
            )
        runs = [
            {
                "asof": r.asof,
                "churn_model_version": r.churn_model_version,
                "value_model_version": r.value_model_version,
            }
            for r in inputs.stored.runs
        ]
        body = {"period": parsed.label, "kind": parsed.kind, "predictions": runs}
        return JSONResponse({**body, "rows": scorecard_records(rows)})

    @app.get("/models", response_model=ModelStatus)
    def models(svc: ServiceState = Depends(service)) -> ModelStatus:
        """The champion versions being served, their features and category levels, and an
        example record per model."""
        return model_status(svc.models).model_copy(update={"example_records": example_records(svc)})

    @app.get("/customers/{customer_id}", response_model=CustomerResponse)
    def customer(
        request: Request,
        svc: ServiceState = Depends(service),
        customer_id: str = Path(..., min_length=1, max_length=200),
        asof: str | None = Query(None, pattern=DATE_PATTERN, description="Default: latest."),
        lang: Lang | None = Query(None, description=LANG_HELP),
    ) -> Any:
        """One customer's features exactly as the latest batch scoring scored them (a ready
        /predict record) and the scores it stored."""
        try:
            found = svc.store.customer(customer_id, asof)
        except StoreUnavailable as exc:
            return _unavailable(exc)
        except StoreError as exc:
            return _error(404, exc.public)
        if found is None:
            when = f"as of {asof}" if asof else "by the latest batch scoring"
            return _error(
                404, f"customer {customer_id!r} was not scored {when}", ("path", "customer_id")
            )
        return JSONResponse(customer_body(found, asked_lang(request, lang)))

    return app
