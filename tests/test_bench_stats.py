"""The benchmark's interval for a median: distribution-free, from the order statistics of the runs."""

import math

import pytest

from bench.common import median_interval


@pytest.mark.parametrize(
    ("n", "expected"),
    # Ranks from the binomial(n, 1/2) table: the widest interval holding the median with 95%.
    [(7, (1, 7)), (15, (4, 12)), (20, (6, 15)), (100, (40, 61))],
)
def test_the_interval_is_the_order_statistics_of_the_binomial_table(n, expected):
    values = [float(v) for v in range(n, 0, -1)]  # unsorted on purpose
    assert median_interval(values) == expected


def test_the_interval_holds_the_median_about_as_often_as_it_says():
    import random

    rng = random.Random(7)
    held = 0
    for _ in range(2000):
        draws = [rng.expovariate(1.0) for _ in range(15)]  # a skewed distribution, median ln 2
        low, high = median_interval(draws)
        held += low <= math.log(2) <= high
    assert 0.94 <= held / 2000 <= 0.99  # 0.965 in theory for 15 draws


def test_no_values_give_no_interval():
    low, high = median_interval([])
    assert math.isnan(low) and math.isnan(high)
