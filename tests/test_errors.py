"""Error handling: every case of SPEC.md "Errors", checked against scikit-learn's own estimators.

Where scikit-learn has an estimator that fails on the same input, the expected message is taken
from it (with its name replaced by ``SGDLogitClassifier``), so these tests pin "the same exception
type and message style as sklearn" rather than a copy of today's wording.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import AdaBoostClassifier
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

from sgdlogit import SGDLogitClassifier

N_SAMPLES, N_FEATURES = 40, 3
PREDICT_METHODS = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
DIVERGED = r"diverged at epoch {epoch}\b.*[Ss]cal.*StandardScaler.*smaller eta0"


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = (X[:, 0] + 0.5 * rng.normal(size=N_SAMPLES) > 0).astype(int)
    return X, y


@pytest.fixture
def data3():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = np.arange(N_SAMPLES) % 3
    return X, y


def ours(**params):
    # tol=None: a fixed, short run that never warns about convergence
    return SGDLogitClassifier(random_state=0, max_iter=5, tol=None, **params)


def sgd(**params):
    return SGDClassifier(loss="log_loss", random_state=0, max_iter=5, tol=None, **params)


def error_of(call):
    """The exception raised by ``call()`` (fails the test if nothing is raised)."""
    with pytest.raises(Exception) as info:
        call()
    return info.value


def expected_from(reference_error, reference_name="SGDClassifier"):
    """A ``match`` pattern for the reference estimator's message, with our name in it."""
    message = str(reference_error).replace(reference_name, "SGDLogitClassifier")
    return "^" + re.escape(message) + "$"


def assert_same_error(call, reference_call, literal, reference_name="SGDClassifier"):
    """``call`` raises what ``reference_call`` raises, with the same message; both contain
    ``literal`` (a plain string, so the test does not only trust the reference)."""
    reference = error_of(reference_call)
    assert literal in str(reference)
    with pytest.raises(type(reference), match=expected_from(reference, reference_name)) as info:
        call()
    assert type(info.value) is type(reference)
    assert literal.replace(reference_name, "SGDLogitClassifier") in str(info.value)


def run(est, method, X, y, **kwargs):
    if method == "fit":
        return est.fit(X, y, **kwargs)
    if method == "partial_fit":
        return est.partial_fit(X, y, classes=np.unique(y), **kwargs)
    if method == "score":
        return est.score(X, y)
    return getattr(est, method)(X)


# ----------------------------------------------------------------------------- NaN / inf


