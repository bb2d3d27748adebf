"""The data-driven step of ``eta0='auto'`` against its formula, computed directly in numpy."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier
from sgdlogit._kernels import INTERCEPT_SCALE
from sgdlogit._schedules import SINGLE_SAMPLE_STEP_FACTOR, batch_steps, estimate_steps


def problem(rng, sparse):
    X = rng.normal(size=(300, 12)) * rng.uniform(0.1, 3.0, size=12)
    if sparse:
        X = sp.csr_matrix(np.where(rng.uniform(size=X.shape) < 0.3, X, 0.0))
    return X, rng.uniform(0.5, 2.0, size=300)


def reference_moments(X, weights):
    """Per-row curvatures, intercept scale and second-moment matrix, with the intercept.

    A row's curvature is ``c_i = w_i / mean(w) * |z_i|^2``, with ``z_i`` the row and its
    intercept column. The per-row part of a batch's curvature is the mean of ``c_i`` over
    rows drawn with probability ``w_i / sum(w)``; that of one-sample steps is the mean of
    ``c_i^2`` over the mean of ``c_i``.
    """
    X = X.toarray() if sp.issparse(X) else X
    p = weights / weights.sum()
    sq_norms = np.einsum("ij,ij->i", X, X)
    intercept_scale = p @ sq_norms / (p @ np.count_nonzero(X, axis=1))
    Z = np.hstack([X, np.full((X.shape[0], 1), np.sqrt(intercept_scale))])
    curvatures = (weights / weights.mean()) * (sq_norms + intercept_scale)
    per_row = p @ curvatures
    return per_row, p @ curvatures**2 / per_row, intercept_scale, (Z * p[:, None]).T @ Z


def expected_step(X, weights, batch_size, alpha=0.0):
    """The step of ``eta0='auto'`` from the exact moments of all the rows."""
    per_row, one_sample, _, moments = reference_moments(X, weights)
    if batch_size == 1:
        return SINGLE_SAMPLE_STEP_FACTOR / (0.25 * one_sample + alpha)
    top = np.linalg.eigvalsh(moments)[-1]
    return 1.0 / (0.25 * (top + (per_row - top) / batch_size) + alpha)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, 300])
def test_auto_step_is_the_inverse_batch_curvature(rng, sparse, batch_size):
    X, weights = problem(rng, sparse)
    alpha = 0.01
    eta0, intercept_scale, _ = estimate_steps(
        X, weights, np.arange(300), batch_size, True, np.random.RandomState(0), alpha
    )
    _, _, expected_scale, _ = reference_moments(X, weights)
    expected = expected_step(X, weights, batch_size, alpha)
    # the unpenalized intercept's scale has the L2 part of the curvature added back
    curvature = (SINGLE_SAMPLE_STEP_FACTOR if batch_size == 1 else 1.0) / eta0 - alpha
    assert intercept_scale == pytest.approx(expected_scale * (1 + alpha / curvature), rel=1e-12)
    if batch_size == 1:  # needs no eigenvalue: exact
        assert eta0 == pytest.approx(expected, rel=1e-12)
    else:  # the power iteration approaches the eigenvalue from below and stops early
        assert expected <= eta0 <= 1.05 * expected


def test_power_iteration_stops_once_the_batch_curvature_settles(monkeypatch):
    # wide rows: the rows' own norms dominate the curvature of small batches, and the top
    # eigenvalue, which converges slowly there, is needed to fewer digits (5,000 x 5,000
    # standardized rows: 13 instead of 30 iterations, half of the estimate's time)
    from sgdlogit import _schedules

    iterations = []
    top = _schedules._top_eigenvalue

    def counting(*args):
        eigenvalue, n = top(*args)
        iterations.append(n)
        return eigenvalue, n

    monkeypatch.setattr(_schedules, "_top_eigenvalue", counting)
    X = np.random.default_rng(0).standard_normal((400, 1500))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    weights = np.ones(400)
    for batch_size in (2, 8):
        iterations.clear()
        eta0, *_ = estimate_steps(
            X, weights, np.arange(400), batch_size, True, np.random.RandomState(0)
        )
        assert len(iterations) == 1
        assert 1 < iterations[0] < _schedules._POWER_ITERATIONS
        expected = expected_step(X, weights, batch_size)
        assert expected <= eta0 <= 1.002 * expected


def test_auto_step_of_skewed_weights_follows_the_heavy_rows():
    # equal weights: the mean squared norm; one row of weight 100 among 99 of weight 1
    # (class_weight='balanced' on a rare class) makes batches with it far more curved,
    # and the step is that much smaller (a step sized for the mean diverged)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5))
    X[0] *= np.sqrt(5.0 / (X[0] @ X[0]))  # the heavy row is a typical one: |x|^2 = 5
    equal = np.ones(100)
    skewed = np.r_[100.0, np.ones(99)]
    rows = np.arange(100)
    for batch_size in (1, 10):
        eta_equal, *_ = estimate_steps(X, equal, rows, batch_size, True, np.random.RandomState(0))
        eta_skewed, *_ = estimate_steps(
            X, skewed, rows, batch_size, True, np.random.RandomState(0)
        )
        per_row = reference_moments(X, skewed)[0]
        assert per_row > 20 * reference_moments(X, equal)[0]
        assert eta_skewed < eta_equal / 4


@pytest.mark.parametrize("batch_size", [1, 16])
def test_auto_step_draws_its_rows_in_proportion_to_their_weights(batch_size):
    # 20 rows weighted 500 times the others among 20,000 (class_weight='balanced' on a
    # rare class) are half the curvature. A uniform draw of 2,000 rows holds two of them
    # on average and none for some seeds: steps from 0.4 to 170 times the right one
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 5))
    weights = np.ones(20_000)
    weights[rng.choice(20_000, 20, replace=False)] = 500.0
    expected = expected_step(X, weights, batch_size)
    for seed in range(10):
        eta, *_ = estimate_steps(
            X, weights, np.arange(20_000), batch_size, True, np.random.RandomState(seed)
        )
        assert 0.85 * expected < eta < 1.2 * expected


def test_one_sample_steps_meet_the_curvature_of_the_heavy_rows():
    # one-sample steps are sized for the row curvature weighted by itself: the mean on
    # rows of equal norm and weight; near the heavy rows' own curvature when they are half
    # of the draw, where the mean (half of theirs) made their steps overshoot the
    # stability limit of 2
    X = np.zeros((101, 4))
    X[:, 0] = 1.0  # |x|^2 = 1 for every row, no intercept
    equal = np.ones(101)
    eta, *_ = estimate_steps(X, equal, np.arange(101), 1, False, np.random.RandomState(0))
    assert eta == pytest.approx(SINGLE_SAMPLE_STEP_FACTOR / 0.25, rel=1e-12)
    skewed = np.r_[100.0, np.ones(100)]  # one row as heavy as the 100 others together
    heavy = 0.25 * 100.0 / skewed.mean()  # its curvature, relative weight 50.5
    eta, *_ = estimate_steps(X, skewed, np.arange(101), 1, False, np.random.RandomState(0))
    assert 1.4 < eta * heavy < 1.6


def test_auto_step_samples_the_rows_of_nonzero_weight():
    # the sampled rows used to be those of zero weight only: 0 / 0, a RuntimeWarning, and
    # a fallback step of 1 whatever the data. The rows of weight 1 among zeros weigh
    # 20,000 / 3 times the mean, as training scales them: one-sample steps that much
    # smaller than on those rows alone (a step for the rows alone overshot, objective 3x
    # the optimum's)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 5)) * 30
    weights = np.zeros(20_000)
    heavy = np.array([5, 9_000, 17_000])
    weights[heavy] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eta, scale, _ = estimate_steps(
            X, weights, np.arange(20_000), 1, True, np.random.RandomState(0)
        )
    eta_alone, scale_alone, _ = estimate_steps(
        X[heavy], np.ones(3), np.arange(3), 1, True, np.random.RandomState(0)
    )
    assert scale == pytest.approx(scale_alone, rel=1e-12)
    assert eta == pytest.approx(eta_alone * 3 / 20_000, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-3, 1e-200])
def test_intercept_learns_where_the_penalty_dominates_the_curvature(scale):
    # features so small that alpha dominates their curvature: the optimum is nearly the
    # intercept alone. The intercept took the coefficients' short step (1 / alpha times
    # the mean square of the features): it stayed near 0 (an objective 59% above the
    # optimum's), and at 1e-200 its scale underflowed and the fit was refused
    X, y = make_classification(3000, 5, weights=[0.85], random_state=0)
    X = X * scale
    alpha = 1e-4
    optimum = LogisticRegression(C=1 / (alpha * y.size), tol=1e-10, max_iter=10_000).fit(X, y)

    def objective(model):
        logits = X @ model.coef_.ravel() + model.intercept_[0]
        loss = np.mean(np.logaddexp(0, logits) - y * logits)
        return loss + alpha / 2 * np.sum(model.coef_**2)

    clf = SGDLogitClassifier(alpha=alpha, random_state=0).fit(X, y)
    assert objective(clf) < 1.03 * objective(optimum)
    assert clf.intercept_[0] < 0.75 * optimum.intercept_[0] < 0  # -1.36 against -1.70


def test_auto_step_ignores_stored_zeros():
    # explicit zeros made the intercept's scale 0 / nnz = 0, and a CSR matrix holding only
    # zeros was refused as "too large or too small to train on" (LogisticRegression fits it)
    rng = np.random.default_rng(0)
    X = sp.random(300, 40, density=0.2, random_state=0, format="csr")
    stored = X.copy()
    stored.data[::3] = 0.0
    cleaned = stored.copy()
    cleaned.eliminate_zeros()
    weights, rows = rng.uniform(0.5, 2.0, size=300), np.arange(300)
    for batch_size in (1, 16):
        got = estimate_steps(stored, weights, rows, batch_size, True, np.random.RandomState(0))
        expected = estimate_steps(
            cleaned, weights, rows, batch_size, True, np.random.RandomState(0)
        )
        assert got[:2] == pytest.approx(expected[:2], rel=1e-12)
    stored.data[:] = 0.0
    eta0, intercept_scale, _ = estimate_steps(
        stored, weights, rows, 16, True, np.random.RandomState(0)
    )
    assert eta0 > 0 and intercept_scale > 0


def test_invscaling_with_a_huge_power_gives_zero_steps_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        steps = batch_steps("invscaling", 0.5, 1e-4, 1000.0, 8, 0, 50)
    assert steps[0] == 0.5 and 0.0 < steps[1] < 1e-300 and np.all(steps[2:] == 0.0)


def test_auto_schedule_is_constant_then_one_over_alpha_t():
    steps = batch_steps("auto", 0.5, 1e-3, 0.5, 4, 10, 5)
    t = np.arange(10, 15)
    np.testing.assert_allclose(steps, 0.5 / (1 + 1e-3 * 0.5 * t), rtol=1e-15)


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_optimal_steps_of_batches_are_capped_at_the_stable_step(penalty):
    # 'optimal' with batches of B rows starts at 1 / (alpha * t0 / B), B per-sample steps
    # on one gradient: L1 fits of batches of 32 ended at 7x the optimum's objective after
    # 300 epochs. The steps are capped at eta0='auto''s stable step; then the intercept
    # takes its own scale (1e4 on features of scale 100), as with the other schedules
    X, y = make_classification(200, 5, random_state=0)
    alpha = 1e-2
    clf = SGDLogitClassifier(
        learning_rate="optimal", alpha=alpha, batch_size=200, shuffle=False, average=False,
        penalty=penalty,
    )  # fmt: skip
    clf.partial_fit(X * 100.0, y, classes=[0, 1])
    first = 1.0 / (alpha * (alpha**-0.75 / 200))
    assert clf._eta_estimate < first / 1e3 and clf._intercept_scale > 1e3
    expected = -clf._eta_estimate * clf._intercept_scale * (0.5 - y.mean())
    assert clf.intercept_[0] == pytest.approx(expected, rel=1e-10)
    steps = batch_steps("optimal", None, alpha, 0.5, 8, 0, 300, max_step=5.0)
    schedule = 1 / (alpha * (alpha**-0.75 / 8 + np.arange(300)))
    np.testing.assert_allclose(steps, np.minimum(schedule, 5.0), rtol=1e-14)
    assert steps[0] == 5.0 and steps[-1] < 5.0


def test_optimal_per_sample_steps_follow_sgdclassifier_with_the_intercept_capped():
    # batch_size=1: SGDClassifier's schedule as it is, and the intercept's step (the mean
    # square of features of scale 100) capped at the coefficients'
    X, y = make_classification(200, 5, random_state=0)
    clf = SGDLogitClassifier(learning_rate="optimal", batch_size=1, alpha=1e-2)
    clf.partial_fit(X * 100.0, y, classes=[0, 1])
    assert clf._intercept_scale > 1e3
    assert clf._optimal_max_step(1) == np.inf
    assert clf._hyper()[INTERCEPT_SCALE] == 1.0
    alpha = 1e-2
    np.testing.assert_allclose(
        batch_steps("optimal", None, alpha, 0.5, 1, 0, 3),
        1 / (alpha * (alpha**-0.75 + np.arange(3))),
        rtol=1e-14,
    )


@pytest.mark.parametrize("eta0", ["auto", 0.01])
def test_optimal_steps_of_adam_are_capped_at_its_eta0(eta0):
    # Adam moves each coefficient by about its step: the schedule's first steps (80 on
    # digits, batches of 8) left the training loss at 25, where 'constant' reaches 0.05
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = dict(solver="adam", eta0=eta0, random_state=0)
    optimal = SGDLogitClassifier(learning_rate="optimal", **settings).fit(X, y)
    constant = SGDLogitClassifier(learning_rate="constant", **settings).fit(X, y)
    cap = 1e-3 if eta0 == "auto" else eta0
    assert optimal._optimal_max_step(optimal._batch_size) == cap
    # alpha (t0 / B + t) stays far below 1 / cap: every step is the cap, as with 'constant'
    np.testing.assert_array_equal(optimal.coef_, constant.coef_)
    assert optimal.loss_curve_[-1] < 0.1 and optimal.score(X, y) > 0.98


@pytest.mark.parametrize("n_iter_no_change", [1, 2, 5])
def test_adaptive_divides_the_step_every_n_iter_no_change_epochs(n_iter_no_change):
    # tol=1e9: no epoch improves enough. 0.1 / 5**8 <= 1e-6 < 0.1 / 5**7: eight cuts, one
    # every n_iter_no_change epochs after the first, and the last step trains until the
    # next stall, as in SGDClassifier (training stopped at the eighth cut, unused)
    X, y = make_classification(500, 5, random_state=0)
    settings = dict(
        learning_rate="adaptive", eta0=0.1, tol=1e9, n_iter_no_change=n_iter_no_change,
        random_state=0, max_iter=1000,
    )  # fmt: skip
    clf = SGDLogitClassifier(**settings).fit(X, y)
    assert clf.n_iter_ == 1 + n_iter_no_change * 9
    assert clf._state.eta == pytest.approx(0.1 / 5**8)
    reference = SGDClassifier(loss="log_loss", **settings).fit(X, y)
    assert clf.n_iter_ == reference.n_iter_


def centered_by(X, weights=None, **kwargs):
    """The center :func:`estimate_steps` picks for ``X`` (empty: plain updates)."""
    weights = np.ones(X.shape[0]) if weights is None else weights
    _, _, center = estimate_steps(
        X, weights, np.arange(X.shape[0]), 16, True, np.random.RandomState(0), centered=True
    )
    return center


def test_rows_with_offsets_are_centered_and_standardized_rows_are_not():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6))
    assert centered_by(X - X.mean(axis=0)).size == 0
    offset = np.array([5.0, -3.0, 0.0, 40.0, 2.0, 1.0])
    center = centered_by(X + offset)
    np.testing.assert_allclose(center, (X + offset).mean(axis=0), rtol=1e-12)


def test_few_effective_rows_are_not_centered():
    # one row is its own mean: its spread of zero gave a step of 6 to a first partial_fit
    # chunk of one row of standardized data (log-loss 1.97 instead of 0.07), and one row
    # carrying nearly all the weight did the same to a whole fit
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 20))
    assert centered_by(X[:1]).size == 0
    assert centered_by(X[:1] + 50.0).size == 0
    heavy = np.ones(1000)
    heavy[0] = 1e6
    assert centered_by(X + 50.0, heavy).size == 0
    assert centered_by(X[:40] + 50.0).size == 20  # enough rows: centered


@pytest.mark.parametrize("offset", [1e6, 1e7])
def test_offsets_beyond_the_precision_of_float32_are_not_centered(offset):
    # float32 cannot cancel an offset of 1e7 times the spread: the updates trained on
    # rounding noise and the loss climbed to 38 (plain updates: the trivial model)
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(500, 4)) + offset).astype(np.float32)
    assert centered_by(X).size == 0
    assert centered_by(X.astype(np.float64)).size == 4
    X = rng.normal(size=(500, 5)).astype(np.float32) + np.float32(20)
    X[:, 4] = 100.0  # a constant column, whose offset float32 cancels well enough
    np.testing.assert_allclose(centered_by(X)[4], 100.0)


def test_weighted_gram_product_kernel_against_numpy(rng):
    from sgdlogit._power_iteration import weighted_gram_product

    X, weights = problem(rng, False)
    for column in (0.0, 0.7):
        A = np.hstack([X, np.full((X.shape[0], 1), column)])
        v = rng.standard_normal(A.shape[1])
        out = np.full_like(v, np.nan)  # every entry is written
        weighted_gram_product(X, weights, column, v, out)
        np.testing.assert_allclose(out, A.T @ (weights * (A @ v)), rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("column", [0.0, 0.7])
def test_power_iteration_finds_the_top_eigenvalue(monkeypatch, rng, sparse, column):
    # run to convergence (tolerance 0), it gives numpy's top eigenvalue of the weighted
    # second-moment matrix with the intercept's column
    from sgdlogit import _schedules

    monkeypatch.setattr(_schedules, "_POWER_TOLERANCE", 0.0)
    monkeypatch.setattr(_schedules, "_POWER_ITERATIONS", 600)
    X, weights = problem(rng, sparse)
    dense = X.toarray() if sparse else X
    A = np.hstack([dense, np.full((dense.shape[0], 1), column)])
    expected = np.linalg.eigvalsh(A.T @ (weights[:, None] * A))[-1]
    start = rng.standard_normal(A.shape[1])
    found, n = _schedules._top_eigenvalue(X, weights, column, start, 0.0, 8)
    assert found == pytest.approx(expected, rel=1e-10)
    assert 1 < n <= 600


def test_power_iteration_stops_at_the_tolerance_and_the_limit(monkeypatch, rng):
    from sgdlogit import _schedules

    X, weights = problem(rng, False)
    start = rng.standard_normal(X.shape[1] + 1)

    def iterations(tolerance, limit):
        monkeypatch.setattr(_schedules, "_POWER_TOLERANCE", tolerance)
        monkeypatch.setattr(_schedules, "_POWER_ITERATIONS", limit)
        return _schedules._top_eigenvalue(X, weights, 1.0, start, 0.0, 8)[1]

    assert 1 < iterations(1e-2, 1000) < iterations(1e-6, 1000) < 1000
    assert iterations(0.0, 3) == 3
    # a zero start vector or zero rows: no eigenvalue to find, and no division by zero
    zero_start = np.zeros(X.shape[1] + 1)
    assert _schedules._top_eigenvalue(X, weights, 1.0, zero_start, 0.0, 8) == (0.0, 0)
    zero_rows = np.zeros_like(X)
    assert _schedules._top_eigenvalue(zero_rows, weights, 0.0, start, 0.0, 8)[0] == 0.0
