"""GET endpoints of the service (a FastAPI app BentoML mounts beside its POST APIs).

``/at_risk`` pages through the latest batch scoring; ``/models`` says which champions answer;
``/scorecards`` computes the KPI scorecards of a period from the predictions stored at its month
starts and the data folder that scoring read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response

from core.errors import ChurnError
from kpi.config import KpiConfig, KpiError, load_kpi_config
from kpi.periods import parse_period
from serving.batch.store import AtRiskQuery, StoreError
from serving.champions import ModelHolder
from serving.config import CONFIG_ENV
from serving.errors import Problem, error_response, pydantic_problems
from serving.kpi_inputs import (
    DatasetCache,
    MissingPredictionsError,
    UnknownSelectionError,
    scorecard_records,
    select_rows,
    store_scorecard,
)
from serving.lists import AT_RISK, LIST_LIFECYCLES, WIN_BACK, present
from serving.schemas import ListItem, ListResponse, ModelInfo, ModelStatus

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


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


async def _bad_query(_: Request, exc: Exception) -> JSONResponse:
    """Query-string errors as 400 with the same body shape as every other refusal."""
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "invalid query parameters", pydantic_problems(exc.errors()))


def _error(status: int, message: str, loc: tuple[str | int, ...] = ()) -> JSONResponse:
    problems = [Problem(loc, message, "value_error")] if loc else []
    return error_response(status, message, problems)


def _read_kpi_config() -> KpiConfig | KpiError:
    """The KPI configuration, read once when the routes are built (an invalid file: its error)."""
    try:
        return load_kpi_config(os.environ.get(CONFIG_ENV) or None)
    except KpiError as exc:
        return exc


@dataclass(frozen=True)
class ListQuery:
    """The filters, page and format both lists take."""

    asof: str | None
    account_manager_id: str | None
    segment: str | None
    min_probability: float
    limit: int | None
    offset: int
    format: str | None


def _list_query(
    asof: str | None = Query(None, pattern=DATE_PATTERN, description="Default: latest."),
    account_manager_id: str | None = Query(None, max_length=200),
    segment: str | None = Query(None, max_length=200),
    min_probability: float = Query(0.0, ge=0.0, le=1.0, allow_inf_nan=False),
    limit: int | None = Query(None, ge=1, description="Page size; default from config."),
    offset: int = Query(0, ge=0),
    format: Literal["json", "csv"] | None = Query(None, description="Or Accept: text/csv."),
) -> ListQuery:
    return ListQuery(asof, account_manager_id, segment, min_probability, limit, offset, format)


def build_routes(service: Callable[[], Any]) -> FastAPI:
    """The GET app; ``service`` returns the running service instance (config, models, store)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(RequestValidationError, _bad_query)

    def list_page(name: str, request: Request, svc: Any, q: ListQuery) -> Any:
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
            min_probability=q.min_probability,
            limit=size,
            offset=q.offset,
        )
        try:
            page = svc.store.at_risk(query)
        except StoreError as exc:
            return _error(404, str(exc))
        rows = present(page.rows, page.horizon_days, cfg.lists.reasons)
        wants_csv = q.format == "csv" or (
            q.format is None and "text/csv" in request.headers.get("accept", "")
        )
        if wants_csv:
            return Response(
                rows.to_csv(index=False),
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
        request: Request, svc: Any = Depends(service), q: ListQuery = Depends(_list_query)
    ) -> Any:
        """Active and lapsing customers of the latest batch scoring, highest expected value at
        risk first."""
        return list_page(AT_RISK, request, svc, q)

    @app.get("/win_back", response_model=ListResponse)
    def win_back(
        request: Request, svc: Any = Depends(service), q: ListQuery = Depends(_list_query)
    ) -> Any:
        """Lapsed customers of the latest batch scoring (the win-back list), highest expected
        value at risk first."""
        return list_page(WIN_BACK, request, svc, q)

    datasets = DatasetCache()
    kpi_config = _read_kpi_config()

    @app.get("/scorecards")
    def scorecards(
        request: Request,
        svc: Any = Depends(service),
        period: str = Query(..., max_length=20, description="YYYY-MM, YYYY-Qn or YYYY."),
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
        if isinstance(kpi_config, KpiError):
            return _error(503, f"the service's KPI configuration is invalid: {kpi_config}")
        cfg = kpi_config
        try:
            inputs, frame = store_scorecard(svc.store, parsed, cfg, load=datasets)
            rows = select_rows(frame, team=team, manager=manager)
        except (MissingPredictionsError, UnknownSelectionError) as exc:
            return _error(404, str(exc))
        except ChurnError as exc:  # no data for the period, data folder gone or invalid
            return _error(422, str(exc))
        wants_csv = format == "csv" or (
            format is None and "text/csv" in request.headers.get("accept", "")
        )
        if wants_csv:
            return Response(
                rows.to_csv(index=False),
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
        return JSONResponse({**body, "data": str(inputs.data), "rows": scorecard_records(rows)})

    @app.get("/models", response_model=ModelStatus)
    def models(svc: Any = Depends(service)) -> ModelStatus:
        """The champion versions being served, their features and category levels."""
        return model_status(svc.models)

    return app
