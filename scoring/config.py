"""Typed configuration of the serving stage: the ``serving:`` section of a YAML file.

``churn serve`` passes the file to the BentoML process in the ``CHURN_SERVING_CONFIG``
environment variable; the service reads it once when it starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from core.config import Frozen, load_section
from core.errors import ChurnError
from core.paths import home, tracking_uri
from features.pipeline.lifecycle import LifecycleConfig
from features.pipeline.segments import RfmSegmentConfig

SECTION = "serving"
CONFIG_ENV = "CHURN_SERVING_CONFIG"
"""Environment variable naming the YAML file the service reads its ``serving:`` section from."""


MIN_API_KEY_LENGTH = 16


class ServingConfigError(ChurnError):
    """A serving configuration file cannot be read or breaks the schema (names the field)."""


class RiskBands(Frozen):
    """Churn-probability thresholds of the risk bands: ``high`` at or above ``high``, ``medium``
    at or above ``medium``, else ``low``."""

    high: float = Field(0.5, gt=0, le=1)
    medium: float = Field(0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> RiskBands:
        if self.medium >= self.high:
            raise ValueError(f"medium ({self.medium}) must be below high ({self.high})")
        return self


class ModelRefs(Frozen):
    """Which registered models the service answers with, and the alias that marks the champion."""

    churn: str = "churn-model"
    value: str = "value-model"
    alias: str = "champion"


class ActionRule(Frozen):
    """One rule of the recommended action: it applies when every condition it sets holds."""

    action: str
    lifecycle: tuple[str, ...] | None = None
    """Lifecycle statuses it applies to (``active``, ``lapsing``, ``lapsed``); None: any."""
    risk_band: tuple[str, ...] | None = None
    """Risk bands it applies to (``high``, ``medium``, ``low``); None: any."""
    open_complaint: bool | None = None
    """True: only customers with a complaint still open at the as-of date."""
    contract_ends_within_days: int | None = Field(None, ge=0)
    """Only customers whose contract ends within this many days after the as-of date."""
    worth_a_contact: bool | None = None
    """True: only customers a contact is expected to save more than it costs (``benefit`` > 0,
    the at-risk list's order); False: only the others."""


DEFAULT_ACTIONS = (
    ActionRule(action="win-back offer", lifecycle=("lapsed",)),
    ActionRule(action="service recovery: resolve the open complaint", open_complaint=True),
    ActionRule(action="renewal call before the contract ends", contract_ends_within_days=90),
    ActionRule(action="retention call", risk_band=("high",)),
    ActionRule(action="check-in contact", worth_a_contact=True),
    ActionRule(action="no contact: monitor"),
)
"""A contact where the list's order says one pays (its rows come first), a retention call for
the riskiest whatever their value; the others are monitored."""


class ListsConfig(Frozen):
    """The at-risk and win-back lists: lifecycle rules, reasons per row, recommended actions."""

    lifecycle: LifecycleConfig = LifecycleConfig()
    reasons: int = Field(3, ge=1, le=10)
    """Risk-raising reasons per row (``reason_1`` ..)."""
    actions: tuple[ActionRule, ...] = DEFAULT_ACTIONS
    """Ordered rules: a row gets the action of the first rule that applies (keep a last rule
    without conditions, or rows no rule covers get no action)."""
    rfm_segments: RfmSegmentConfig = RfmSegmentConfig()
    """Cut points of the eight RFM segments each listed customer carries (``rfm_segment``)."""
    benefit_effect: Literal["success_rate", "uplift"] = "success_rate"
    """How the at-risk list prices the benefit of a contact (its order): ``success_rate``, P(churn)
    x value x the campaign's success rate - cost; ``uplift``, the uplift champion's effect x value
    - cost (when there is an uplift champion). The success rate is the default: on generated
    books, the uplift model's per-customer effects ranked the first page below value at risk by
    the hidden truth (benchmarks/first_page.py)."""


class PredictionLogConfig(Frozen):
    """The API's prediction log (``api_predictions`` in the store): what ``/predict`` and
    ``/predict_by_id`` answered, kept for realized performance once the horizon has passed."""

    max_rows: int = Field(1_000_000, ge=0)
    """Most rows the table keeps (the oldest go first); 0 keeps no log (metrics still count)."""
    flush_s: float = Field(2.0, gt=0)
    """How often each worker writes its buffered predictions, in one bulk insert."""
    buffer_rows: int = Field(100_000, ge=1)
    """Most rows a worker holds while the store cannot be written; older ones are dropped (and
    counted in ``churn_prediction_log_dropped_rows_total``)."""


class SignInConfig(Frozen):
    """How the workspace's sign-in resists guessing: failed sign-ins are counted per account
    from one address, per address and per account; past a key's free failures each further one
    waits twice as long as the one before, then the key is locked out. A sign-in of a key that
    must wait answers 429 with ``Retry-After``; a successful one clears its account's counts."""

    free_failures: int = Field(5, ge=1)
    """Failures of one account from one address before the delays start."""
    address_free_failures: int = Field(20, ge=1)
    """Failures from one address over all accounts before its delays start."""
    account_free_failures: int = Field(50, ge=1)
    """Failures of one account over all addresses before its delays start (high, so guesses
    from one address cannot lock the account's owner out elsewhere)."""
    first_delay_s: float = Field(1.0, gt=0)
    """Wait after the first failure past the free ones; each further failure doubles it."""
    delays: int = Field(5, ge=0)
    """Doubling delays before the lockout (5: 1, 2, 4, 8, 16 s, then locked)."""
    lockout_s: float = Field(900.0, gt=0)
    """How long a key stays locked after its delays; each failure after that locks it again."""
    forget_s: float = Field(86_400.0, gt=0)
    """A key's failures are forgotten this long after its last one."""
    concurrent_checks: int = Field(1, ge=1, le=16)
    """Password checks (argon2, CPU-heavy) one worker runs at once, in threads off the event
    loop, so a flood of sign-ins leaves the API its CPU."""
    waiting_checks: int = Field(16, ge=0)
    """Sign-ins that may wait for a check; more are answered 429 at once."""


class ServingConfig(Frozen):
    """Everything the API and batch scoring need; safe defaults (loopback, bounded requests)."""

    host: str = "127.0.0.1"
    """Interface to bind; ``0.0.0.0`` exposes the API to the network."""
    port: int = Field(3000, ge=1, le=65535)
    tracking_uri: str | None = None
    """MLflow tracking and registry URI; default ``core.paths.tracking_uri()``."""
    models: ModelRefs = ModelRefs()
    store_url: str | None = None
    """SQLAlchemy URL of the feature and prediction store; default SQLite in the project home."""
    max_batch_size: int = Field(1000, ge=1, le=100_000)
    """Most records or customer ids one request may carry."""
    max_body_bytes: int = Field(8_000_000, ge=1024)
    """Largest request body accepted; larger ones get 413. The default holds ``max_batch_size``
    full records (about 3 KB each as JSON, every value at full precision)."""
    header_timeout_s: float = Field(30.0, gt=0, le=600)
    """A request's headers must arrive within this many seconds of its first byte (or of the
    connection), or it gets 408 and the connection is closed (:mod:`serving.header_deadline`)."""
    body_timeout_s: float = Field(30.0, gt=0, le=600)
    """A request body must arrive within this many seconds of its headers, or the request gets
    408 and its slot is freed: a slow sender cannot hold a worker's request slot."""
    keep_alive_timeout_s: int = Field(5, ge=1, le=600)
    """An idle keep-alive connection is closed after this many seconds (``bentoml serve
    --timeout-keep-alive``)."""
    risk_bands: RiskBands = RiskBands()
    top_k: int = Field(5, ge=1, le=50)
    """Reasons per customer that /explain returns unless the request asks for another number."""
    poll_interval_s: float = Field(30.0, ge=0)
    """How often the service checks the registry for a moved champion alias; 0 turns polling off
    (POST /reload still works)."""
    reload_check_s: float = Field(1.0, ge=0)
    """How often each worker looks in the store for a ``POST /reload`` another worker answered
    (then re-reads the alias itself); 0 turns it off (each worker then follows by polling)."""
    prediction_log: PredictionLogConfig = PredictionLogConfig()
    monitoring_check_s: float = Field(10.0, ge=0)
    """How often each worker looks for a new ``churn monitor`` result to export on ``/metrics``
    (``churn_monitor_*``); 0 turns it off."""
    lists: ListsConfig = ListsConfig()
    compiled_trees: bool = False
    """Batch scoring (``churn score``) runs each champion as compiled trees (treelite/tl2cgen),
    built once per model version under ``$CHURN_HOME/compiled`` and used only where they match
    LightGBM on the first batch's rows (:mod:`scoring.compiled`). Off by default: the compiled
    trees read float32 rows, and a value model on money features was seen 1.8e-2 off on rows the
    check did not hold. The API always uses LightGBM."""
    signin: SignInConfig = SignInConfig()
    """Sign-in throttling and password checks of the workspace (``/ui/login``)."""
    currency: str | None = Field(None, max_length=8, pattern=r"^[A-Za-z]{2,8}$")
    """ISO 4217 code of the book's money (e.g. ``CNY``, shown as ``¥``); None: amounts without a
    currency. Lists, workspace pages, the report and the campaign write amounts with it
    (:mod:`core.money`); CSV and JSON keep plain numbers."""
    at_risk_page_size: int = Field(100, ge=1)
    at_risk_max_page_size: int = Field(1000, ge=1)
    api_key_env: str = "CHURN_API_KEY"
    """Environment variable holding the API key (at least 16 characters); when it is set, every
    endpoint but the health probes requires it (header ``X-API-Key`` or ``Authorization:
    Bearer``). Empty or shorter keys stop the service at start."""

    @model_validator(mode="after")
    def _pages(self) -> ServingConfig:
        if self.at_risk_page_size > self.at_risk_max_page_size:
            raise ValueError("at_risk_page_size must not exceed at_risk_max_page_size")
        return self

    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or tracking_uri()

    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{home() / 'serving.db'}"


def api_key_problem(name: str, value: str | None) -> str | None:
    """Why the API key in environment variable ``name`` cannot be used (None: usable or unset)."""
    if value is None:
        return None
    if not value.strip():
        return (
            f"{name} is set but empty: unset it to serve without a key on loopback, or set a "
            f"key of at least {MIN_API_KEY_LENGTH} characters"
        )
    if len(value) < MIN_API_KEY_LENGTH:
        return (
            f"{name} holds a key of {len(value)} characters; use at least {MIN_API_KEY_LENGTH} "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    return None


def api_key_from_env(cfg: ServingConfig, env: Mapping[str, str]) -> str | None:
    """The API key the service requires (None: no key set); ServingConfigError for a key that
    is empty or too short, so a typo never turns authentication off silently."""
    value = env.get(cfg.api_key_env)
    problem = api_key_problem(cfg.api_key_env, value)
    if problem:
        raise ServingConfigError(problem)
    return value


def load_serving_config(path: str | Path | None = None) -> ServingConfig:
    """The ``serving:`` section of a YAML file (defaults when absent); other sections ignored."""
    return load_section(path, SECTION, ServingConfig, ServingConfigError)


def config_path_from_env() -> Path | None:
    """The config file the service process was started with (``CHURN_SERVING_CONFIG``), if any:
    the one place the service learns where its configuration is."""
    found = os.environ.get(CONFIG_ENV)
    return Path(found) if found else None


def serving_config_from_env() -> ServingConfig:
    """The ``serving:`` section of the file the service process was started with."""
    return load_serving_config(config_path_from_env())
