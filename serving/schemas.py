"""Request and response models of the API (pydantic; BentoML turns them into OpenAPI).

A customer record is derived from the data contract: ``customer_id`` and the profile
categoricals (``segment``, ``region``, ``plan``) are text, every other field is a feature value,
a finite number or null. Which features a record must carry is the champion model's feature
list (``GET /models``); the service checks records against it before scoring.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    create_model,
    model_validator,
)

from core.lang import Lang
from features.contract import CUSTOMERS
from features.pipeline.profile import CATEGORICAL_FEATURES
from features.pipeline.segments import RfmSegment

PRODUCT = "Churn prediction API"
MAX_OFFSET = 2**31 - 1
"""Largest ``offset`` of a list page (beyond it: 400 naming the field)."""
MAX_PAGE = 100_000
"""Hard ceiling of ``limit``; the configuration's ``at_risk_max_page_size`` is the real one."""
PERIOD_PATTERN = r"^(19|20|21)\d{2}(-(0[1-9]|1[0-2])|-[Qq][1-4])?$"
"""A scorecard period: ``YYYY``, ``YYYY-MM`` or ``YYYY-Qn``."""

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Band = Literal["low", "medium", "high"]

RECORD_EXAMPLE: dict[str, Any] = {
    "customer_id": "C0000042",
    "segment": "smb",
    "region": "north",
    "plan": "standard",
    "recency_days": 41.0,
    "tenure_days": 913.0,
    "txn_count_90d": 2.0,
    "revenue_90d": 1830.5,
    "complaint_count_90d": 1.0,
}
"""Abbreviated: a real record carries one field per feature of the champion (``GET /models``)."""


class _RecordBase(BaseModel):
    """One customer's feature values, as the churn and value models read them."""

    model_config = ConfigDict(
        extra="allow",
        allow_inf_nan=False,
        json_schema_extra={"example": RECORD_EXAMPLE},
    )
    __pydantic_extra__: dict[str, Annotated[float, Strict()] | None] = Field(init=False)

    customer_id: CustomerId | None = Field(None, description="Echoed back; not a feature.")


# mypy checks a **dict of field definitions against every keyword of create_model (__base__,
# __doc__, ...), so no overload matches; CustomerRecord is then Any to mypy, a dynamic model.
CustomerRecord = create_model(  # type: ignore[call-overload]  # fields from a **dict (see above)
    "CustomerRecord",
    __base__=_RecordBase,
    __doc__=_RecordBase.__doc__,
    **{
        name: (
            Annotated[str, Strict()] | None,
            Field(None, description=CUSTOMERS.column(name).description),
        )
        for name in CATEGORICAL_FEATURES
    },
)


class _Request(BaseModel):
    """A request body: fields the endpoint does not know are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Request):
    """Feature records to score (at most ``max_batch_size`` per request)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"records": [RECORD_EXAMPLE]}}
    )
    records: list[CustomerRecord] = Field(min_length=1)


class PredictByIdRequest(_Request):
    """Ids of customers whose features batch scoring materialised."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"customer_ids": ["C0000005", "C0000025"]}}
    )
    customer_ids: list[CustomerId] = Field(min_length=1)


class ReloadRequest(_Request):
    """No fields: the service re-reads its configured registry and alias, nothing else."""


class Versions(BaseModel):
    """The registry versions of the models that answered."""

    churn_model_version: str
    value_model_version: str


class Prediction(Versions):
    """Scores of one customer; expected value at risk = churn probability x predicted value."""

    customer_id: str | None
    churn_probability: float = Field(description="Calibrated P(churn) over the model's horizon.")
    predicted_value: float = Field(description="Expected customer value over the horizon.")
    expected_value_at_risk: float
    risk_band: Band


class PredictByIdItem(BaseModel):
    """The prediction of one requested id, or why there is none (an error for this item only)."""

    customer_id: str
    prediction: Prediction | None = None
    error: str | None = None


class PredictByIdResponse(BaseModel):
    asof: str = Field(description="As-of date of the materialised features that were scored.")
    results: list[PredictByIdItem]


class UpliftRequest(_Request):
    """Ids of stored customers whose effect of a retention contact is wanted."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"customer_ids": ["C0000005", "C0000025"]}}
    )
    customer_ids: list[CustomerId] = Field(min_length=1)


