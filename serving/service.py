"""The churn prediction API, a BentoML 1.4 service.

``churn serve`` starts it (``bentoml serve serving.service:ChurnService`` with the configuration
file in ``CHURN_SERVING_CONFIG``); it binds 127.0.0.1:3000 unless told otherwise.

- ``POST /predict``: feature records -> scores, straight from JSON to the boosters' matrix;
- ``POST /predict_by_id``: customer ids -> scores from the features batch scoring materialised;
- ``POST /uplift``: customer ids -> effect of a retention contact (``uplift-model@champion``),
  value if retained and expected incremental value;
- ``POST /explain``: records or ids -> top-k SHAP reasons with sentences (en/zh);
- ``POST /reload``: re-read the champion alias now (the service also polls it);
- ``GET /at_risk``, ``GET /customers/{id}``, ``GET /models``: see :mod:`serving.routes`;
- ``/livez``, ``/readyz``, ``/metrics``: BentoML's probes and Prometheus metrics, with the
  service's own (:mod:`serving.metrics`: the latest monitoring result, the score distribution).
- ``/ui/``: the retention workspace, pages for people (:mod:`serving.ui`, docs/workspace.md).

What ``/predict`` and ``/predict_by_id`` answer goes to a bounded prediction log in the store,
written in bulk off the request path (:mod:`serving.prediction_log`).

Models come only from the configured MLflow registry (names and alias in the config), loaded
once at start and swapped whole when the alias moves. :mod:`serving.middleware` refuses bad requests
(key, size, media type, readiness, model-aware checks) before they reach these methods.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import anyio.to_thread
import bentoml
import pandas as pd
from starlette.responses import JSONResponse

from core.bundle import BundleError
from core.uplift import UpliftError
from kpi.config import service_kpi_config
from monitoring.config import latest_path
from scoring.champions import Champions, ModelHolder, ReloadWatcher, reload_key
from scoring.config import api_key_from_env, config_path_from_env, serving_config_from_env
from scoring.frame import records_frame, score_frame, score_records
from scoring.prefetch import PREFETCH_ENV
from scoring.prefetch import take as take_prefetched
from scoring.reasons import explain_frame
from scoring.store.predictions import (
    PredictionStore,
    ScoringRun,
    StoreError,
    StoreUnavailable,
)
from scoring.store.schema import STORED_KEYS
from scoring.uplift import UpliftChampion
from serving.background import Repeating
from serving.errors import error_response
from serving.header_deadline import install as install_header_deadline
from serving.launch import exit_with_parent
from serving.metrics import ServiceMetrics
from serving.middleware import RequestGuard
from serving.prediction_log import PredictionLog
from serving.routes import build_routes, model_status
from serving.schemas import (
    CustomerRecord,
    ExplainRequest,
    ExplainResponse,
    Explanation,
    Lang,
    ModelStatus,
    PredictByIdItem,
    PredictByIdRequest,
    PredictByIdResponse,
    Prediction,
    PredictRequest,
    ReasonOut,
    ReloadRequest,
    UpliftItem,
    UpliftRequest,
    UpliftResponse,
    UpliftScore,
)
from serving.state import ServiceState
from serving.traffic import install as install_route_metrics
from serving.ui.app import WorkspaceGate

log = logging.getLogger(__name__)

ADAPTIVE_ENV = "CHURN_ADAPTIVE_BATCHING"
"""``1`` turns BentoML's adaptive batching of ``/predict`` on (read when the service module is
imported, as BentoML fixes an API's batching then); off by default: it measured slower."""
ADAPTIVE_MAX_BATCH = 512
"""Most records BentoML's dispatcher scores in one call (larger requests are split)."""
ADAPTIVE_MAX_LATENCY_MS = 50
INLINE_RECORDS = 64
"""Requests of up to this many records are scored on the event loop (faster than a thread hop
for the sub-millisecond work); larger ones in a worker thread, so they block no other request."""


def current_service() -> ServiceState:
    """The running service instance (BentoML's, per worker), typed as what the routes, the
    request guard and the workspace use of it; mypy checks that ChurnService provides that."""
    svc: ChurnService = bentoml.get_current_service()
    return svc


routes = build_routes(
    current_service,
    # a Service property (the class decorator's type is invisible to mypy, see the end)
    lambda: ChurnService.openapi_spec.asdict(),  # type: ignore[attr-defined]
)