@pytest.mark.parametrize("method", ["fit", "partial_fit", *PREDICT_METHODS, "score"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "bad, literal",
    [
        (np.nan, "Input X contains NaN."),
        (np.inf, "Input X contains infinity or a value too large for dtype('float64')."),
        (-np.inf, "Input X contains infinity or a value too large for dtype('float64')."),
    ],
    ids=["nan", "inf", "-inf"],
)
def test_non_finite_x(data, method, container, bad, literal):
    X, y = data
    X_bad = X.copy()
    X_bad[3, 1] = bad
    clf, ref = ours(), sgd()
    if method not in ("fit", "partial_fit"):
        clf.fit(X, y)
        ref.fit(X, y)
    assert_same_error(
        lambda: run(clf, method, container(X_bad), y),
        lambda: run(ref, method, container(X_bad), y),
        literal,
    )


@pytest.mark.parametrize("method", [*PREDICT_METHODS, "score"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
@pytest.mark.parametrize("n_rows", [1, N_SAMPLES])
def test_non_finite_x_after_sparsify(data3, method, container, n_rows):
    # one row is smaller than coef_, so it meets the sparse coef_ itself; a product with
    # it skips the zero coefficients and cannot find a NaN in their features: prediction
    # must look for it in X. More rows than coef_ meet a dense copy of it.
    X, y = data3
    clf = ours(penalty="l1", alpha=0.5).fit(X, y).sparsify()
    ref = sgd(penalty="l1", alpha=0.5).fit(X, y).sparsify()
    zero_columns = np.flatnonzero(np.all(clf.coef_.toarray() == 0, axis=0))
    assert zero_columns.size  # alpha large enough to zero a whole feature
    X_bad = X[:n_rows].copy()
    X_bad[0, zero_columns[0]] = np.nan
    assert_same_error(
        lambda: run(clf, method, container(X_bad), y[:n_rows]),
        lambda: run(ref, method, container(X_bad), y[:n_rows]),
        "Input X contains NaN.",
    )


@pytest.mark.parametrize("method", ["sparsify", "densify"])
def test_sparsify_before_fit(method):
    assert_same_error(
        getattr(ours(), method),
        getattr(sgd(), method),
        f"must be fitted before {method}ing.",
    )


def test_non_finite_x_float32_names_float32(data):
    X, y = data
    X_bad = X.astype(np.float32)
    X_bad[0, 0] = np.inf
    assert_same_error(
        lambda: ours().fit(X_bad, y),
        lambda: sgd().fit(X_bad, y),
        "Input X contains infinity or a value too large for dtype('float32').",
    )


# fit finds non-finite X while training (no separate pass over X): every path must still
# raise the input error, whatever the row, its weight, the optimizer or the layout.
DEFERRED_CONFIGS = [
    {},
    {"batch_size": 1},
    {"solver": "adam"},
    {"momentum": 0.9},
    {"penalty": "l1"},
    {"average": True},
    {"early_stopping": True, "n_iter_no_change": 1},
]


@pytest.mark.parametrize("params", DEFERRED_CONFIGS, ids=lambda p: ",".join(p) or "default")
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("zero_weight", [False, True], ids=["weighted", "zero-weight"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_non_finite_x_found_during_training(params, container, bad, zero_weight, n_classes):
    rng = np.random.default_rng(0)
    # more rows than the step estimate samples, so the bad row may be one it never reads
    X = rng.normal(size=(2_500, 4))
    y = np.arange(2_500) % n_classes
    weights = np.ones(2_500)
    for row in rng.choice(2_500, size=8, replace=False):
        X_bad = X.copy()
        X_bad[row, row % 4] = bad
        weights[:] = 1.0
        if zero_weight:
            weights[row] = 0.0
        clf = SGDLogitClassifier(random_state=0, max_iter=2, tol=None, **params)
        with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
            clf.fit(container(X_bad), y, sample_weight=weights)
        assert not hasattr(clf, "coef_")


BAD_CHUNKS = {
    "nan": (lambda X: np.where(X > 1.5, np.nan, X), {}, "Input X contains NaN"),
    "inf": (lambda X: np.where(X > 1.5, np.inf, X), {}, "Input X contains infinity"),
    "diverged": (
        lambda X: X * 1e300,
        {"learning_rate": "constant", "eta0": 1e300},
        DIVERGED.format(epoch=3),
    ),
}


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("bad", BAD_CHUNKS)
def test_failed_partial_fit_leaves_the_estimator_as_it_was(data, container, solver, bad):
    # the chunk is found bad only after training changed the state: the next call started
    # a new training state (schedule, optimizer, average, n_iter_ and t_ from zero), as
    # SGDClassifier does not
    X, y = data
    make_bad, params, message = BAD_CHUNKS[bad]
    expected = ours(solver=solver, average=True)
    clf = ours(solver=solver, average=True)
    for est in (expected, clf):
        est.partial_fit(container(X), y, classes=[0, 1]).partial_fit(container(X), y)
    shown = clf.coef_.copy(), clf.n_iter_, clf.t_, list(clf.loss_curve_)
    defaults = {name: clf.get_params()[name] for name in params}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=message):
            clf.set_params(**params).partial_fit(container(make_bad(X)), y)
    np.testing.assert_array_equal(clf.coef_, shown[0])
    assert (clf.n_iter_, clf.t_, clf.loss_curve_) == shown[1:]
    assert vars(clf).keys() == vars(expected).keys()
    clf.set_params(**defaults)
    for est in (expected, clf):
        est.partial_fit(container(X), y)
    np.testing.assert_array_equal(clf.coef_, expected.coef_)
    np.testing.assert_array_equal(clf.intercept_, expected.intercept_)
    assert (clf.n_iter_, clf.t_, clf.loss_curve_) == (3, expected.t_, expected.loss_curve_)


def test_float64_chunk_beyond_a_float32_models_range(data):
    # the cast made infinities: an overflow warning, then "Input X contains infinity" for a
    # chunk without any, and the training state lost
    X, y = data
    clf = SGDLogitClassifier(random_state=0).partial_fit(X.astype(np.float32), y, classes=[0, 1])
    coef = clf.coef_.copy()
    big = X.copy()
    big[3, 1] = 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"beyond the range of float32.*float64 data"):
            clf.partial_fit(big, y)
        with pytest.raises(ValueError, match="Input X contains NaN"):  # its own error first
            clf.partial_fit(np.where(X > 1.5, np.nan, big), y)
    np.testing.assert_array_equal(clf.coef_, coef)
    assert clf.n_iter_ == 1


@pytest.mark.parametrize("y", [[0, 1], ["a", "b", "c"]])
def test_early_stopping_refuses_data_whose_classes_all_have_one_sample(y):
    # any held-out row leaves its class untrained (predict never returned it); the split
    # keeps the rows of classes of one sample in training where other rows can be held out
    X = np.arange(2.0 * len(y)).reshape(len(y), 2)
    clf = SGDLogitClassifier(early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match=r"^early_stopping cannot hold out .* single sample"):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_")
    for estimator in (SGDClassifier(early_stopping=True), MLPClassifier(early_stopping=True)):
        with pytest.raises(ValueError):  # scikit-learn refuses such data too
            estimator.fit(X, y)
    clf.fit(X, y, X_val=X, y_val=y)  # with validation data of its own it trains
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    clf = clone(clf).fit(np.r_[X, X], y + y)  # two of each: one can be held out
    assert len(clf.validation_scores_) == clf.n_iter_ > 0


def test_held_out_weight_above_the_training_peak_is_quiet(data):
    # early stopping holds rows out before the weights are scaled by the training rows'
    # largest weight; a held-out weight far above it must not overflow with a warning
    X, y = data
    X = X.astype(np.float32)
    weights = np.full(N_SAMPLES, 1e-30)
    weights[7] = 1e30
    held_out = 0
    for seed in range(20):
        clf = SGDLogitClassifier(early_stopping=True, random_state=seed)
        # the split fit makes: the first draw of its random state
        _, val_rows = clf._validation_split(y, weights, np.random.RandomState(seed))
        held_out += 7 in val_rows
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clf.fit(X, y, sample_weight=weights)
        assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
    assert held_out > 0  # the case this test is about did occur


@pytest.mark.parametrize(
    "dtype, tiny, huge", [(np.float32, 1e-30, 1e30), (np.float64, 1e-300, 1e300)]
)
def test_partial_fit_weights_beyond_the_first_calls_scale(data, dtype, tiny, huge):
    # later chunks are scaled by the first chunk's largest weight; a ratio beyond the
    # dtype's range is a clear error, not an overflow warning and a divergence
    X, y = data
    X = X.astype(dtype)
    clf = SGDLogitClassifier(random_state=0)
    clf.partial_fit(X, y, classes=[0, 1], sample_weight=np.full(N_SAMPLES, tiny))
    coef = clf.coef_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too large relative to those of the first"):
            clf.partial_fit(X, y, sample_weight=np.full(N_SAMPLES, huge))
    np.testing.assert_array_equal(clf.coef_, coef)  # the rejected chunk changed nothing
    clf.partial_fit(X, y, sample_weight=np.full(N_SAMPLES, tiny))
    assert clf.score(X, y) > 0.7


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize(
    "bad, literal",
    [
        (np.nan, "Input sample_weight contains NaN."),
        (np.inf, "Input sample_weight contains infinity or a value too large"),
    ],
    ids=["nan", "inf"],
)
def test_non_finite_sample_weight(data, method, bad, literal):
    X, y = data
    sample_weight = np.ones(N_SAMPLES)
    sample_weight[5] = bad
    assert_same_error(
        lambda: run(ours(), method, X, y, sample_weight=sample_weight),
        lambda: run(sgd(), method, X, y, sample_weight=sample_weight),
        literal,
    )


def test_nan_in_y(data):
    X, y = data
    y_bad = y.astype(float)
    y_bad[0] = np.nan
    assert_same_error(
        lambda: ours().fit(X, y_bad), lambda: sgd().fit(X, y_bad), "Input y contains NaN."
    )


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("method", [*PREDICT_METHODS, "score", "partial_fit"])
@pytest.mark.parametrize("n_features", [N_FEATURES - 1, N_FEATURES + 2])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
def test_wrong_number_of_features_after_fit(data, method, n_features, container):
    X, y = data
    X_other = container(np.random.default_rng(2).normal(size=(N_SAMPLES, n_features)))
    clf, ref = ours().fit(X, y), sgd().fit(X, y)
    literal = f"X has {n_features} features, but SGDClassifier is expecting {N_FEATURES}"
    assert_same_error(
        lambda: run(clf, method, X_other, y), lambda: run(ref, method, X_other, y), literal
    )
    # the failed call left the model usable
    assert clf.predict(X).shape == (N_SAMPLES,)


def test_wrong_feature_names_after_fit(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    renamed = df.rename(columns={"a": "z"})
    clf, ref = ours().fit(df, y), sgd().fit(df, y)
    assert_same_error(
        lambda: clf.predict(renamed),
        lambda: ref.predict(renamed),
        "The feature names should match those that were passed during fit.",
    )


@pytest.mark.parametrize(
    "make_args, literal",
    [
        (lambda X, y: (X, y[:-1]), "Found input variables with inconsistent numbers of samples"),
        (lambda X, y: (X[:, 0], y), "Expected 2D array, got 1D array instead"),
        (lambda X, y: (X[:0], y[:0]), "Found array with 0 sample(s)"),
        (lambda X, y: (X[:, :0], y), "Found array with 0 feature(s)"),
    ],
    ids=["inconsistent-lengths", "1d-X", "no-samples", "no-features"],
)
def test_malformed_input_at_fit(data, make_args, literal):
    X_bad, y_bad = make_args(*data)
    assert_same_error(lambda: ours().fit(X_bad, y_bad), lambda: sgd().fit(X_bad, y_bad), literal)


def _corrupt_columns(X, value):
    X.indices[X.indptr[1] - 1] = value


def _decreasing_indptr(X):
    X.indptr[2], X.indptr[3] = X.indptr[3], X.indptr[2]


def _indptr_past_the_end(X):
    X.indptr[-1] += 1


def _indptr_not_from_zero(X):
    X.indptr[0] = 1


def _indptr_too_short(X):
    X.indptr = X.indptr[:-1]  # the last row has no end


@pytest.mark.parametrize("method", ["fit", "partial_fit", "fit-X_val", *PREDICT_METHODS, "score"])
@pytest.mark.parametrize(
    "corrupt, literal",
    [
        (lambda X: _corrupt_columns(X, -1), "column indices must lie in [0, 3), got -1."),
        (lambda X: _corrupt_columns(X, N_FEATURES), "column indices must lie in [0, 3), got 3."),
        (_decreasing_indptr, "indptr must start at 0, never decrease and end within"),
        (_indptr_past_the_end, "indptr must start at 0, never decrease and end within"),
        (_indptr_not_from_zero, "indptr must start at 0, never decrease and end within"),
        (_indptr_too_short, f"indptr must have n_rows + 1 = {N_SAMPLES + 1} entries, got"),
    ],
    ids=["negative-column", "column-past-the-end", "decreasing-indptr", "indptr-past-nnz",
         "indptr-not-from-0", "indptr-too-short"],
)  # fmt: skip
def test_malformed_csr_matrix_is_refused(data, method, corrupt, literal):
    """Arrays scipy accepts without looking would make the kernels write outside W, and
    scipy's own product read outside X (a segmentation fault in prediction).

    scikit-learn's estimators take such matrices; scipy's full check calls every one of
    them invalid.
    """
    X, y = data
    X_bad = sp.csr_matrix(X)
    corrupt(X_bad)
    with pytest.raises(ValueError):
        X_bad.check_format(full_check=True)
    clf = ours()
    training = method in ("fit", "partial_fit")
    if not training and method != "fit-X_val":
        clf.fit(X, y)
    with pytest.raises(ValueError, match="^X is not a valid CSR matrix: .*" + re.escape(literal)):
        if method == "fit-X_val":
            clf.fit(X, y, X_val=X_bad, y_val=y)
        else:
            run(clf, method, X_bad, y)
    if training:
        assert not hasattr(clf, "coef_")  # nothing was trained
    assert clf.fit(sp.csr_matrix(X), y).score(X, y) > 0.5


@pytest.mark.parametrize("index", [np.int64, ">i8"], ids=["native", "big-endian"])
@pytest.mark.parametrize("column", [-1, N_FEATURES, 2**32 + 1], ids=["negative", "past", "2^32+1"])
def test_malformed_csr_matrix_with_64_bit_indices_is_refused(data, column, index):
    """A column of 2^32 + 1 would pass a check of the lower 32 bits only."""
    X, y = data

    def with_64_bit_indices():
        matrix = sp.csr_matrix(X)
        matrix.indices = matrix.indices.astype(index)
        matrix.indptr = matrix.indptr.astype(index)
        return matrix

    X_bad = with_64_bit_indices()
    _corrupt_columns(X_bad, column)
    refused = pytest.raises(ValueError, match=re.escape(f"[0, 3), got {column}."))
    with refused:
        ours().fit(X_bad, y)
    with refused:
        ours().partial_fit(X_bad, y, classes=np.unique(y))
    clf = ours().fit(with_64_bit_indices(), y)
    with refused:
        clf.predict_proba(X_bad)
    np.testing.assert_allclose(clf.predict_proba(with_64_bit_indices()), clf.predict_proba(X))


def test_sample_weight_of_wrong_length(data):
    X, y = data
    assert_same_error(
        lambda: ours().fit(X, y, sample_weight=np.ones(N_SAMPLES - 1)),
        lambda: sgd().fit(X, y, sample_weight=np.ones(N_SAMPLES - 1)),
        f"sample_weight.shape == ({N_SAMPLES - 1},), expected ({N_SAMPLES},)!",
    )


# ----------------------------------------------------------------------------- targets


def test_single_class_at_fit(data):
    X, _ = data
    y = np.zeros(N_SAMPLES, dtype=int)
    assert_same_error(
        lambda: ours().fit(X, y),
        lambda: sgd().fit(X, y),
        "The number of classes has to be greater than one; got 1 class",
    )


def test_single_class_at_first_partial_fit(data):
    X, _ = data
    y = np.zeros(N_SAMPLES, dtype=int)
    clf = ours()
    assert_same_error(
        lambda: clf.partial_fit(X, y, classes=[0]),
        lambda: sgd().partial_fit(X, y, classes=[0]),
        "The number of classes has to be greater than one; got 1 class",
    )
    # the failed call must not count as the first one
    assert not hasattr(clf, "classes_")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuous_target(data, method):
    X, _ = data
    y = np.random.default_rng(3).normal(size=N_SAMPLES)
    literal = "Unknown label type: continuous"
    clf = ours()
    call = (lambda: clf.fit(X, y)) if method == "fit" else (lambda: clf.partial_fit(X, y, [0, 1]))
    # SGDClassifier's message for this is an unreadable array dump; LogisticRegression's is the
    # sklearn standard (check_classification_targets).
    assert_same_error(call, lambda: LogisticRegression().fit(X, y), literal, "LogisticRegression")


def test_mixed_label_types(data):
    X, _ = data
    y = np.array([1, "a"] * (N_SAMPLES // 2), dtype=object)
    assert_same_error(
        lambda: ours().fit(X, y),
        lambda: LogisticRegression().fit(X, y),
        "Unknown label type: unknown",
        "LogisticRegression",
    )


@pytest.mark.parametrize(
    "y_kind, classes, shift, unknown",
    [("int", [0, 1], 1, "[2]"), ("str", ["a", "b"], None, "['c']")],
)
@pytest.mark.parametrize("first_call", [True, False], ids=["first-call", "later-call"])
def test_unknown_labels_in_partial_fit(data, y_kind, classes, shift, unknown, first_call):
    X, y = data
    y_known = y if y_kind == "int" else np.where(y == 1, "b", "a")
    y_bad = y + shift if y_kind == "int" else np.where(y == 1, "c", "a")
    clf, ref = ours(), sgd()
    if not first_call:
        clf.partial_fit(X, y_known, classes=classes)
        ref.partial_fit(X, y_known, classes=classes)
    reference = error_of(lambda: ref.partial_fit(X, y_bad, classes=classes))
    # sklearn's message ("classes should include all valid labels that can be in y") does not
    # name the culprit; ours names both the classes and the unknown labels.
    classes_repr = re.escape(str(np.asarray(classes)))
    with pytest.raises(ValueError, match=rf"classes_ = {classes_repr}.*{re.escape(unknown)}"):
        clf.partial_fit(X, y_bad, classes=classes)
    assert isinstance(reference, ValueError)
    if not first_call:
        # the rejected chunk did not train the model
        assert clf.n_iter_ == 1


def test_first_partial_fit_without_classes(data):
    X, y = data
    assert_same_error(
        lambda: ours().partial_fit(X, y),
        lambda: sgd().partial_fit(X, y),
        "classes must be passed on the first call to partial_fit.",
    )


def test_partial_fit_with_changed_classes(data):
    X, y = data
    clf = ours().partial_fit(X, y, classes=[0, 1])
    ref = sgd().partial_fit(X, y, classes=[0, 1])
    assert_same_error(
        lambda: clf.partial_fit(X, y, classes=[0, 2]),
        lambda: ref.partial_fit(X, y, classes=[0, 2]),
        "is not the same as on last call to partial_fit",
    )


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize(
    "make_labels",
    [
        lambda y: np.where(y == 1, "spam", "ham"),
        lambda y: np.where(y == 1, "spam", "ham").astype(object),
        lambda y: y.astype(bool),
        lambda y: np.array(["x", "y", "z"])[np.arange(y.shape[0]) % 3],
    ],
    ids=["str", "object", "bool", "str-multiclass"],
)
def test_string_and_bool_labels_work(data, method, make_labels):
    X, y = data
    labels = make_labels(y)
    clf = run(ours(), method, X, labels)
    # fit keeps classes_ as LogisticRegression does (SGDClassifier turns object labels into
    # str); partial_fit takes them from `classes`, as SGDClassifier.partial_fit does
    ref = LogisticRegression().fit(X, labels) if method == "fit" else run(sgd(), method, X, labels)
    np.testing.assert_array_equal(clf.classes_, ref.classes_)
    assert clf.classes_.dtype == ref.classes_.dtype
    predicted = clf.predict(X)
    assert predicted.dtype == ref.predict(X).dtype
    assert set(predicted) <= set(labels)
    assert clf.predict_proba(X).shape == (N_SAMPLES, clf.classes_.shape[0])
    assert 0.0 <= clf.score(X, labels) <= 1.0


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_column_vector_y_warns_like_sklearn(data, method):
    X, y = data
    column = y.reshape(-1, 1)
    with pytest.warns(DataConversionWarning) as reference:
        run(sgd(), method, X, column)
    expected = str(reference[0].message)
    assert "A column-vector y was passed when a 1d array was expected" in expected
    with pytest.warns(DataConversionWarning, match=re.escape(expected)):
        clf = run(ours(), method, X, column)
    # and then trains exactly as with the 1-D target
    np.testing.assert_array_equal(clf.coef_, run(ours(), method, X, y).coef_)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_two_column_y_is_rejected_like_sklearn(data, method):
    X, y = data
    Y = np.column_stack([y, 1 - y])
    assert_same_error(
        lambda: run(ours(), method, X, Y),
        lambda: run(sgd(), method, X, Y),
        f"y should be a 1d array, got an array of shape ({N_SAMPLES}, 2) instead.",
    )


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("n_negative", [1, N_SAMPLES])
def test_negative_sample_weight(data, method, n_negative):
    X, y = data
    sample_weight = np.ones(N_SAMPLES)
    sample_weight[:n_negative] = -1.0
    # SGDClassifier and LogisticRegression silently accept negative weights; AdaBoost is the
    # sklearn classifier that rejects them (with the standard check_non_negative message).
    assert_same_error(
        lambda: run(ours(), method, X, y, sample_weight=sample_weight),
        lambda: AdaBoostClassifier(n_estimators=2).fit(X, y, sample_weight=sample_weight),
        "Negative values in data passed to `sample_weight`.",
        "AdaBoostClassifier",
    )


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_all_zero_sample_weight(data, method):
    X, y = data
    assert_same_error(
        lambda: run(ours(), method, X, y, sample_weight=np.zeros(N_SAMPLES)),
        lambda: run(sgd(), method, X, y, sample_weight=np.zeros(N_SAMPLES)),
        "Sample weights must contain at least one non-zero number.",
    )


# partial_fit also leaks a RuntimeWarning first: see test_zero_sum_weights_partial_fit_is_quiet
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize(
    "class_weight, zero_class",
    [({0: 0, 1: 0}, None), ({0: 0, 1: 1}, 1), ({0: 1, 1: 0}, 0)],
    ids=["all-classes-zero", "class1-weights-zero", "class0-weights-zero"],
)
def test_zero_sum_weights_after_class_weight(data, method, class_weight, zero_class):
    X, y = data
    # the sample weights alone are fine; only their product with the class weights is zero
    sample_weight = None if zero_class is None else (y != zero_class).astype(float)
    clf = ours(class_weight=class_weight)
    with pytest.raises(ValueError, match=r"weights.*sum to zero.*at least one must be positive"):
        run(clf, method, X, y, sample_weight=sample_weight)
    assert not hasattr(clf, "coef_")


@pytest.mark.parametrize(
    "sample_weight_val, literal",
    [
        (np.full(5, np.nan), "Input sample_weight contains NaN."),
        (-np.ones(5), "Negative values in data passed to `sample_weight`."),
        (np.ones(4), "sample_weight.shape == (4,), expected (5,)!"),
    ],
    ids=["nan", "negative", "wrong-length"],
)
def test_bad_validation_sample_weight(data, sample_weight_val, literal):
    X, y = data
    with pytest.raises(ValueError, match=re.escape(literal)):
        ours().fit(X, y, X_val=X[:5], y_val=y[:5], sample_weight_val=sample_weight_val)


# ----------------------------------------------------------------------------- parameters

BAD_PARAMS = [
    ("alpha", -1),
    ("alpha", "1e-4"),
    ("batch_size", 0),
    ("batch_size", 2.5),
    ("batch_size", "big"),
    ("learning_rate", "foo"),
    ("eta0", 0),
    ("eta0", -0.1),
    ("momentum", 1.0),
    ("momentum", -0.5),
    ("l1_ratio", 2),
    ("l1_ratio", -0.1),
    ("max_iter", 0),
    ("max_iter", 10.0),
    ("penalty", "l3"),
    ("solver", "lbfgs"),
    ("class_weight", "auto"),
    ("tol", -1.0),
    ("n_iter_no_change", 0),
    ("validation_fraction", 0.0),
    ("validation_fraction", 1.0),
    ("average", -1),
    ("average", 0),  # SGDClassifier and SPEC: an int >= 1 (or a bool)
    ("power_t", np.inf),
    ("power_t", -0.5),  # SGDClassifier: deprecated in 1.8, an error from 1.10
    ("early_stopping", "yes"),
    ("shuffle", 2),
    ("warm_start", None),
    ("fit_intercept", "no"),
    ("random_state", "seed"),
    ("n_jobs", 1.5),
    ("n_jobs", 0),  # joblib's "n_jobs == 0 has no meaning", but only once fit runs
    ("verbose", -1),
]


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("name, value", BAD_PARAMS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMS])
def test_invalid_parameter_raises_at_fit_not_at_construction(data, method, name, value):
    X, y = data
    clf = SGDLogitClassifier(**{name: value})  # construction never validates
    assert clf.get_params()[name] is value
    pattern = (
        rf"^The '{name}' parameter of SGDLogitClassifier must be .+\. "
        rf"Got {re.escape(repr(value))} instead\.$"
    )
    with pytest.raises(InvalidParameterError, match=pattern) as info:
        run(clf, method, X, y)
    assert isinstance(info.value, ValueError)
    assert not hasattr(clf, "coef_")
    # set_params (the GridSearchCV route) does not validate either
    fixed = SGDLogitClassifier().set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=pattern):
        run(fixed, method, X, y)


@pytest.mark.parametrize("name, value", BAD_PARAMS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMS])
def test_invalid_parameter_set_between_partial_fit_calls_raises(data, name, value):
    # scikit-learn's fit context checks the parameters of the first partial_fit only:
    # eta0=-0.5 trained uphill, batch_size=0 raised ZeroDivisionError inside training
    X, y = data
    clf = SGDLogitClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    coef = clf.coef_.copy()
    with pytest.raises(InvalidParameterError, match=rf"^The '{name}' parameter"):
        clf.set_params(**{name: value}).partial_fit(X, y)
    np.testing.assert_array_equal(clf.coef_, coef)  # the model is as it was
    clf.set_params(**{name: SGDLogitClassifier().get_params()[name]}).partial_fit(X, y)
    assert clf.n_iter_ == 2


# the parameters that SGDClassifier constrains in exactly the same way
SHARED_PARAMS = [
    ("alpha", -1),
    ("max_iter", 0),
    ("tol", -1.0),
    ("n_iter_no_change", 0),
    ("validation_fraction", 1.0),
    ("early_stopping", "yes"),
    ("random_state", "seed"),
    ("verbose", -1),
]  # not n_jobs: SGDClassifier takes 0 and fails in joblib, sgdlogit refuses it up front;
# not power_t: SGDClassifier still takes negative values (with a FutureWarning)


@pytest.mark.parametrize("name, value", SHARED_PARAMS, ids=[n for n, _ in SHARED_PARAMS])
def test_invalid_parameter_message_matches_sgdclassifier(data, name, value):
    X, y = data
    assert_same_error(
        lambda: SGDLogitClassifier(**{name: value}).fit(X, y),
        lambda: SGDClassifier(**{name: value}).fit(X, y),
        f"The '{name}' parameter of SGDClassifier must be",
    )


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_optimal_learning_rate_needs_positive_alpha(data, method):
    X, y = data
    reference = error_of(lambda: sgd(learning_rate="optimal", alpha=0).fit(X, y))
    assert type(reference) is ValueError
    assert "alpha must be > 0" in str(reference)
    with pytest.raises(ValueError, match=re.escape(str(reference))) as info:
        run(ours(learning_rate="optimal", alpha=0.0), method, X, y)
    assert type(info.value) is type(reference)
    # set between two calls, it used to reach the schedule: ZeroDivisionError; the
    # training state stays as it was
    clf = run(ours(learning_rate="optimal"), method, X, y).set_params(alpha=0.0)
    n_iter, t = clf.n_iter_, clf.t_
    with pytest.raises(ValueError, match=re.escape(str(reference))):
        clf.partial_fit(X, y)
    clf.set_params(alpha=1e-4).partial_fit(X, y)
    assert (clf.n_iter_, clf.t_) == (n_iter + 1, 2 * t if method == "partial_fit" else t + t // 5)


# ----------------------------------------------------------------------------- fit arguments


def assert_init_refused_like_sgdclassifier(X, y, kwargs, pattern):
    """SGDClassifier refuses these initial weights too; ours says what shape it expects."""
    reference = error_of(lambda: sgd().fit(X, y, **kwargs))
    assert "does not match dataset" in str(reference)
    with pytest.raises(type(reference), match=pattern):
        ours().fit(X, y, **kwargs)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (
            {"coef_init": np.zeros((1, N_FEATURES + 1))},
            r"coef_init has shape \(1, 4\); expected \(1, 3\)",
        ),
        ({"coef_init": np.zeros((2, N_FEATURES))}, r"coef_init has shape \(2, 3\); expected"),
        ({"intercept_init": np.zeros(2)}, r"intercept_init has shape \(2,\); expected \(1,\)"),
    ],
    ids=["coef-features", "coef-outputs", "intercept"],
)
def test_init_of_wrong_shape_binary(data, kwargs, pattern):
    X, y = data
    assert_init_refused_like_sgdclassifier(X, y, kwargs, pattern)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (
            {"coef_init": np.zeros((1, N_FEATURES))},
            r"coef_init has shape \(1, 3\); expected \(3, 3\)",
        ),
        ({"intercept_init": np.zeros(1)}, r"intercept_init has shape \(1,\); expected \(3,\)"),
    ],
    ids=["coef", "intercept"],
)
def test_init_of_wrong_shape_multiclass(data3, kwargs, pattern):
    X, y = data3
    assert_init_refused_like_sgdclassifier(X, y, kwargs, pattern)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"coef_init": np.zeros((4, 3))}, r"coef_init has shape \(4, 3\); expected \(3, 4\)"),
        ({"coef_init": np.zeros(12)}, r"coef_init has shape \(12,\); expected \(3, 4\)"),
        ({"intercept_init": np.zeros((3, 1))}, r"intercept_init has shape \(3, 1\)"),
    ],
    ids=["coef-transposed", "coef-flat", "intercept-column"],
)
def test_init_of_the_right_size_but_another_shape_multiclass(kwargs, pattern):
    """Reshaped, a transposed (n_features, n_classes) coef_init would mix up the classes."""
    X, y = make_classification(
        n_samples=60, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
        random_state=0,
    )  # fmt: skip
    assert_init_refused_like_sgdclassifier(X, y, kwargs, pattern)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"coef_init": np.full(N_FEATURES, 0.5), "intercept_init": 0.25},
        {"coef_init": np.full((N_FEATURES, 1), 0.5), "intercept_init": [0.25]},
    ],
    ids=["vector-and-scalar", "column"],
)
def test_binary_init_takes_the_shapes_sgdclassifier_takes(data, kwargs):
    X, y = data
    # scikit-learn's SGDClassifier takes them too (and trains them in place: copies)
    sgd().fit(X, y, **{name: np.copy(value) for name, value in kwargs.items()})
    settings = dict(max_iter=1, tol=None, random_state=0)
    fitted = SGDLogitClassifier(**settings).fit(X, y, **kwargs)
    reference = SGDLogitClassifier(**settings).fit(
        X, y, coef_init=np.full((1, N_FEATURES), 0.5), intercept_init=np.array([0.25])
    )
    np.testing.assert_array_equal(fitted.coef_, reference.coef_)
    np.testing.assert_array_equal(fitted.intercept_, reference.intercept_)


