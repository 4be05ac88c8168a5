"""Length quantiles and bins computed on the driver from value counts, against numpy on the
values themselves."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spark_udfs._analyze._rows import CHAR_EDGES, QUANTILES, _bin, _quantiles


@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=400))
def test_quantiles_from_counts_equal_numpy_inverted_cdf(values: list[int]) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    expected = [int(np.quantile(values, q, method="inverted_cdf")) for q in QUANTILES]
    assert _quantiles(counts, QUANTILES) == expected


def test_no_values_no_quantiles() -> None:
    assert _quantiles({}, QUANTILES) is None


@given(st.integers(min_value=0, max_value=20000))
def test_driver_bins_match_the_spark_bucket_rule(x: int) -> None:
    # bucket(): the number of inner edges <= x; the last bin takes everything above
    inner = CHAR_EDGES[1:-1]
    assert _bin(x, CHAR_EDGES) == sum(x >= e for e in inner)