class UpliftScore(BaseModel):
    """The effect of a retention contact on one customer, and what it is worth."""

    effect: float = Field(
        description="Reduction of P(churn within the horizon) if contacted (negative: a contact "
        "drives the customer away)."
    )
    value_if_retained: float = Field(description="Predicted customer value over the horizon.")
    expected_incremental_value: float = Field(description="effect x value_if_retained.")


class UpliftItem(BaseModel):
    """The uplift of one requested id, or why there is none (an error for this item only)."""

    customer_id: str
    uplift: UpliftScore | None = None
    error: str | None = None


class UpliftResponse(Versions):
    asof: str = Field(description="As-of date of the materialised features that were scored.")
    uplift_model_version: str
    results: list[UpliftItem]


class ExplainRequest(_Request):
    """Records or stored customer ids (exactly one of the two), the language and how many reasons."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"customer_ids": ["C0000005"], "lang": "zh", "top_k": 3}},
    )

    records: list[CustomerRecord] | None = Field(None, min_length=1)
    customer_ids: list[CustomerId] | None = Field(None, min_length=1)
    lang: Lang = "en"
    top_k: int | None = Field(None, ge=1, le=50, description="Default: the service's top_k.")

    @model_validator(mode="after")
    def _one_source(self) -> ExplainRequest:
        if (self.records is None) == (self.customer_ids is None):
            raise ValueError("give exactly one of 'records' or 'customer_ids'")
        return self


class ReasonOut(BaseModel):
    """One feature's part in the churn score (TreeSHAP, log-odds; positive raises the risk)."""

    feature: str
    value: float | str | None
    contribution: float
    direction: Literal["raises", "lowers"]
    sentence: str


class Explanation(BaseModel):
    customer_id: str | None
    churn_probability: float | None = None
    risk_band: Band | None = None
    reasons: list[ReasonOut] = []
    error: str | None = None


class ExplainResponse(Versions):
    lang: Lang
    asof: str | None = Field(None, description="As-of date of stored features (ids only).")
    explanations: list[Explanation]


class ModelInfo(BaseModel):
    name: str
    version: str | None


class ModelStatus(BaseModel):
    """What the service answers with now, and why it cannot when it is not ready."""

    ready: bool
    problem: str | None
    alias: str
    churn_model: ModelInfo
    value_model: ModelInfo
    feature_names: list[str] = []
    categories: dict[str, list[str]] = {}
    example_records: dict[str, dict[str, float | str | None]] = Field(
        {},
        description="Per model, a record of its features (GET /models only): a customer of the "
        "latest batch scoring, else made-up values; /predict takes the features of both.",
    )


class CustomerScores(BaseModel):
    """The scores batch scoring stored for one customer, with the list fields."""

    churn_probability: float
    predicted_value: float
    expected_value_at_risk: float
    risk_band: Band
    churn_model_version: str
    value_model_version: str
    account_manager_id: str | None
    segment: str | None
    plan: str | None
    lifecycle_status: Literal["active", "lapsing", "lapsed"] | None
    last_purchase_date: str | None
    days_since_last_purchase: float | None
    contract_end_date: str | None
    reasons: list[str] = Field(description="Risk-raising reasons, largest first.")
    recommended_action: str | None
    rfm_segment: RfmSegment | None = None
    rfm_score: float | None = None


class CustomerResponse(BaseModel):
    """One customer as the latest batch scoring (or ``asof``) saw them: the features exactly as
    scored (a ready /predict record with ``customer_id``) and the stored scores."""

    customer_id: str
    asof: str
    features: dict[str, float | str | None]
    scores: CustomerScores


