"""One key for the contact cost in both campaign sections; the old spelling still works, with a
warning; one saved-value rule for the model metric and the campaign list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.economics import CampaignEconomics, SegmentedEconomics, saved_value
from kpi.campaign import expected_saved_value
from kpi.config import KpiError, kpi_config_from_dict
from training.config import TrainingConfig


def test_one_cost_key_in_both_sections() -> None:
    assert CampaignEconomics(cost_per_contact=7).cost_per_contact == 7
    kpi = kpi_config_from_dict({"campaign": {"cost_per_contact": {"default": 7}}})
    assert kpi.campaign.cost_per_contact.default == 7
    training = TrainingConfig.model_validate({"campaign": {"cost_per_contact": 7}})
    assert training.campaign.cost_per_contact == 7


@pytest.mark.parametrize("model", [CampaignEconomics, SegmentedEconomics])
def test_the_old_key_is_read_with_a_warning(model: type) -> None:
    with pytest.warns(FutureWarning, match="'contact_cost' is deprecated"):
        econ = model.model_validate({"contact_cost": 9, "success_rate": 0.5})
    assert econ == model.model_validate({"cost_per_contact": 9, "success_rate": 0.5})


def test_both_keys_at_once_is_an_error() -> None:
    with pytest.raises(KpiError, match="give cost_per_contact only"):
        kpi_config_from_dict({"campaign": {"cost_per_contact": 1, "contact_cost": 2}})


def test_the_list_and_the_metric_follow_one_rule() -> None:
    assert saved_value(1000.0, 0.25, 25.0) == 225.0
    frame = {
        "customer_id": ["a", "b"],
        "account_manager_id": ["m", "m"],
        "churn_probability": [0.5, 0.1],
        "predicted_value": [2000.0, 100.0],
    }
    got = expected_saved_value(pd.DataFrame(frame), 25.0, 0.25)["expected_saved_value"]
    assert np.allclose(got, [0.5 * 2000 * 0.25 - 25, 0.1 * 100 * 0.25 - 25])
