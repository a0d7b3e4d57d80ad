"""decide/p_value against scipy.stats.binomtest on a grid of counts."""

import numpy as np
import pytest
import scipy.stats

from rstheory.predict import decide, p_value


def test_p_value_matches_scipy():
    a, b = np.meshgrid(np.arange(0, 60), np.arange(0, 60), indexing="ij")
    keep = a >= b
    a, b = a[keep], b[keep]
    got = np.asarray(p_value(a, b))
    want = np.array(
        [
            1.0 if x + y == 0 else scipy.stats.binomtest(x, x + y, 0.5).pvalue
            for x, y in zip(a, b, strict=True)
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)
    for alpha in (0.001, 0.01, 0.05):
        ab = np.asarray(decide(a, b, alpha=alpha).abstain)
        assert np.array_equal(ab, want > alpha)


def test_validation():
    with pytest.raises(ValueError, match="n_a"):
        decide(1, 2)
    with pytest.raises(ValueError, match="alpha"):
        decide(2, 1, alpha=2.0)
