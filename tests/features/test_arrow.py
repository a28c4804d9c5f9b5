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


def test_clean_text_is_text_trimming_and_lower_casing_would_not_change():
    """Checked against Python's own strip and lower on random text, in every Arrow layout the
    loader meets: string and large_string, chunked, sliced, with nulls."""
    import pyarrow as pa

    from features.arrow import is_clean_text

    rng = np.random.default_rng(3)
    alphabet = ["a", "b", "Z", " ", "\t", "\x1f", "é", "\u3000", "1", "-"]
    for _ in range(300):
        cells = [
            None
            if rng.random() < 0.1
            else "".join(rng.choice(alphabet, int(rng.integers(0, 4))).tolist())
            for _ in range(int(rng.integers(1, 8)))
        ]
        for lower in (False, True):
            want = all(
                c is None
                or (c != "" and c.isascii() and c.strip() == c and (not lower or c.lower() == c))
                for c in cells
            )
            for kind in (pa.string(), pa.large_string()):
                arr = pa.array(["x", *cells], type=kind)
                assert is_clean_text(arr.slice(1), lower) == want, (cells, lower)
                half = len(cells) // 2
                chunked = pa.chunked_array([cells[:half], cells[half:]], type=kind)
                assert is_clean_text(chunked, lower) == want, (cells, lower)
    assert not is_clean_text(pa.array([1, 2]))