def test_warm_start_with_other_features_names_them(data):
    X, y = data
    clf = SGDLogitClassifier(warm_start=True, random_state=0).fit(X, y)
    message = "warm_start requires the same features as the previous fit; X has 2 features"
    with pytest.raises(ValueError, match=re.escape(message + ", previously 3.")):
        clf.fit(X[:, :2], y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("which", ["coef_init", "intercept_init"])
def test_non_finite_init(data, bad, which):
    X, y = data
    init = {"coef_init": np.zeros((1, N_FEATURES)), "intercept_init": np.zeros(1)}
    init[which].flat[0] = bad
    with pytest.raises(ValueError, match="coef_init and intercept_init must be finite"):
        ours().fit(X, y, **init)


@pytest.mark.parametrize(
    "given, pattern",
    [
        ("X_val", "X_val and y_val must be given together"),
        ("y_val", "X_val and y_val must be given together"),
        ("sample_weight_val", "sample_weight_val requires X_val and y_val"),
    ],
)
def test_incomplete_validation_data(data, given, pattern):
    X, y = data
    value = {"X_val": X[:5], "y_val": y[:5], "sample_weight_val": np.ones(5)}[given]
    clf = ours()
    with pytest.raises(ValueError, match=pattern):
        clf.fit(X, y, **{given: value})
    assert not hasattr(clf, "coef_")


def test_bad_validation_data(data):
    X, y = data
    X_nan = X[:5].copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ours().fit(X, y, X_val=X_nan, y_val=y[:5])
    with pytest.raises(
        ValueError, match="X has 4 features, but SGDLogitClassifier is expecting 3"
    ):
        ours().fit(X, y, X_val=np.ones((5, 4)), y_val=y[:5])
    with pytest.raises(ValueError, match=r"y_val contains labels not seen in y: \[7\]"):
        ours().fit(X, y, X_val=X[:5], y_val=[0, 1, 7, 0, 1])


def test_warm_start_with_other_classes(data):
    X, y = data
    clf = ours(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="warm_start requires the same classes"):
        clf.fit(X, y + 1)


def test_class_weight_for_unknown_class(data):
    X, y = data
    assert_same_error(
        lambda: ours(class_weight={0: 1.0, 5: 2.0}).fit(X, y),
        lambda: sgd(class_weight={0: 1.0, 5: 2.0}).fit(X, y),
        "are not in class_weight",
    )


# ----------------------------------------------------------------------------- not fitted


@pytest.mark.parametrize("method", [*PREDICT_METHODS, "score"])
def test_not_fitted(data, method):
    X, y = data
    assert_same_error(
        lambda: run(ours(), method, X, y),
        lambda: run(sgd(), method, X, y),
        "instance is not fitted yet. Call 'fit' with appropriate arguments",
    )


# ----------------------------------------------------------------------------- divergence


def _scaled(scale, dtype=np.float64, container=np.asarray):
    def make(X):
        return container((X * scale).astype(dtype))

    return make


DIVERGING = [
    pytest.param(
        _scaled(1e150),
        {"eta0": 1e10},
        id="dense-1e150",
        # the curvature estimate also overflows here; see test_no_overflow_warnings_on_huge_x
        marks=pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    ),
    pytest.param(_scaled(1e60), {"eta0": 1e250}, id="dense-1e60"),
    pytest.param(_scaled(1e60, container=sp.csr_matrix), {"eta0": 1e250}, id="csr"),
    pytest.param(_scaled(1e15, np.float32), {"eta0": 1e10}, id="float32"),
    pytest.param(_scaled(1e60), {"eta0": 1e250, "momentum": 0.9}, id="momentum"),
    pytest.param(_scaled(1e60), {"eta0": 1e250, "solver": "adam"}, id="adam"),
    pytest.param(_scaled(1e60), {"eta0": 1e250, "average": True}, id="average"),
    pytest.param(_scaled(1e60), {"eta0": 1e250, "penalty": "l1"}, id="l1"),
]


def _assert_no_nan_model(clf):
    if hasattr(clf, "coef_"):
        assert np.all(np.isfinite(clf.coef_))
        assert np.all(np.isfinite(clf.intercept_))


@pytest.mark.parametrize("multiclass", [False, True], ids=["binary", "multiclass"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("transform, params", DIVERGING)
def test_divergence_raises_and_names_epoch(data, transform, params, method, multiclass):
    X, y = data
    if multiclass:
        y = np.arange(N_SAMPLES) % 3
    params = {"learning_rate": "constant", "penalty": None, **params}
    clf = ours(**params)
    with pytest.raises(ValueError, match=DIVERGED.format(epoch=1)):
        run(clf, method, transform(X), y)
    _assert_no_nan_model(clf)


def test_divergence_reports_the_epoch_it_happened_in(data):
    X, y = data
    clf = ours(learning_rate="constant", eta0=1e250, penalty=None)
    clf.partial_fit(X, y, classes=[0, 1])  # huge but finite weights
    coef = clf.coef_.copy()
    assert np.all(np.isfinite(coef))
    with pytest.raises(ValueError, match=DIVERGED.format(epoch=2)):
        clf.partial_fit(X * 1e60, y)
    # the last finite model is kept, never NaN
    np.testing.assert_array_equal(clf.coef_, coef)


def test_divergence_on_refit_keeps_no_nan(data):
    X, y = data
    clf = ours().fit(X, y)
    clf.set_params(learning_rate="constant", eta0=1e250, penalty=None)
    with pytest.raises(ValueError, match=DIVERGED.format(epoch=1)):
        clf.fit(X * 1e60, y)
    _assert_no_nan_model(clf)


def test_huge_but_stable_steps_do_not_raise(data):
    # guards against a divergence check that fires on merely large finite weights
    X, y = data
    clf = ours(learning_rate="constant", eta0=1e300, penalty=None).fit(X, y)
    assert np.all(np.isfinite(clf.coef_))
    assert np.abs(clf.coef_).max() > 1e200


# ----------------------------------------------------------------------------- edge cases
# Each of these was a bug once: failed calls, refits, extreme scales.


def test_failed_first_partial_fit_is_not_a_first_call(data):
    X, y = data
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    clf = ours()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.partial_fit(X_nan, y, classes=[0, 1])
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)


def test_diverged_refit_leaves_a_consistent_model(data):
    X, y = data
    clf = ours().fit(X, y)
    X_wide = np.random.default_rng(4).normal(size=(N_SAMPLES, N_FEATURES + 2)) * 1e60
    clf.set_params(learning_rate="constant", eta0=1e250, penalty=None)
    with pytest.raises(ValueError, match=DIVERGED.format(epoch=1)):
        clf.fit(X_wide, y)
    if hasattr(clf, "coef_"):
        assert clf.coef_.shape[1] == clf.n_features_in_


def test_no_overflow_warnings_on_huge_x(data):
    X, y = data
    reference = SGDLogitClassifier(random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf = SGDLogitClassifier(random_state=0).fit(X * 1e100, y)
    # the default step is scale-free: same model up to the scale (and rounding)
    np.testing.assert_allclose(clf.coef_ * 1e100, reference.coef_, rtol=1e-2)


@pytest.mark.parametrize(
    "scale",
    [
        1e-300,
        1e300,
        1e-320,
        1e307,
    ],
)
def test_uniform_sample_weight_of_any_scale_is_neutral(data, scale):
    # documented: sample weights are rescaled to mean one, only their ratios matter
    X, y = data
    reference = ours().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clf = ours().fit(X, y, sample_weight=np.full(N_SAMPLES, scale))
    np.testing.assert_allclose(clf.coef_, reference.coef_, rtol=1e-12)


def test_zero_sum_weights_partial_fit_is_quiet(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="sum to zero"):
            ours(class_weight={0: 0, 1: 0}).partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf])
def test_class_weight_must_be_finite_and_non_negative(data, weight):
    X, y = data
    with pytest.raises(ValueError, match="class_weight values must be finite and non-negative"):
        ours(class_weight={0: weight, 1: 2.0}).fit(X, y)


def test_failed_warm_start_fit_leaves_the_model_it_continues(data):
    # with warm_start the previous model was deleted by any error (NaN in X, other
    # features, divergence); SGDClassifier and a failed partial_fit keep it
    X, y = data
    bad_calls = [
        (X[:, :2], y, {}),
        (np.where(X > 1.5, np.nan, X), y, {}),
        (X, np.zeros_like(y), {}),
        (X * 1e10, y, {"learning_rate": "constant", "eta0": 1e300, "average": False}),
    ]
    expected = ours(warm_start=True).fit(X, y)
    expected.fit(X, y)
    for bad_X, bad_y, params in bad_calls:
        clf = ours(warm_start=True).fit(X, y)
        shown = clf.coef_.copy(), clf.intercept_.copy(), list(clf.loss_curve_)
        with pytest.raises(ValueError):
            clf.set_params(**params).fit(bad_X, bad_y)
        np.testing.assert_array_equal(clf.coef_, shown[0])
        np.testing.assert_array_equal(clf.intercept_, shown[1])
        assert clf.loss_curve_ == shown[2] and clf.n_features_in_ == X.shape[1]
        clf.set_params(**ours().get_params()).set_params(warm_start=True).fit(X, y)
        np.testing.assert_array_equal(clf.coef_, expected.coef_)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_undefined_logits_of_dense_rows_raise_in_every_method(n_classes):
    # products overflowing with both signs make a NaN logit, and predict_proba of a
    # binary model turned it into the certain probabilities [1, 0]
    rng = np.random.default_rng(0)
    clf = SGDLogitClassifier(random_state=0).fit(
        rng.normal(size=(60, 16)), np.arange(60) % n_classes
    )
    clf.coef_ = np.tile(np.where(np.arange(16) % 2, 9.9, -9.9), (clf.coef_.shape[0], 1))
    X = np.vstack([np.full(16, 1e308), np.ones(16)])
    for method in PREDICT_METHODS:
        with pytest.raises(ValueError, match="logits of some samples are undefined"):
            getattr(clf, method)(X)
    clf.coef_[0, 3] = np.nan
    for method in PREDICT_METHODS:
        for rows in (X[1:], sp.csr_matrix(X[1:])):
            with pytest.raises(ValueError, match="coef_ or intercept_ contains NaN or infinity"):
                getattr(clf, method)(rows)


@pytest.mark.parametrize(
    "coef_shape, intercept_shape", [((1, 2), (1,)), ((4,), (1,)), ((1, 4), ()), ((2, 4), (2,))]
)
def test_prediction_refuses_a_coef_of_another_shape(data, coef_shape, intercept_shape):
    # the compiled kernel read n_features_in_ coefficients whatever the shape of coef_
    # (values from outside the array), a 1-D coef_ failed inside numba
    rng = np.random.default_rng(0)
    clf = SGDLogitClassifier(random_state=0).fit(rng.normal(size=(40, 4)), np.arange(40) % 2)
    X = rng.normal(size=(5, 4))
    clf.coef_, clf.intercept_ = np.ones(coef_shape), np.zeros(intercept_shape)
    for method in PREDICT_METHODS:
        for rows in (X, sp.csr_matrix(X)):
            with pytest.raises(
                ValueError, match=r"do not fit a model of 2 classes and 4 features"
            ):
                getattr(clf, method)(rows)


def test_partial_fit_with_no_classes_says_so(data):
    X, y = data
    with pytest.raises(ValueError, match=r"greater than one; got 0 classes$"):
        SGDLogitClassifier().partial_fit(X, y, classes=[])


def test_failed_fit_leaves_an_unfitted_estimator(data):
    X, y = data
    clf = ours().fit(X, y)
    with pytest.raises(ValueError, match="greater than one"):
        clf.fit(X, np.zeros_like(y))
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_logits_beyond_the_float_range_never_come_out_as_nan():
    # finite features whose products with coef_ overflow with opposite signs: scipy's
    # sparse product gave NaN logits and NaN probabilities (LogisticRegression does too)
    clf = SGDLogitClassifier().fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 2])
    clf.coef_ = np.array([[10.0, 10.0], [-10.0, -10.0], [0.0, 0.0]])
    clf.intercept_ = np.zeros(3)
    X = np.array([[1e308, -1e308], [1.0, 2.0]])
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        with pytest.raises(ValueError, match="overflow"):
            getattr(clf, method)(sp.csr_matrix(X))
        # dense rows: the fused products overflow to a (signed) infinity, not NaN
        assert not np.isnan(getattr(clf, method)(X)).any()