class ListItem(BaseModel):
    """One row of the at-risk or win-back list; the score columns are named after the label
    horizon (``churn_probability_90d``, ``value_if_retained_90d``,
    ``expected_value_at_risk_90d``) and ``reason_1`` .. ``reason_k`` follow the configuration."""

    model_config = ConfigDict(extra="allow")

    rank: int
    asof: str
    customer_id: str
    account_manager_id: str | None
    segment: str | None
    plan: str | None
    lifecycle_status: Literal["active", "lapsing", "lapsed"] | None
    last_purchase_date: str | None
    days_since_last_purchase: int | None
    contract_end_date: str | None
    benefit: float | None = Field(
        None,
        description="Expected value a contact saves net of its cost (the at-risk list's order): "
        "uplift x value if retained - cost with an uplift model, else P(churn) x value x success "
        "rate - cost; null for rows scored before it existed.",
    )
    risk_band: Band
    rfm_segment: RfmSegment | None = Field(
        None, description="RFM segment (important_value .. general_retain); null if not scored."
    )
    rfm_score: float | None = Field(None, description="Weighted RFM score, 1 to 5.")
    why_listed: str = Field("", description="One line on why the customer is on the list.")
    recommended_action: str | None
    churn_model_version: str
    value_model_version: str


class ListResponse(BaseModel):
    asof: str
    total: int
    offset: int
    limit: int
    items: list[ListItem]


class ErrorDetail(BaseModel):
    """Where a request went wrong (``loc``: path of the field) and why (``msg``)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every refusal and every server-side failure (503) answers with this body."""

    error: str = Field(description="What went wrong, for a person to read.")
    detail: list[ErrorDetail] = Field(description="One entry per problem; may be empty.")
    request_id: str = Field(description="Also in the X-Request-ID header and the server log.")


JSON = "application/json"
ERROR_TEXT = {
    400: "Bad request: the detail names each field and why (also a bad query parameter).",
    401: "Missing or wrong API key (header X-API-Key or Authorization: Bearer).",
    404: "Nothing stored for what was asked (an as-of date or period never scored).",
    405: "Method not allowed.",
    409: "The stored features or the champion alias do not fit the champion models.",
    413: "Request body larger than max_body_bytes.",
    415: "Content type other than application/json.",
    422: "The data cannot answer the period (no data for it, or its folder is gone).",
    503: "Server-side trouble, with the reason: no champion, store or registry unreadable.",
}
ENDPOINT_ERRORS = {
    ("/predict", "post"): (400, 401, 413, 415, 503),
    ("/predict_by_id", "post"): (400, 401, 404, 409, 413, 415, 503),
    ("/uplift", "post"): (400, 401, 404, 409, 413, 415, 503),
    ("/explain", "post"): (400, 401, 404, 409, 413, 415, 503),
    ("/reload", "post"): (400, 401, 409, 413, 415, 503),
    ("/at_risk", "get"): (400, 401, 404, 503),
    ("/win_back", "get"): (400, 401, 404, 503),
    ("/scorecards", "get"): (400, 401, 404, 422, 503),
    ("/models", "get"): (401, 503),
    ("/customers/{customer_id}", "get"): (400, 401, 404, 503),
    ("/metrics", "get"): (401, 503),
    ("/readyz", "get"): (503,),
    ("/livez", "get"): (503,),
    ("/healthz", "get"): (503,),
}
HEALTH = ("/readyz", "/livez", "/healthz")
REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "Id of this request; error bodies and the server log carry it too.",
        "schema": {"type": "string"},
        "required": True,
    }
}
_NULL = {"type": "null"}
ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorDetail": {
        "type": "object",
        "description": ErrorDetail.__doc__,
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "ErrorBody": {
        "type": "object",
        "description": ErrorBody.__doc__,
        "required": ["error", "detail", "request_id"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}},
            "request_id": {"type": "string"},
        },
    },
    "Ready": {
        "type": "object",
        "description": "Champions loaded and the store readable; warnings name a refused move.",
        "required": ["status", "warnings", "request_id"],
        "properties": {
            "status": {"type": "string", "enum": ["ready"]},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "request_id": {"type": "string"},
        },
    },
}


