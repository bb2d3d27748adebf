"""Prediction: the compiled one-pass kernel against numpy/scipy, and every input path."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit
from scipy.special import expit, softmax
from sklearn.datasets import make_classification

from sgdlogit import SGDLogitClassifier, _prediction
from sgdlogit import _kernels as kernels

# the accuracy tests compare with probabilities computed in long double
needs_wide_long_double = pytest.mark.skipif(
    np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps,
    reason="needs a long double wider than float64 for the reference",
)


def random_model(rng, n_outputs, n_features, dtype):
    coef = rng.normal(size=(n_outputs, n_features)).astype(dtype)
    intercept = rng.normal(size=n_outputs).astype(dtype)
    return coef, intercept


def reference_scores(X, coef, intercept, proba):
    logits = X.astype(np.float64) @ coef.T.astype(np.float64) + intercept
    if not proba:
        return logits
    if coef.shape[0] == 1:
        return np.column_stack([expit(-logits[:, 0]), expit(logits[:, 0])])
    return softmax(logits, axis=1)


# Fewer than four outputs go by four rows, the others by two rows and four classes, the
# rest one class at a time: 7 and 10 take both; the last block of 64 rows leaves 3, 1 and
# 2 rows after the last four; threads take tasks of 2 blocks from 2113 rows (the last
# block of one row), of 16 blocks from 17001 rows (the last task of 10).
@pytest.mark.parametrize("n_rows", [499, 501, 510, 2113, 17001])
@pytest.mark.parametrize("n_outputs", [1, 3, 4, 7, 10])
@pytest.mark.parametrize("proba", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_scores_match_numpy(rng, n_rows, n_outputs, proba, dtype, n_jobs, monkeypatch):
    # a threshold of 0 sends even this small input through the threaded kernel
    monkeypatch.setattr(_prediction, "MIN_PARALLEL_WORK", 0)
    X = (rng.normal(size=(n_rows, 13)) * 4).astype(dtype)
    coef, intercept = random_model(rng, n_outputs, 13, dtype)
    out, all_finite = _prediction.dense_scores(X, coef, intercept, proba=proba, n_jobs=n_jobs)
    assert all_finite
    assert out.dtype == dtype
    assert out.shape == (n_rows, 2 if proba and n_outputs == 1 else n_outputs)
    # float32 logits of size ~20 carry an absolute rounding error of ~1e-6
    tol = 1e-5 if dtype == np.float32 else 1e-12
    expected = reference_scores(X, coef, intercept, proba)
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("n_outputs", [1, 6])
def test_threaded_kernel_is_bit_identical_to_serial(rng, n_outputs):
    X = rng.normal(size=(3001, 17))
    coef, intercept = random_model(rng, n_outputs, 17, np.float64)
    for proba in (False, True):
        n_columns = 2 if proba and n_outputs == 1 else n_outputs
        serial, threaded = np.empty((3001, n_columns)), np.empty((3001, n_columns))
        assert kernels.dense_scores(X, coef, intercept, proba, serial) == 0
        assert kernels.dense_scores_parallel(X, coef, intercept, proba, threaded) == 0
        assert np.array_equal(serial, threaded)


@pytest.mark.parametrize("n_outputs", [1, 3, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_row_scores_the_same_whatever_rows_come_with_it(rng, n_outputs, dtype):
    # rows left over after the last four were summed in float64 by another loop: a float32
    # row got another logit (by up to 4e-6) alone than inside a larger call
    X = rng.normal(size=(203, 37)).astype(dtype)
    coef, intercept = random_model(rng, n_outputs, 37, dtype)
    whole = np.empty((203, n_outputs), dtype=dtype)
    kernels.dense_scores(X, coef, intercept, False, whole)
    for first, stop in [(0, 1), (5, 7), (9, 12), (100, 105), (197, 203), (130, 203)]:
        part = np.empty((stop - first, n_outputs), dtype=dtype)
        kernels.dense_scores(X[first:stop], coef, intercept, False, part)
        np.testing.assert_array_equal(part, whole[first:stop])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("proba", [False, True])
# rows go by four (fewer than four outputs) or two: the last row is in a pair or alone,
# and in the 18th block of 64 rows with 1089 rows
@pytest.mark.parametrize("n_rows", [49, 50, 51, 52, 1089])
@pytest.mark.parametrize("n_outputs", [1, 3, 5])
def test_non_finite_features_are_counted(rng, bad, proba, n_rows, n_outputs):
    X = rng.normal(size=(n_rows, 4))
    X[[3, 17, n_rows - 1], [0, 2, 3]] = bad
    coef, intercept = random_model(rng, n_outputs, 4, np.float64)
    out = np.empty((n_rows, 2 if proba and n_outputs == 1 else n_outputs))
    # every logit of a row with a non-finite feature is non-finite
    assert kernels.dense_scores(X, coef, intercept, proba, out) == 3 * n_outputs


def test_probabilities_stay_finite_for_huge_logits():
    X = np.array([[1e300], [-1e300], [0.0]])
    coef, intercept = np.array([[1e10]]), np.zeros(1)
    out = np.empty((3, 2))
    assert kernels.dense_scores(X, coef, intercept, True, out) == 2  # two infinite logits
    np.testing.assert_array_equal(out, [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    # softmax: an infinite logit takes all the probability (inf - inf is not a NaN here)
    coef, intercept = np.array([[1e10], [0.0], [-1e10]]), np.zeros(3)
    out = np.empty((3, 3))
    assert kernels.dense_scores(X, coef, intercept, True, out) == 4
    np.testing.assert_array_equal(out, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1 / 3] * 3])


@pytest.mark.parametrize(
    "layout", [np.ascontiguousarray, np.asfortranarray, sp.csr_matrix], ids=["C", "F", "csr"]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_infinite_logits_give_the_same_probabilities_in_every_layout(layout, dtype):
    # finite features whose logits overflow: +inf takes all the probability (shared by
    # ties), a row of -inf only is uniform. Off the kernel (F order, CSR), softmax and
    # log_softmax gave NaN rows, with RuntimeWarnings. float32 logits of 1e39 are finite
    # in the kernel's float64 sums, infinite once rounded to float32 as numpy's are.
    clf = SGDLogitClassifier().fit(np.eye(3), [0, 1, 2])
    clf.coef_, clf.intercept_ = np.eye(3, dtype=dtype) * 10, np.zeros(3, dtype=dtype)
    big = np.finfo(dtype).max / 3
    X = np.array(
        [[big, 0, 0], [big, big, 0], [-big, 0, 0], [-big, -big, -big], [big, -big, 0],
         [big, big / 20, 0]],  # a finite logit next to +inf: exp overflowed
        dtype=dtype,
    )  # fmt: skip
    expected = [[1, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.5], [1 / 3] * 3, [1, 0, 0], [1, 0, 0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(layout(X))
        log_proba = clf.predict_log_proba(layout(X))
    rtol = np.finfo(dtype).eps  # 1/3 rounded to the dtype
    assert proba.dtype == log_proba.dtype == dtype
    np.testing.assert_allclose(proba, expected, rtol=rtol)
    np.testing.assert_allclose(np.exp(log_proba), expected, rtol=rtol)


@njit(fastmath={"contract"})  # as in the prediction kernels
def exp_of_each(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = kernels._exp_nonpositive(x[i])
    return out


@needs_wide_long_double
def test_kernel_exp_is_within_one_ulp_down_to_the_subnormals(rng):
    x = np.concatenate([np.linspace(-746.0, 0.0, 400_001), -rng.exponential(5.0, 20_000)])
    ours = exp_of_each(x)
    nearest = np.exp(x.astype(np.longdouble)).astype(np.float64)
    normal = nearest >= np.finfo(np.float64).tiny
    assert np.all(np.abs(ours - nearest)[normal] <= np.spacing(nearest[normal]))
    # below the normal range a result is one product, rounded once: within one step
    assert np.all(np.abs(ours - nearest)[~normal] <= np.nextafter(0.0, 1.0))
    assert (~normal).sum() > 1000 and (nearest[~normal] > 0).sum() > 1000


def test_kernel_exp_special_values():
    x = np.array([0.0, -0.0, -746.0, -1e300, -np.inf, np.nan])
    np.testing.assert_array_equal(exp_of_each(x), [1.0, 1.0, 0.0, 0.0, 0.0, 0.0])


@needs_wide_long_double
@pytest.mark.parametrize("parallel", [False, True])
def test_binary_probabilities_are_within_a_few_ulps(rng, parallel):
    # the kernel's own exp must be as accurate as libm's over every logit whose
    # probability is a normal float64, and keep both columns exact near 0
    z = np.concatenate([np.linspace(-745.0, 745.0, 200_001), rng.normal(size=20_000) * 10])
    X = z[:, None].copy()
    out = np.empty((z.shape[0], 2))
    score = kernels.dense_scores_parallel if parallel else kernels.dense_scores
    assert score(X, np.ones((1, 1)), np.zeros(1), True, out) == 0
    wide = z.astype(np.longdouble)
    for column, reference in ((1, 1 / (1 + np.exp(-wide))), (0, 1 / (1 + np.exp(wide)))):
        nearest = reference.astype(np.float64)
        normal = nearest >= np.finfo(np.float64).tiny
        error = np.abs(out[normal, column] - reference[normal]) / np.spacing(nearest[normal])
        assert error.max() <= 3.0
        # subnormal probabilities keep their magnitude; beyond exp's range they are 0
        tiny = ~normal
        np.testing.assert_allclose(out[tiny, column], nearest[tiny], rtol=1e-3, atol=1e-322)


@needs_wide_long_double
@pytest.mark.parametrize("scale", [1.0, 20.0])
def test_softmax_probabilities_are_as_accurate_as_scipy(rng, scale):
    # exp(z - max z) has the conditioning of its argument: compare with scipy's softmax,
    # both against the probabilities of the same logits in long double
    logits = rng.normal(size=(50_000, 7)) * scale
    out = np.empty_like(logits)
    assert kernels.dense_scores(logits.copy(), np.eye(7), np.zeros(7), True, out) == 0
    wide = logits.astype(np.longdouble)
    wide = np.exp(wide - wide.max(axis=1, keepdims=True))
    exact = wide / wide.sum(axis=1, keepdims=True)
    nearest = exact.astype(np.float64)
    normal = nearest >= np.finfo(np.float64).tiny

    def ulps(p):
        return np.abs(p[normal] - exact[normal]) / np.spacing(nearest[normal])

    ours, theirs = ulps(out), ulps(softmax(logits, axis=1))
    assert ours.max() <= theirs.max() + 2.0
    assert ours.mean() <= 1.1 * theirs.mean()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_every_input_layout_predicts_the_same(n_classes):
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    clf = SGDLogitClassifier(random_state=0).fit(X, y)
    expected_proba = reference_scores(X, clf.coef_, clf.intercept_, proba=True)
    expected_decision = reference_scores(X, clf.coef_, clf.intercept_, proba=False)
    if n_classes == 2:
        expected_decision = expected_decision.ravel()
    layouts = [X, np.asfortranarray(X), X[:, ::-1].copy()[:, ::-1], sp.csr_matrix(X), X.tolist()]
    for layout in layouts:
        np.testing.assert_allclose(clf.predict_proba(layout), expected_proba, rtol=1e-12)
        np.testing.assert_allclose(clf.decision_function(layout), expected_decision, rtol=1e-12)
    threaded = SGDLogitClassifier(random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(threaded.predict(X), clf.classes_[expected_proba.argmax(1)])


@needs_wide_long_double
@pytest.mark.parametrize("sparsify", [False, True])
@pytest.mark.parametrize("dtype, limit", [(np.float64, 700.0), (np.float32, 80.0)])
@pytest.mark.parametrize(
    "layout", [np.ascontiguousarray, np.asfortranarray, sp.csr_matrix], ids=["C", "F", "csr"]
)
def test_binary_probabilities_near_zero_keep_their_digits(layout, dtype, limit, sparsify):
    # the kernel (C-contiguous rows) and numpy/scipy (other layouts, a sparsified model)
    # give each column to a few ulps: never 0 for a probability of 1e-300
    z = np.linspace(-limit, limit, 1_401).astype(dtype)
    X = np.column_stack([z, np.zeros_like(z)])
    clf = SGDLogitClassifier().fit(X[[0, -1]], [0, 1])
    clf.coef_, clf.intercept_ = np.array([[1, 0]], dtype=dtype), np.zeros(1, dtype=dtype)
    if sparsify:
        clf.sparsify()
    proba = clf.predict_proba(layout(X))
    assert proba.dtype == dtype
    wide = z.astype(np.longdouble)
    for column, exact in ((0, 1 / (1 + np.exp(wide))), (1, 1 / (1 + np.exp(-wide)))):
        assert np.all(proba[:, column] > 0)
        ulps = np.abs(proba[:, column] - exact) / np.spacing(exact.astype(dtype))
        assert ulps.max() <= 4.0


def test_a_float32_model_scores_float64_rows_in_float64():
    # the result has the dtype of X @ coef_.T: float64 rows are not rounded to float32
    X, y = make_classification(300, 5, n_classes=3, n_informative=3, random_state=0)
    clf = SGDLogitClassifier(random_state=0).fit(X.astype(np.float32), y)
    scores = clf.decision_function(X)
    assert scores.dtype == np.float64
    expected = X @ clf.coef_.T.astype(np.float64) + clf.intercept_.astype(np.float64)
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "layout", [np.ascontiguousarray, np.asfortranarray, sp.csr_matrix], ids=["C", "F", "csr"]
)
def test_float32_multiclass_probabilities_are_correctly_rounded(layout):
    # float32 logits of tens: shifted by their row maximum in float32, their probabilities
    # lost up to 17 ulps and the log-probabilities near 0 nearly all their digits; shifted
    # in float64, both round once, from the float32 logits of the same layout
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, 20)).astype(np.float32)
    clf = SGDLogitClassifier().fit(X[:10], np.arange(10) % 5)
    clf.coef_ = (rng.normal(size=(5, 20)) * 6).astype(np.float32)
    clf.intercept_ = rng.normal(size=5).astype(np.float32)
    X = layout(X)
    logits = clf.decision_function(X).astype(np.float64)
    assert np.abs(logits).max() > 40
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    assert proba.dtype == log_proba.dtype == np.float32
    exact_log = logits - logits.max(axis=1, keepdims=True)
    shares = np.exp(exact_log)
    shares[np.arange(shares.shape[0]), logits.argmax(axis=1)] = 0.0
    exact_log -= np.log1p(shares.sum(axis=1, keepdims=True))  # log(1 + x) lost digits of x
    for ours, exact in ((proba, np.exp(exact_log)), (log_proba, exact_log)):
        nearest = exact.astype(np.float32)
        normal = np.abs(nearest) >= np.finfo(np.float32).tiny
        ulps = np.abs(ours[normal] - exact[normal]) / np.spacing(np.abs(nearest[normal]))
        assert ulps.max() <= 1.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multiclass_log_probability_of_the_likeliest_class_keeps_its_digits(dtype):
    # log(p_top) = -log1p(sum of the other classes' exp(z_k - z_top)): scipy's log_softmax
    # took the log of 1 + that sum, 0.0 for -8.5e-18 at a logit gap of 40 (the binary
    # log_expit keeps them)
    gaps = np.array([1.0, 5.0, 20.0, 40.0, 200.0, 700.0])
    X = np.column_stack([gaps, np.ones_like(gaps)]).astype(dtype)
    clf = SGDLogitClassifier().fit(X[:3], [0, 1, 2])
    clf.coef_ = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=dtype)  # logits 0, gap, 0
    clf.intercept_ = np.zeros(3, dtype=dtype)
    log_proba = clf.predict_log_proba(X)
    others = 2.0 * np.exp(-gaps)
    exact_top = -np.log1p(others)
    np.testing.assert_allclose(
        log_proba[:, 1], exact_top.astype(dtype), rtol=4 * np.finfo(dtype).eps
    )
    np.testing.assert_allclose(log_proba[:, 0], (-gaps + exact_top).astype(dtype), rtol=1e-6)


@pytest.mark.parametrize("layout", [np.ascontiguousarray, np.asfortranarray, sp.csr_matrix])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_raises_sklearn_error(layout, bad):
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    clf = SGDLogitClassifier(random_state=0).fit(X, y)
    X_bad = X.copy()
    X_bad[7, 1] = bad
    match = "NaN" if np.isnan(bad) else "infinity"
    for method in (clf.predict_proba, clf.decision_function, clf.predict):
        with pytest.raises(ValueError, match=match):
            method(layout(X_bad))


def test_arrays_that_skip_check_array_are_those_it_returns_unchanged():
    from sklearn.utils import check_array

    from sgdlogit._classifier import _passes_check_array

    base = np.arange(12.0).reshape(4, 3)
    passing = [base, base.astype(np.float32), np.asfortranarray(base), base[:, ::2]]
    for X in passing:
        assert _passes_check_array(X)
        assert check_array(X, accept_sparse="csr", ensure_all_finite=False) is X
    subclass = base.view(type("Subclass", (np.ndarray,), {}))  # as np.memmap is
    failing = [base.astype(int), base.ravel(), base[:0], subclass, base.tolist()]
    assert not any(_passes_check_array(X) for X in failing)


def test_prediction_of_plain_arrays_keeps_the_feature_checks():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = SGDLogitClassifier(random_state=0).fit(frame, y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict_proba(X)
    clf.fit(X, y)
    for wrong in (X[:, :3], X[:, :3].astype(np.float32)):
        with pytest.raises(ValueError, match="X has 3 features, but SGDLogitClassifier"):
            clf.predict_proba(wrong)
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict_proba(X[:0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        clf.predict_proba(X[0])
