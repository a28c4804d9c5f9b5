"""Request and response models of the API (pydantic; BentoML turns them into OpenAPI).

A customer record is derived from the data contract: ``customer_id`` and the profile
categoricals (``segment``, ``region``, ``plan``) are text, every other field is a feature value,
a finite number or null. Which features a record must carry is the champion model's feature
list (``GET /models``); the service checks records against it before scoring.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    create_model,
    model_validator,
)

from features.contract import CUSTOMERS
from features.pipeline.profile import CATEGORICAL_FEATURES

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Band = Literal["low", "medium", "high"]
Lang = Literal["en", "zh"]

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
    risk_band: Band
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
    error: str
    detail: list[ErrorDetail] = []
