"""Likert statistics against published values and planted structure."""

import math

import numpy as np
import pandas as pd
import pytest

from jdeval.survey import cronbach_alpha, satisfaction_index, top2_rate, wilson_ci

SPEC_POINTS = (100, 80, 60, 40, 20)  # spec §3.8 mapping (the targets file's default)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        # Newcombe (1998), Stat. Med. 17:857, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_matches_newcombe_1998(k, n, lo, hi):
    got = wilson_ci(k, n)
    assert got[0] == pytest.approx(lo, abs=6e-5)
    assert got[1] == pytest.approx(hi, abs=6e-5)


def test_wilson_empty():
    assert all(math.isnan(x) for x in wilson_ci(0, 0))


def test_index_hand_computed():
    # 2×5, 1×4, 1×3, 1×1 → (200 + 80 + 60 + 20) / 5 = 72
    v = [5, 5, 4, 3, 1, None, 7]
    assert satisfaction_index(v, SPEC_POINTS) == pytest.approx(72.0)
    assert satisfaction_index(v, (100, 80, 60, 30, 0)) == pytest.approx(
        (200 + 80 + 60 + 0) / 5
    )
    assert top2_rate(v, 4) == pytest.approx(3 / 5)
    assert top2_rate(v, 5) == pytest.approx(2 / 5)
    assert math.isnan(satisfaction_index([], SPEC_POINTS))


def test_index_of_spec_probabilities():
    # spec §7.9: p = (45, 40, 12, 2, 1)% → 0.45·100+0.40·80+0.12·60+0.02·40+0.01·20
    v = [5] * 45 + [4] * 40 + [3] * 12 + [2] * 2 + [1]
    assert satisfaction_index(v, SPEC_POINTS) == pytest.approx(85.2)


def test_alpha_hand_computed():
    # items identical → alpha = 1; two items with var 1 each, cov 0 → alpha 0
    x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 2, 3, 4], "c": [1, 2, 3, 4]})
    assert cronbach_alpha(x) == pytest.approx(1.0)
    y = pd.DataFrame({"a": [1, 2, 1, 2], "b": [1, 1, 2, 2]})
    assert cronbach_alpha(y) == pytest.approx(0.0)
    assert math.isnan(cronbach_alpha(x[["a"]]))


def test_alpha_spearman_brown_planted():
    # k parallel items with inter-item correlation rho: alpha = k·rho/(1+(k−1)·rho)
    rng = np.random.default_rng(7)
    k, rho, n = 6, 0.4, 40_000
    common = rng.standard_normal(n)
    items = np.sqrt(rho) * common[:, None] + np.sqrt(1 - rho) * rng.standard_normal(
        (n, k)
    )
    want = k * rho / (1 + (k - 1) * rho)
    assert cronbach_alpha(pd.DataFrame(items)) == pytest.approx(want, abs=0.01)
