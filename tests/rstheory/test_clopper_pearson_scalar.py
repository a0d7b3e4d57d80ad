"""The JAX-free scalar Clopper-Pearson path of ``rstheory bound`` equals the JAX path."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rstheory
from rstheory._clopper_pearson_scalar import MAX_N, cp_lower_scalar, cp_upper_scalar
from tests.tolerances import RTOL_CP_SCALAR_VS_JAX


@st.composite
def _cases(draw):
    exponent = draw(st.floats(min_value=0.0, max_value=np.log10(MAX_N)))
    n = max(1, round(10**exponent))
    k = draw(st.one_of(st.integers(0, n), st.integers(0, min(n, 30)), st.just(n)))
    alpha = 10 ** draw(st.floats(min_value=-15.0, max_value=np.log10(0.5)))
    return k, n, alpha


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_scalar_path_equals_the_jax_path(case):
    k, n, alpha = case
    np.testing.assert_allclose(
        cp_lower_scalar(k, n, alpha=alpha),
        float(rstheory.cp_lower(k, n, alpha=alpha)),
        rtol=RTOL_CP_SCALAR_VS_JAX,
        atol=0,
    )
    np.testing.assert_allclose(
        cp_upper_scalar(k, n, alpha=alpha),
        float(rstheory.cp_upper(k, n, alpha=alpha)),
        rtol=RTOL_CP_SCALAR_VS_JAX,
        atol=0,
    )


def test_ends_are_the_closed_forms():
    assert cp_lower_scalar(0, 7, alpha=0.01) == 0.0
    assert cp_upper_scalar(7, 7, alpha=0.01) == 1.0
    np.testing.assert_allclose(cp_lower_scalar(7, 7, alpha=0.01), 0.01 ** (1 / 7), rtol=1e-15)
    np.testing.assert_allclose(cp_upper_scalar(0, 7, alpha=0.01), 1 - 0.01 ** (1 / 7), rtol=1e-14)


@pytest.mark.parametrize(
    ("k", "n", "alpha"), [(5, 4, 0.1), (1, 0, 0.1), (1, MAX_N + 1, 0.1), (1, 2, 0.0), (1, 2, 1.0)]
)
def test_refuses_arguments_outside_its_range(k, n, alpha):
    with pytest.raises(ValueError, match="must"):
        cp_lower_scalar(k, n, alpha=alpha)
