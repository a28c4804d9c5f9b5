"""Arrow lookups agree with pandas' own, missing values included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.arrow import is_in


def test_is_in_answers_as_pandas_isin_with_missing_values_never_found():
    values = pd.Series(["c1", None, "c3", "c2", "c1"], dtype="str")
    allowed = pd.Index(["c1", "c2", "c9"], dtype="str")
    found = is_in(values, allowed)
    assert found.dtype == bool
    assert found.tolist() == [True, False, False, True, True]
    assert np.array_equal(found, values.isin(allowed).to_numpy())
    assert is_in(values, ["c3"]).tolist() == [False, False, True, False, False]
    assert not is_in(values, pd.Series([], dtype="str")).any()