def record_schema(champions: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of one record for the loaded champions (every feature required, numbers
    or null, category levels as enums) and an example record that the service accepts."""
    props: dict[str, Any] = {
        "customer_id": {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 200}, _NULL]}
    }
    example: dict[str, Any] = {"customer_id": "C0000042"}
    for name in champions.feature_names:
        levels = sorted(champions.categories.get(name, ()))
        if name in champions.categories:
            props[name] = {"anyOf": [{"type": "string", "enum": levels}, _NULL]}
            example[name] = levels[0] if levels else None
        else:
            props[name] = {"anyOf": [{"type": "number"}, _NULL]}
            example[name] = 1.0
    schema = {
        "type": "object",
        "title": "CustomerRecord",
        "description": "One field per feature of the champion models (GET /models lists them).",
        "properties": props,
        "required": list(champions.feature_names),
        "additionalProperties": False,
        "example": example,
    }
    return schema, example


def _responses(op: dict[str, Any], codes: tuple[int, ...]) -> None:
    """The operation's error responses, all with the one error body; ids on every response."""
    kept = {str(k): v for k, v in op.get("responses", {}).items() if str(k).startswith("2")}
    for code in codes:
        kept[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    for response in kept.values():
        response["headers"] = REQUEST_ID_HEADER
    op["responses"] = kept


API_MODELS: dict[str, tuple[Any, Any]] = {}
"""Per POST endpoint: the request model and the 200 response type (filled below the models)."""


def _json_schema(kind: Any, mode: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's schema of ``kind`` with its definitions moved into the components."""
    out = TypeAdapter(kind).json_schema(
        ref_template="#/components/schemas/{model}",
        mode=mode,  # type: ignore[arg-type]  # "validation" or "serialization"
    )
    schemas.update(out.pop("$defs", {}))
    return out


def _nullable(node: Any) -> Any:
    """``anyOf: [{type: T, ...}, {type: null}]`` as ``{type: [T, null], ...}`` everywhere (one
    schema that generators and validators read alike)."""
    if isinstance(node, list):
        return [_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and _NULL in options:
        other = next(o for o in options if o != _NULL)
        if isinstance(other.get("type"), str) and "$ref" not in other:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return {**other, **rest, "type": [other["type"], "null"]}
    return node


def contract(
    spec: dict[str, Any],
    champions: Any,
    limits: tuple[int, int],
    version: str,
    auth: bool,
) -> dict[str, Any]:
    """BentoML's OpenAPI document made to match the service: product and version, the error
    responses each endpoint really gives (one error body), the record schema of the loaded
    champions, ``limits`` (max_batch_size, at_risk_max_page_size), examples the service accepts,
    and the API key when one is set."""
    max_batch_size, max_page = limits
    doc = json.loads(json.dumps(spec))  # a deep copy
    doc["openapi"] = "3.1.0"  # the schemas use JSON Schema 2020-12 (``type: null``)
    doc["info"] = {
        "title": PRODUCT,
        "version": version,
        "description": (
            "Churn and value predictions, explanations, at-risk and win-back lists and KPI "
            "scorecards. Every refusal is the ErrorBody; server-side trouble is 503."
        ),
    }
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("InvalidArgument", "NotFound", "InternalServerError", "HTTPValidationError"):
        schemas.pop(unused, None)
    schemas.pop("ValidationError", None)
    schemas.update(ERROR_SCHEMAS)
    for path, (request, response) in API_MODELS.items():
        op = doc.get("paths", {}).get(path, {}).get("post")
        if op is not None:
            op["requestBody"] = {
                "required": path != "/reload",
                "content": {JSON: {"schema": _json_schema(request, "validation", schemas)}},
            }
            op["responses"]["200"]["content"] = {
                JSON: {"schema": _json_schema(response, "serialization", schemas)}
            }
    for name in list(schemas):
        if name.endswith("IODescriptor"):
            del schemas[name]
    limit = {"minItems": 1, "maxItems": max_batch_size}
    example: dict[str, Any] | None = None
    if champions is not None:
        schemas["CustomerRecord"], example = record_schema(champions)
    paths = doc.get("paths", {})
    for (path, method), codes in ENDPOINT_ERRORS.items():
        op = paths.get(path, {}).get(method)
        if op is None:
            continue
        _responses(op, codes)
        if auth and path not in HEALTH:
            op["security"] = [{"ApiKey": []}, {"Bearer": []}]
        body = op.get("requestBody", {}).get("content", {}).get(JSON)
        if body is not None:
            body["schema"].pop("example", None)
            props = body["schema"].get("properties", {})
            for field in ("records", "customer_ids"):
                if field in props:
                    arrays = props[field].get("anyOf", [props[field]])
                    for a in arrays:
                        if a.get("type") == "array":
                            a.update(limit)
    if auth:
        schemas_sec = doc["components"].setdefault("securitySchemes", {})
        schemas_sec["ApiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        schemas_sec["Bearer"] = {"type": "http", "scheme": "bearer"}
    _bodies(paths, example)
    ready = paths.get("/readyz", {}).get("get")
    if ready is not None:
        ready["responses"]["200"]["content"] = {
            JSON: {"schema": {"$ref": "#/components/schemas/Ready"}}
        }
    for path in ("/at_risk", "/win_back", "/scorecards"):
        op = paths.get(path, {}).get("get")
        if op is not None:
            op["responses"]["200"].setdefault("content", {})["text/csv"] = {
                "schema": {"type": "string"}
            }
    metrics = paths.get("/metrics", {}).get("get")
    if metrics is not None:
        metrics["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    for path in ("/at_risk", "/win_back"):
        for param in paths.get(path, {}).get("get", {}).get("parameters", []):
            if param.get("name") == "limit":
                param["schema"] = _nullable(param["schema"])
                param["schema"]["maximum"] = max_page
    doc["components"]["schemas"] = _nullable(schemas)
    doc["paths"] = _nullable(paths)
    return doc


def _bodies(paths: dict[str, Any], example: dict[str, Any] | None) -> None:
    """Examples the service accepts, and /explain's "exactly one of records or customer_ids"."""
    examples: dict[str, Any] = {
        "/predict_by_id": {"customer_ids": ["C0000005", "C0000025"]},
        "/uplift": {"customer_ids": ["C0000005", "C0000025"]},
        "/explain": {"customer_ids": ["C0000005"], "lang": "zh", "top_k": 3},
        "/reload": {},
    }
    if example is not None:
        examples["/predict"] = {"records": [example]}
    for path, value in examples.items():
        body = paths.get(path, {}).get("post", {}).get("requestBody", {}).get("content", {})
        if JSON in body:
            body[JSON]["example"] = value
    explain = paths.get("/explain", {}).get("post", {}).get("requestBody", {}).get("content", {})
    if JSON in explain:
        explain[JSON]["schema"]["oneOf"] = [
            {"required": [f], "properties": {f: {"type": "array"}}}
            for f in ("records", "customer_ids")
        ]


API_MODELS.update(
    {
        "/predict": (PredictRequest, list[Prediction]),
        "/predict_by_id": (PredictByIdRequest, PredictByIdResponse),
        "/uplift": (UpliftRequest, UpliftResponse),
        "/explain": (ExplainRequest, ExplainResponse),
        "/reload": (ReloadRequest, ModelStatus),
    }
)