class NotReadyError(bentoml.exceptions.BentoMLException):
    """No champion is loaded (the guard answers 503 with the reason before a request gets here)."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE


@bentoml.service(
    name="churn",
    http={"host": "127.0.0.1", "port": 3000},
    traffic={"timeout": 60},
    threads=4,
)
@bentoml.asgi_app(routes, path="/")
class ChurnService:
    """Churn and value predictions, explanations and at-risk lists for retention teams."""

    def __init__(self) -> None:
        exit_with_parent()  # a worker outlives no server: no stale answers, no port held
        self.config = serving_config_from_env()
        install_header_deadline(self.config.header_timeout_s)
        self.kpi = service_kpi_config(config_path_from_env())
        self.api_key = api_key_from_env(self.config, os.environ)
        self.models = ModelHolder(self.config.models, self.config.resolved_tracking_uri())
        fetched = take_prefetched(
            self.config.models, self.models.tracking_uri, os.environ.get(PREFETCH_ENV)
        )
        if fetched is None or not self.models.adopt(fetched):
            self.models.refresh()
        self.store = PredictionStore(self.config.resolved_store_url())
        self.uplift_model = UpliftChampion(self.config.resolved_tracking_uri())
        self._reload_key = reload_key(self.config.models)
        self._watcher = ReloadWatcher(
            self.models, lambda: self.store.reload_generation(self._reload_key)
        )
        self.metrics = ServiceMetrics()
        self.prediction_log = PredictionLog(
            self.config.prediction_log, self.store.append_api_predictions, self.metrics
        )
        log_cfg = self.config.prediction_log
        self._background = [Repeating(self.prediction_log.flush, log_cfg.flush_s, "prediction-log")]
        if self.config.poll_interval_s > 0:
            self._background.append(
                Repeating(self.models.refresh, self.config.poll_interval_s, "champion-poller")
            )
        if self.config.reload_check_s > 0:
            self._background.append(
                Repeating(self._watcher.check, self.config.reload_check_s, "reload-watcher")
            )
        if self.config.monitoring_check_s > 0:
            self.metrics.follow(latest_path())
            self._background.append(
                Repeating(
                    lambda: self.metrics.follow(latest_path()),
                    self.config.monitoring_check_s,
                    "monitoring-metrics",
                )
            )
        for thread in self._background:
            thread.start()

    def __is_ready__(self) -> bool:
        return self.models.current is not None

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        for repeating in self._background:
            repeating.stop()
        self.prediction_log.flush()  # what is still buffered
        self.store.close()

    def _champions(self) -> Champions:
        champions = self.models.current
        if champions is None:
            raise NotReadyError(f"not ready: {self.models.problem}")
        return champions

    # ---- scoring shared by every endpoint -------------------------------------------------------

    def _score(
        self, frame: pd.DataFrame, ids: Sequence[str | None], champions: Champions
    ) -> list[Prediction]:
        scores = score_frame(frame, champions, self.config.risk_bands)
        return [
            Prediction(customer_id=cid, **row, **champions.versions)
            for cid, row in zip(ids, scores.to_dict("records"), strict=True)
        ]

    def _stored(
        self, customer_ids: list[str], champions: Champions
    ) -> tuple[ScoringRun, pd.DataFrame] | JSONResponse:
        """Stored feature rows of these ids, indexed by id; an error response when unusable."""
        try:
            run, frame = self.store.features_for(customer_ids)
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            return error_response(503, exc.public)
        except StoreError as exc:
            return error_response(404, exc.public)
        lacking = self._lacking(run, champions)
        if lacking is not None:
            return lacking
        return run, frame.set_index("customer_id", drop=False)

    @staticmethod
    def _lacking(run: ScoringRun, champions: Champions) -> JSONResponse | None:
        """409 when the stored features lack a feature the champion needs (else None)."""
        stored = {*STORED_KEYS, *run.feature_names}
        lacking = [f for f in champions.feature_names if f not in stored]
        if not lacking:
            return None
        return error_response(
            409,
            f"the features stored as of {run.asof} lack {lacking[:5]} that the champion "
            f"(churn-model v{champions.churn_version}) needs; batch scoring must run again",
        )

    # ---- endpoints ------------------------------------------------------------------------------

    @bentoml.api(
        batchable=os.environ.get(ADAPTIVE_ENV) == "1",
        max_batch_size=ADAPTIVE_MAX_BATCH,
        max_latency_ms=ADAPTIVE_MAX_LATENCY_MS,
        input_spec=PredictRequest,
    )
    async def predict(self, records: list[CustomerRecord]) -> list[Prediction]:
        """Churn probability, predicted value, expected value at risk and risk band per record."""
        champions = self._champions()
        if len(records) <= INLINE_RECORDS:
            return self._predict(records, champions)
        return await anyio.to_thread.run_sync(self._predict, records, champions)

    # BentoML works out a list output's media type from its JSON schema on every response
    # (milliseconds for this schema); naming it once skips that
    predict.output_spec.media_type = "application/json"

    def _predict(self, records: list[Any], champions: Champions) -> list[Prediction]:
        """Scores of validated request records (declared fields and extras as one mapping)."""
        rows = [{**r.__dict__, **(r.__pydantic_extra__ or {})} for r in records]
        return self._predict_records(rows, champions, "predict")

    def _predict_records(
        self,
        rows: list[dict[str, Any]],
        champions: Champions,
        endpoint: str,
        asof: str | None = None,
        managers: list[Any] | None = None,
    ) -> list[Prediction]:
        """Scores of records, straight to the boosters' matrix (no frame); logged as answered
        by ``endpoint`` for features as of ``asof`` (None: today)."""
        scores = score_records(rows, champions, self.config.risk_bands)
        versions: dict[str, Any] = champions.versions
        out = [
            Prediction.model_construct(customer_id=row.get("customer_id"), **score, **versions)
            for row, score in zip(rows, scores, strict=True)
        ]
        self.prediction_log.add(endpoint, out, asof, managers)
        return out

    @bentoml.api(input_spec=PredictByIdRequest)
    def predict_by_id(self, customer_ids: list[str]) -> PredictByIdResponse:
        """Scores of stored customers; an unknown id is an error for that item only."""
        champions = self._champions()
        try:
            run, found = self.store.feature_records(customer_ids)
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            return error_response(503, exc.public)  # type: ignore[return-value]  # an error Response goes out as is
        except StoreError as exc:
            return error_response(404, exc.public)  # type: ignore[return-value]  # an error Response goes out as is
        lacking = self._lacking(run, champions)
        if lacking is not None:
            return lacking  # type: ignore[return-value]  # an error Response goes out as is
        known = [c for c in dict.fromkeys(customer_ids) if c in found]
        rows = [found[c] for c in known]
        managers = [row.get("account_manager_id") for row in rows]
        predictions = self._predict_records(rows, champions, "predict_by_id", run.asof, managers)
        scored = dict(zip(known, predictions, strict=True))
        unknown = f"unknown customer id (not scored as of {run.asof})"
        results = [
            PredictByIdItem(customer_id=c, prediction=scored[c])
            if c in scored
            else PredictByIdItem(customer_id=c, error=unknown)
            for c in customer_ids
        ]
        return PredictByIdResponse(asof=run.asof, results=results)

    @bentoml.api(input_spec=UpliftRequest)
    def uplift(self, customer_ids: list[str]) -> UpliftResponse:
        """Effect of a retention contact on stored customers (``uplift-model@champion``), their
        value if retained and the expected incremental value; an unknown id is an error for that
        item only; 503 with the reason when there is no uplift champion."""
        champions = self._champions()
        try:
            model, version = self.uplift_model.get()
        except (UpliftError, BundleError, OSError) as exc:
            reason = str(exc) if isinstance(exc, UpliftError) else "unreadable"
            return error_response(503, f"no uplift model: {reason}")  # type: ignore[return-value]  # an error Response goes out as is
        stored = self._stored(customer_ids, champions)
        if isinstance(stored, JSONResponse):
            return stored  # type: ignore[return-value]  # an error Response goes out as is
        run, table = stored
        lacking = [f for f in model.feature_names if f not in table.columns]
        if lacking:
            return error_response(  # type: ignore[return-value]  # an error Response goes out as is
                409,
                f"the features stored as of {run.asof} lack {lacking[:5]} that the uplift model "
                f"(v{version}) needs; batch scoring must run again",
            )
        known = [c for c in dict.fromkeys(customer_ids) if c in table.index]
        rows = table.loc[known]
        effect: list[float] = model.predict(rows).tolist() if known else []
        value: list[float] = (
            score_frame(rows, champions, self.config.risk_bands)["predicted_value"].tolist()
            if known
            else []
        )
        scored = {
            c: UpliftScore(
                effect=float(e), value_if_retained=float(v), expected_incremental_value=float(e * v)
            )
            for c, e, v in zip(known, effect, value, strict=True)
        }
        unknown = f"unknown customer id (not scored as of {run.asof})"
        results = [
            UpliftItem(customer_id=c, uplift=scored[c])
            if c in scored
            else UpliftItem(customer_id=c, error=unknown)
            for c in customer_ids
        ]
        return UpliftResponse(
            asof=run.asof, uplift_model_version=version, results=results, **champions.versions
        )

    @bentoml.api(input_spec=ExplainRequest)
    def explain(
        self,
        records: list[CustomerRecord] | None = None,
        customer_ids: list[str] | None = None,
        lang: Lang = "en",
        top_k: int | None = None,
    ) -> ExplainResponse:
        """Top-k reasons (SHAP contributions of the churn model) with sentences in en or zh."""
        champions = self._champions()
        k = top_k or self.config.top_k
        if records is not None:
            rows = [r.model_dump() for r in records]
            frame = records_frame(rows, champions)
            out = self._explain(frame, [r.get("customer_id") for r in rows], champions, k, lang)
            return ExplainResponse(lang=lang, explanations=out, **champions.versions)
        ids = customer_ids or []
        stored = self._stored(ids, champions)
        if isinstance(stored, JSONResponse):
            # the annotation is bentoml's output schema; a starlette Response goes out as is
            return stored  # type: ignore[return-value]  # an error Response, see above
        run, table = stored
        known = [c for c in dict.fromkeys(ids) if c in table.index]
        found = self._explain(table.loc[known], known, champions, k, lang)
        by_id = dict(zip(known, found, strict=True))
        unknown = f"unknown customer id (not scored as of {run.asof})"
        out = [by_id.get(c) or Explanation(customer_id=c, error=unknown) for c in ids]
        return ExplainResponse(lang=lang, asof=run.asof, explanations=out, **champions.versions)

    def _explain(
        self,
        frame: pd.DataFrame,
        ids: Sequence[str | None],
        champions: Champions,
        k: int,
        lang: Lang,
    ) -> list[Explanation]:
        """Score and top-k reasons of every row of ``frame``, in row order."""
        if not len(frame):
            return []
        predictions = self._score(frame, ids, champions)
        reasons = explain_frame(frame, champions.churn, k, lang)
        return [
            Explanation(
                customer_id=pred.customer_id,
                churn_probability=pred.churn_probability,
                risk_band=pred.risk_band,
                reasons=[ReasonOut(**r.__dict__, direction=r.direction) for r in why],
            )
            for pred, why in zip(predictions, reasons, strict=True)
        ]

    @bentoml.api(input_spec=ReloadRequest)
    def reload(self) -> ModelStatus:
        """Re-read the champion alias from the registry now; swap models if it moved (503 when
        the registry cannot be read, 409 when the alias names a mismatched pair)."""
        result = self.models.refresh()
        if result.kind in ("registry", "load"):
            return error_response(503, f"reload failed: {result.problem}")  # type: ignore[return-value]  # an error Response goes out as is
        if result.kind == "mismatch":
            return error_response(409, f"reload refused: {result.problem}")  # type: ignore[return-value]  # an error Response goes out as is
        try:  # the service's other workers follow through the store
            generation = self.store.signal_reload(self._reload_key)
            self._watcher.seen(generation)
        except StoreUnavailable as exc:
            log.warning("reload not passed on to the other workers: %s", exc)
        return model_status(self.models)


# @bentoml.service made ChurnService a bentoml Service, which has add_asgi_middleware; mypy does
# not apply class decorators' return types (python/mypy#3135), so it still sees the plain class.
# The workspace's pages come first (the first middleware added is the outermost): they have their
# own sign-in, CSRF checks and error pages, and the guard's API key, JSON-only and error-body
# rules stay on the API.
install_route_metrics()  # request metrics labelled by route template, not by raw path
ChurnService.add_asgi_middleware(  # type: ignore[attr-defined]  # a Service method, see above
    WorkspaceGate, state=current_service
)
ChurnService.add_asgi_middleware(  # type: ignore[attr-defined]  # a Service method, see above
    RequestGuard, state=current_service
)
