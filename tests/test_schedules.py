"""The data-driven step of ``eta0='auto'`` against its formula, computed directly in numpy."""

import numpy as np
import pytest
import scipy.sparse as sp

from sgdlogit._schedules import SINGLE_SAMPLE_STEP_FACTOR, batch_steps, estimate_steps


def problem(rng, sparse):
    X = rng.normal(size=(300, 12)) * rng.uniform(0.1, 3.0, size=12)
    if sparse:
        X = sp.csr_matrix(np.where(rng.uniform(size=X.shape) < 0.3, X, 0.0))
    return X, rng.uniform(0.5, 2.0, size=300)


def reference_moments(X, weights):
    """Mean squared row norm, intercept scale and second-moment matrix, with the intercept."""
    X = X.toarray() if sp.issparse(X) else X
    p = weights / weights.sum()
    sq_norms = np.einsum("ij,ij->i", X, X)
    intercept_scale = p @ sq_norms / (p @ np.count_nonzero(X, axis=1))
    Z = np.hstack([X, np.full((X.shape[0], 1), np.sqrt(intercept_scale))])
    return p @ sq_norms + intercept_scale, intercept_scale, (Z * p[:, None]).T @ Z


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, 300])
def test_auto_step_is_the_inverse_batch_curvature(rng, sparse, batch_size):
    X, weights = problem(rng, sparse)
    alpha = 0.01
    eta0, intercept_scale = estimate_steps(
        X, weights, np.arange(300), batch_size, True, np.random.RandomState(0), alpha
    )
    mean_sq_norm, expected_scale, moments = reference_moments(X, weights)
    top = np.linalg.eigvalsh(moments)[-1]
    curvature = 0.25 * (top + (mean_sq_norm - top) / batch_size) + alpha
    factor = SINGLE_SAMPLE_STEP_FACTOR if batch_size == 1 else 1.0
    assert intercept_scale == pytest.approx(expected_scale, rel=1e-12)
    if batch_size == 1:  # needs no eigenvalue: exact
        assert eta0 == pytest.approx(factor / curvature, rel=1e-12)
    else:  # the power iteration approaches the eigenvalue from below and stops early
        assert factor / curvature <= eta0 <= 1.05 * factor / curvature


def test_auto_schedule_is_constant_then_one_over_alpha_t():
    steps = batch_steps("auto", 0.5, 1e-3, 0.5, 4, 10, 5)
    t = np.arange(10, 15)
    np.testing.assert_allclose(steps, 0.5 / (1 + 1e-3 * 0.5 * t), rtol=1e-15)
