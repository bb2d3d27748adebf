"""Behaviour of SGDLogitClassifier: training API, attributes, reproducibility, integration."""

import io
import pickle
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import (
    dump_svmlight_file,
    load_breast_cancer,
    load_iris,
    load_svmlight_file,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier, _classifier, _training
from sgdlogit._objective import mean_log_loss, penalty_value
from sgdlogit._schedules import ADAM_ETA0


@pytest.fixture
def split_data():
    X, y = make_classification(
        n_samples=4000, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_partial_fit_over_chunks_reaches_fit_accuracy(split_data):
    X_train, X_test, y_train, y_test = split_data
    full = SGDLogitClassifier(random_state=0, batch_size=32).fit(X_train, y_train)
    streamed = SGDLogitClassifier(random_state=0, batch_size=32)
    classes = np.unique(y_train)
    for _ in range(5):
        for X_chunk, y_chunk in zip(
            np.array_split(X_train, 10), np.array_split(y_train, 10), strict=True
        ):
            streamed.partial_fit(X_chunk, y_chunk, classes=classes)
    assert streamed.score(X_test, y_test) >= full.score(X_test, y_test) - 0.01
    assert streamed.n_iter_ == 50
    assert len(streamed.loss_curve_) == 50
    # the schedule carries over: 50 calls of ceil(300 / 32) = 10 updates
    assert streamed.t_ == 50 * 10


def test_partial_fit_schedule_continues(split_data):
    X_train, _, y_train, _ = split_data
    clf = SGDLogitClassifier(learning_rate="invscaling", eta0=0.1, batch_size=100)
    clf.partial_fit(X_train, y_train, classes=np.unique(y_train))
    t_first = clf.t_
    clf.partial_fit(X_train, y_train)
    assert clf.t_ == 2 * t_first


def test_same_seed_is_bit_identical_across_runs(split_data):
    X_train, _, y_train, _ = split_data
    first = SGDLogitClassifier(random_state=7, average=10).fit(X_train, y_train)
    second = SGDLogitClassifier(random_state=7, average=10).fit(X_train, y_train)
    assert np.array_equal(first.coef_, second.coef_)
    assert np.array_equal(first.intercept_, second.intercept_)
    other = SGDLogitClassifier(random_state=8, average=10).fit(X_train, y_train)
    assert not np.array_equal(first.coef_, other.coef_)


FIT_IN_SUBPROCESS = """
import pickle, sys
import numpy as np
from sklearn.datasets import make_classification
from sgdlogit import SGDLogitClassifier
X, y = make_classification(n_samples=2000, n_features=15, n_classes=3, n_informative=6,
                           random_state=0)
clf = SGDLogitClassifier(random_state=11, solver="adam", max_iter=30, tol=None).fit(X, y)
sys.stdout.buffer.write(pickle.dumps((clf.coef_, clf.intercept_)))
"""


def test_same_seed_is_bit_identical_across_processes():
    results = [
        pickle.loads(
            subprocess.run(
                [sys.executable, "-c", FIT_IN_SUBPROCESS], capture_output=True, check=True
            ).stdout
        )
        for _ in range(2)
    ]
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


def test_concurrent_fits_in_threads_match_sequential(split_data):
    X_train, _, y_train, _ = split_data
    estimators = [SGDLogitClassifier(random_state=seed, batch_size=16) for seed in range(4)] + [
        SGDLogitClassifier(random_state=0, penalty="l1", average=True)
    ]
    sequential = [clone(e).fit(X_train, y_train).coef_ for e in estimators]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda e: clone(e).fit(X_train, y_train).coef_, estimators))
    for expected, got in zip(sequential, threaded, strict=True):
        assert np.array_equal(expected, got)


def test_grid_search_side_by_side_with_logistic_regression():
    X, y = load_breast_cancer(return_X_y=True)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", SGDLogitClassifier())])
    grid = [
        {
            "clf": [SGDLogitClassifier(random_state=0)],
            "clf__alpha": [1e-4, 1e-3, 1e-2],
            "clf__batch_size": [8, 64],
            "clf__eta0": ["auto", 0.01],
        },
        {"clf": [LogisticRegression(max_iter=1000)], "clf__C": [0.01, 0.1, 1.0, 10.0]},
    ]
    search = GridSearchCV(pipeline, grid, cv=5, n_jobs=2).fit(X, y)
    results = search.cv_results_
    is_sgd = np.array([isinstance(c, SGDLogitClassifier) for c in results["param_clf"]])
    best_sgd = results["mean_test_score"][is_sgd].max()
    best_lr = results["mean_test_score"][~is_sgd].max()
    assert is_sgd.sum() == 12 and (~is_sgd).sum() == 4
    assert best_sgd >= best_lr - 0.01


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_is_preserved_end_to_end(sparse, n_classes):
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    X = X.astype(np.float32)
    X = sp.csr_matrix(X) if sparse else X
    clf = SGDLogitClassifier(random_state=0).fit(X, y)
    assert clf.coef_.dtype == np.float32
    assert clf.intercept_.dtype == np.float32
    assert clf.decision_function(X).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    assert clf.predict_log_proba(X).dtype == np.float32


def _csr_with_index_dtypes(X, indices, indptr):
    """A copy of CSR ``X`` whose index arrays have the given dtypes (scipy's constructor
    would narrow them to int32)."""
    X = X.copy()
    X.indices = X.indices.astype(indices)
    X.indptr = X.indptr.astype(indptr)
    return X


@pytest.mark.parametrize(
    "params",
    [{}, {"average": True, "batch_size": 16}, {"penalty": "elasticnet", "solver": "adam"}],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_csr_with_64_bit_indices_trains_as_with_32_bit(params, n_classes):
    """load_svmlight_file returns int64 index arrays (SGDClassifier refuses them): the
    kernels read them as they are and train the same model to the bit."""
    X, y = make_classification(
        n_samples=600, n_features=40, n_informative=8, n_classes=n_classes, random_state=0
    )
    X[np.abs(X) < 1.0] = 0.0
    stream = io.BytesIO()
    dump_svmlight_file(X, y, stream)
    stream.seek(0)
    X_file, y_file = load_svmlight_file(stream, n_features=X.shape[1])
    assert X_file.indices.dtype == X_file.indptr.dtype == np.int64
    X32 = _csr_with_index_dtypes(X_file, np.int32, np.int32)
    settings = dict(random_state=0, max_iter=5, tol=None, **params)

    reference = SGDLogitClassifier(**settings).fit(X32, y_file)
    fitted = SGDLogitClassifier(**settings).fit(X_file, y_file)
    np.testing.assert_array_equal(fitted.coef_, reference.coef_)
    np.testing.assert_array_equal(fitted.intercept_, reference.intercept_)
    np.testing.assert_array_equal(fitted.predict_proba(X_file), reference.predict_proba(X32))
    # one index array of each width: read as int64
    mixed = _csr_with_index_dtypes(X_file, np.int32, np.int64)
    fitted = SGDLogitClassifier(**settings).fit(mixed, y_file)
    np.testing.assert_array_equal(fitted.coef_, reference.coef_)
    # big-endian index arrays (from a file written on such a machine): the structure check
    # read their bytes in the native order and refused valid columns
    swapped = _csr_with_index_dtypes(X_file, ">i4", ">i8")
    fitted = SGDLogitClassifier(**settings).fit(swapped, y_file)
    np.testing.assert_array_equal(fitted.coef_, reference.coef_)
    np.testing.assert_array_equal(fitted.predict_proba(swapped), reference.predict_proba(X32))

    streamed, reference = SGDLogitClassifier(**settings), SGDLogitClassifier(**settings)
    for rows in np.array_split(np.arange(X.shape[0]), 3):
        streamed.partial_fit(X_file[rows], y_file[rows], classes=np.unique(y))
        reference.partial_fit(X32[rows], y_file[rows], classes=np.unique(y))
    np.testing.assert_array_equal(streamed.coef_, reference.coef_)

    fitted = SGDLogitClassifier(**settings).fit(
        X32[:400], y[:400], X_val=X_file[400:], y_val=y[400:]
    )
    reference = SGDLogitClassifier(**settings).fit(
        X32[:400], y[:400], X_val=X32[400:], y_val=y[400:]
    )
    assert len(fitted.validation_loss_curve_) == 5
    assert fitted.validation_loss_curve_ == reference.validation_loss_curve_


def test_csr_index_arrays_reach_the_kernel_without_a_copy(monkeypatch):
    X, y = make_classification(n_samples=300, n_features=30, random_state=0)
    X[np.abs(X) < 1.0] = 0.0
    seen = []
    csr_epoch = _training.kernels.csr_epoch

    def recording(data, indices, indptr, *rest):
        seen.append((data, indices, indptr))
        return csr_epoch(data, indices, indptr, *rest)

    monkeypatch.setattr(_training.kernels, "csr_epoch", recording)
    for dtype in (np.int32, np.int64):
        A = _csr_with_index_dtypes(sp.csr_matrix(X), dtype, dtype)
        SGDLogitClassifier(max_iter=1, tol=None, random_state=0).fit(A, y)
        _, indices, indptr = seen[-1]
        assert indices.dtype == indptr.dtype == dtype
        for given, received in zip((A.data, A.indices, A.indptr), seen[-1], strict=True):
            assert np.shares_memory(given, received)


def test_other_dtypes_become_float64():
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    clf = SGDLogitClassifier(random_state=0).fit((X * 10).astype(np.int64), y)
    assert clf.coef_.dtype == np.float64


@pytest.mark.parametrize("n_classes", [2, 4])
def test_shapes_and_probabilities(n_classes):
    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=4, n_redundant=0, n_classes=n_classes,
        random_state=0,
    )  # fmt: skip
    clf = SGDLogitClassifier(random_state=0).fit(X, y)
    n_outputs = 1 if n_classes == 2 else n_classes
    assert clf.coef_.shape == (n_outputs, 5)
    assert clf.intercept_.shape == (n_outputs,)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_probabilities_are_finite_for_huge_decision_values():
    X, y = make_classification(n_samples=100, n_features=3, n_redundant=0, random_state=0)
    clf = SGDLogitClassifier(random_state=0).fit(X, y)
    clf.coef_ = clf.coef_ * 1e6
    far = X * 1e6
    proba, log_proba = clf.predict_proba(far), clf.predict_log_proba(far)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_string_and_bool_labels():
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    labels = np.array(["spam", "ham"])[y]
    clf = SGDLogitClassifier(random_state=0).fit(X, labels)
    assert set(clf.predict(X)) <= {"spam", "ham"}
    assert list(clf.classes_) == ["ham", "spam"]
    clf = SGDLogitClassifier(random_state=0).fit(X, y.astype(bool))
    assert clf.predict(X).dtype == bool


def test_pandas_input_sets_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=100, n_features=3, n_redundant=0, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = SGDLogitClassifier(random_state=0).fit(frame, pd.Series(y))
    assert list(clf.feature_names_in_) == ["a", "b", "c"]
    assert clf.n_features_in_ == 3


def test_l1_gives_exact_zeros():
    X, y = make_classification(
        n_samples=1000, n_features=50, n_informative=5, n_redundant=0, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    l1 = SGDLogitClassifier(penalty="l1", alpha=0.01, random_state=0).fit(X, y)
    l2 = SGDLogitClassifier(penalty="l2", alpha=0.01, random_state=0).fit(X, y)
    assert l1._average_from is False  # 'auto' does not average sparse iterates
    assert np.sum(l1.coef_ == 0.0) >= 30
    assert np.sum(l2.coef_ == 0.0) == 0
    sparse_l1 = SGDLogitClassifier(penalty="l1", alpha=0.01, random_state=0).fit(
        sp.csr_matrix(X), y
    )
    assert np.sum(sparse_l1.coef_ == 0.0) >= 30


def l1_model(n_classes, dtype):
    X, y = make_classification(
        n_samples=600, n_features=30, n_informative=4, n_redundant=0, n_classes=n_classes,
        random_state=0,
    )  # fmt: skip
    X = StandardScaler().fit_transform(X).astype(dtype)
    clf = SGDLogitClassifier(penalty="l1", alpha=0.02, random_state=0, max_iter=3, tol=None)
    return clf.fit(X, y), X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparsify_keeps_the_predictions(n_classes, dtype):
    clf, X, _ = l1_model(n_classes, dtype)
    dense_coef = clf.coef_.copy()
    assert np.mean(dense_coef == 0) > 0.5
    methods = ["decision_function", "predict_proba", "predict_log_proba", "predict"]
    before = {(m, c): getattr(clf, m)(c(X)) for m in methods for c in (np.asarray, sp.csr_matrix)}
    assert clf.sparsify() is clf
    assert sp.issparse(clf.coef_) and clf.coef_.format == "csr"
    assert clf.coef_.dtype == dtype
    assert clf.coef_.nnz == np.count_nonzero(dense_coef)
    np.testing.assert_array_equal(clf.coef_.toarray(), dense_coef)
    tolerance = 1e-6 if dtype == np.float32 else 1e-13
    for copy in (clf, pickle.loads(pickle.dumps(clf))):
        for (method, container), expected in before.items():
            # rows smaller than coef_ meet the sparse coef_, the others a dense copy
            for rows in (slice(None), slice(0, 1)):
                got = getattr(copy, method)(container(X[rows]))
                assert got.dtype == expected.dtype and got.shape == expected[rows].shape
                np.testing.assert_allclose(got, expected[rows], rtol=tolerance, atol=tolerance)
    assert clf.densify() is clf
    assert type(clf.coef_) is np.ndarray
    np.testing.assert_array_equal(clf.coef_, dense_coef)
    assert clf.densify().coef_ is clf.coef_  # a no-op on a dense coef_


@pytest.mark.parametrize(
    "change",
    [
        {"penalty": "l1"},
        {"penalty": "elasticnet"},
        {"solver": "adam"},
        {"momentum": 0.9},
        {"eta0": 0.01},
        {"penalty": "l1", "solver": "adam"},
    ],
    ids=lambda change: ",".join(f"{k}={v}" for k, v in change.items()),
)
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
@pytest.mark.parametrize("start", ["fit", "partial_fit"])
def test_set_params_between_partial_fit_calls(change, container, start):
    # the training state of the first call had no arrays for L1, momentum or Adam: the
    # kernels wrote outside them (a crash); now they are allocated, and the new optimizer
    # or eta0 starts at its own step, as in a fresh estimator
    rng = np.random.default_rng(0)
    X = container(rng.normal(size=(2000, 50)))
    y = (X[:, [0]].toarray().ravel() if sp.issparse(X) else X[:, 0]) > 0
    clf = SGDLogitClassifier(random_state=0, alpha=1e-3)
    if start == "fit":
        clf.fit(X, y)
    else:
        clf.partial_fit(X, y, classes=[False, True])
    clf.set_params(**change)
    for _ in range(3):
        clf.partial_fit(X, y)
    state, fresh = clf._state, clone(clf)
    fresh.partial_fit(X, y, classes=[False, True])
    if "eta0" in change:
        assert state.eta == change["eta0"]
    elif "solver" in change:
        assert state.eta == ADAM_ETA0
    else:
        assert state.eta == clf._eta_estimate * (1 - change.get("momentum", 0.0))
    assert state.q.shape == fresh._state.q.shape
    assert state.opt.shape == fresh._state.opt.shape
    assert np.all(np.isfinite(clf.coef_))
    assert clf.score(X, y) > 0.95


@pytest.mark.parametrize("before, after", [("sgd", "adam"), ("adam", "sgd")])
def test_another_solver_set_between_partial_fit_calls_starts_afresh(before, after):
    # Adam took the velocity of momentum for its first moment (a first step 87 times its
    # own), and momentum Adam's first moment for its velocity: the next call now makes
    # the update of a fresh estimator started from the same weights
    X, y = make_classification(500, 4, random_state=0)
    params = dict(
        momentum=0.9, batch_size=500, learning_rate="constant", eta0=0.01, shuffle=False,
        average=False, random_state=0,
    )  # fmt: skip
    clf = SGDLogitClassifier(solver=before, **params).partial_fit(X, y, classes=[0, 1])
    start = clf._state.W.copy()
    clf.set_params(solver=after).partial_fit(X, y)
    fresh = SGDLogitClassifier(solver=after, max_iter=1, tol=None, **params)
    fresh.fit(X, y, coef_init=start[:, :-1], intercept_init=start[:, -1])
    np.testing.assert_allclose(clf._state.W, fresh._state.W, rtol=1e-12, atol=1e-15)


def test_a_solver_and_a_batch_size_set_together_start_the_optimizer_afresh():
    # the new batch size restarted the step first, which hid the change of solver: Adam
    # kept the velocity of momentum as its first moment
    X, y = make_classification(500, 4, random_state=0)
    params = dict(momentum=0.9, learning_rate="constant", eta0=0.01, shuffle=False, average=False)
    clf = SGDLogitClassifier(batch_size=250, random_state=0, **params)
    clf.partial_fit(X, y, classes=[0, 1])
    start = clf._state.W.copy()
    clf.set_params(solver="adam", batch_size=500).partial_fit(X, y)
    fresh = SGDLogitClassifier(solver="adam", batch_size=500, max_iter=1, tol=None, **params)
    fresh.set_params(random_state=0).fit(
        X, y, coef_init=start[:, :-1], intercept_init=start[:, -1]
    )
    np.testing.assert_allclose(clf._state.W, fresh._state.W, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("before, after", [(False, True), (True, False), (False, 10)])
def test_average_set_between_partial_fit_calls_takes_effect(before, after):
    # the averaging of the first call went on (or stayed off) whatever set_params said;
    # the next call now makes the model of a fresh estimator started from the last iterate
    X, y = make_classification(500, 4, random_state=0)
    params = dict(batch_size=20, learning_rate="constant", eta0=0.05, shuffle=False)
    clf = SGDLogitClassifier(average=before, random_state=0, **params)
    clf.partial_fit(X, y, classes=[0, 1])
    start = clf._state.W.copy()
    clf.set_params(average=after).partial_fit(X, y)
    fresh = SGDLogitClassifier(average=after, max_iter=1, tol=None, random_state=0, **params)
    fresh.fit(X, y, coef_init=start[:, :-1], intercept_init=start[:, -1])
    np.testing.assert_allclose(clf.coef_, fresh.coef_, rtol=1e-12)
    np.testing.assert_allclose(clf.intercept_, fresh.intercept_, rtol=1e-12)
    assert bool(after) != np.array_equal(clf.coef_, clf._state.W[:, :-1])


@pytest.mark.parametrize("start", ["fit", "partial_fit"])
@pytest.mark.parametrize("new_size", [100, "auto", 1])
def test_batch_size_set_between_partial_fit_calls_takes_effect(start, new_size):
    # the batch size of the first call stayed, whatever set_params said (MLPClassifier
    # reads it at every call); the new one now takes effect, with the step a fresh
    # estimator takes for it ('auto' resolved on the chunk of the call)
    X, y = make_classification(1000, 20, random_state=0)
    clf = SGDLogitClassifier(batch_size=8, random_state=0)
    if start == "fit":
        clf.fit(X, y)
    else:
        clf.partial_fit(X, y, classes=[0, 1])
    updates = clf.t_
    clf.set_params(batch_size=new_size).partial_fit(X, y)
    fresh = clone(clf).partial_fit(X, y, classes=[0, 1])
    assert clf._batch_size == fresh._batch_size
    assert clf.t_ - updates == fresh.t_
    assert clf._eta_estimate == fresh._eta_estimate
    assert clf._state.eta == fresh._state.eta
    assert clf.score(X, y) > 0.8


def test_sparsified_model_predicts_dense_rows_in_the_compiled_kernel(monkeypatch):
    # scipy's product of dense rows with a sparse coef_ took 8x as long as the kernel
    # (200,000 x 100, 99% zeros): rows larger than coef_ go through the kernel
    from sgdlogit import _prediction

    clf, X, _ = l1_model(3, np.float64)
    calls = []

    def recording(X, coef, *args, **kwargs):
        calls.append(type(coef))
        return dense_scores(X, coef, *args, **kwargs)

    dense_scores = _prediction.dense_scores
    monkeypatch.setattr(_prediction, "dense_scores", recording)
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(clf.sparsify().predict_proba(X), expected, rtol=1e-13)
    assert calls == [np.ndarray, np.ndarray]
    clf.predict_proba(X[:1])  # one row is smaller than coef_: the sparse product
    assert len(calls) == 2


@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_continues_after_sparsify(n_classes):
    # SGDClassifier and LogisticRegression fail on a sparse coef_; ours goes on training
    # from the same weights, exactly as from the dense coef_
    clf, X, y = l1_model(n_classes, np.float64)
    sparsified = pickle.loads(pickle.dumps(clf)).sparsify()
    for continued in (clf, sparsified):
        continued.partial_fit(X, y)
        assert type(continued.coef_) is np.ndarray
    np.testing.assert_array_equal(sparsified.coef_, clf.coef_)
    sparsified.sparsify()
    for continued in (clf, sparsified):
        continued.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(sparsified.coef_, clf.coef_)
    from_dense = clone(clf).set_params(warm_start=False)
    from_sparse = clone(clf).set_params(warm_start=False)
    from_dense.fit(X, y, coef_init=clf.coef_, intercept_init=clf.intercept_)
    from_sparse.fit(X, y, coef_init=sp.csr_matrix(clf.coef_), intercept_init=clf.intercept_)
    np.testing.assert_array_equal(from_sparse.coef_, from_dense.coef_)


def test_average_is_the_mean_of_the_iterates():
    """With one update per call, the averaged model is the mean of the iterates."""
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    # the same seed: the intercept's scale depends on the estimated curvature, whose power
    # iteration starts at random
    params = dict(batch_size=60, learning_rate="constant", eta0=0.1, shuffle=False, random_state=0)
    plain = SGDLogitClassifier(average=False, **params)
    averaged = SGDLogitClassifier(average=True, **params)
    iterates = []
    for _ in range(5):
        plain.partial_fit(X, y, classes=[0, 1])
        averaged.partial_fit(X, y, classes=[0, 1])
        iterates.append(np.append(plain.coef_.ravel(), plain.intercept_))
    expected = np.mean(iterates, axis=0)
    np.testing.assert_allclose(averaged.coef_.ravel(), expected[:-1], rtol=1e-12)
    np.testing.assert_allclose(averaged.intercept_, expected[-1:], rtol=1e-12)


def test_average_starts_after_the_given_number_of_samples():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    params = dict(batch_size=60, learning_rate="constant", eta0=0.1, shuffle=False)
    plain = SGDLogitClassifier(average=False, **params)
    late = SGDLogitClassifier(average=121, **params)
    iterates = []
    for _ in range(4):
        plain.partial_fit(X, y, classes=[0, 1])
        late.partial_fit(X, y, classes=[0, 1])
        iterates.append(plain.coef_.ravel().copy())
    # samples seen after each update: 60, 120, 180, 240 -> the last two are averaged
    np.testing.assert_allclose(late.coef_.ravel(), np.mean(iterates[2:], axis=0), rtol=1e-12)


@pytest.mark.parametrize("epoch", range(1, 18))
def test_tail_average_restarts_at_powers_of_two(epoch):
    restarts = _training.restarts_average(epoch)
    assert restarts == (epoch in (2, 4, 8, 16))


@pytest.mark.parametrize(
    ("n_classes", "container"),
    [(2, np.asarray), (3, np.asarray), (2, sp.csr_matrix), (3, sp.csr_matrix)],
)
@pytest.mark.parametrize("n_epochs", [1, 3, 6])
def test_auto_average_covers_the_epochs_since_the_last_power_of_two(
    n_classes, container, n_epochs
):
    """After epoch e, average='auto' is the average started with epoch 2**k <= e."""
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=n_classes, random_state=0
    )
    X = container(X)
    last_start = 2 ** int(np.log2(n_epochs))
    params = dict(max_iter=n_epochs, tol=None, batch_size=16, random_state=0)
    tail = SGDLogitClassifier(average="auto", **params).fit(X, y)
    # averaging once the samples of the epochs before it have been seen, SGDClassifier's
    # way; 300 rows make a short last batch, which must not enter the average
    late = SGDLogitClassifier(average=(last_start - 1) * 300 + 1, **params).fit(X, y)
    everything = SGDLogitClassifier(average=True, **params).fit(X, y)
    np.testing.assert_array_equal(tail.coef_, late.coef_)
    np.testing.assert_array_equal(tail.intercept_, late.intercept_)
    if n_epochs >= 2:  # the first epoch left the average
        assert not np.allclose(tail.coef_, everything.coef_)
    streamed = SGDLogitClassifier(average="auto", batch_size=16, random_state=0)
    for _ in range(n_epochs):
        streamed.partial_fit(X, y, classes=np.unique(y))
    streamed_late = SGDLogitClassifier(
        average=(last_start - 1) * 300 + 1, batch_size=16, random_state=0
    )
    for _ in range(n_epochs):
        streamed_late.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(streamed.coef_, streamed_late.coef_)


def test_loss_curve_and_validation_curves(split_data):
    X_train, X_test, y_train, y_test = split_data
    clf = SGDLogitClassifier(random_state=0, batch_size=32)
    clf.fit(X_train, y_train, X_val=X_test, y_val=y_test)
    assert len(clf.loss_curve_) == clf.n_iter_
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(X_test, y_test))
    assert clf.t_ == clf.n_iter_ * int(np.ceil(X_train.shape[0] / 32))


def test_early_stopping_monitors_validation_loss(split_data):
    X_train, _, y_train, _ = split_data
    clf = SGDLogitClassifier(
        early_stopping=True, n_iter_no_change=3, random_state=0, max_iter=200, batch_size=32
    ).fit(X_train, y_train)
    assert clf.n_iter_ < 200
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == pytest.approx(min(clf.validation_loss_curve_))
    # the held-out tenth is not trained on: training sees 90% of the rows per epoch
    n_train = X_train.shape[0] - round(0.1 * X_train.shape[0])
    assert clf.t_ == clf.n_iter_ * int(np.ceil(n_train / 32))


def test_convergence_warning_when_max_iter_is_reached(split_data):
    X_train, _, y_train, _ = split_data
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        SGDLogitClassifier(max_iter=2, random_state=0).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SGDLogitClassifier(max_iter=2, tol=None, random_state=0).fit(X_train, y_train)


def test_adaptive_schedule_reduces_the_step(split_data):
    X_train, _, y_train, _ = split_data
    clf = SGDLogitClassifier(
        learning_rate="adaptive", eta0=0.05, n_iter_no_change=2, random_state=0
    ).fit(X_train, y_train)
    assert clf._state.eta < 0.05


def test_warm_start_and_coef_init_continue_from_weights(split_data):
    X_train, _, y_train, _ = split_data
    first = SGDLogitClassifier(random_state=0, max_iter=3, tol=None).fit(X_train, y_train)
    warm = clone(first).set_params(warm_start=True, learning_rate="constant", eta0=1e-12)
    warm.coef_, warm.intercept_, warm.classes_ = first.coef_, first.intercept_, first.classes_
    warm.fit(X_train, y_train)
    # a vanishing step keeps the warm-started weights where they were
    np.testing.assert_allclose(warm.coef_, first.coef_, atol=1e-9)
    init = SGDLogitClassifier(learning_rate="constant", eta0=1e-12, max_iter=1, tol=None)
    init.fit(X_train, y_train, coef_init=first.coef_, intercept_init=first.intercept_)
    np.testing.assert_allclose(init.coef_, first.coef_, atol=1e-9)
    cold = clone(first).set_params(learning_rate="constant", eta0=1e-12).fit(X_train, y_train)
    assert np.abs(cold.coef_).max() < 1e-6
    # with warm_start, the part not given continues from the previous fit (SGDClassifier)
    shifted = first.intercept_ + 1.0
    warm.fit(X_train, y_train, intercept_init=shifted)
    np.testing.assert_allclose(warm.coef_, first.coef_, atol=1e-9)
    np.testing.assert_allclose(warm.intercept_, shifted, atol=1e-9)
    warm.fit(X_train, y_train, coef_init=2 * first.coef_)
    np.testing.assert_allclose(warm.coef_, 2 * first.coef_, atol=1e-9)
    np.testing.assert_allclose(warm.intercept_, shifted, atol=1e-9)


def test_verbose_prints_one_line_per_epoch(split_data, capsys):
    X_train, X_test, y_train, y_test = split_data
    clf = SGDLogitClassifier(verbose=1, max_iter=3, tol=None, random_state=0)
    clf.fit(X_train, y_train, X_val=X_test, y_val=y_test)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 3
    assert "loss:" in lines[0] and "validation loss:" in lines[0] and "elapsed" in lines[0]


def test_sample_weight_routing_through_grid_search():
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    weights = np.where(y == 1, 10.0, 1.0)
    with config_context(enable_metadata_routing=True):
        clf = SGDLogitClassifier(random_state=0).set_fit_request(sample_weight=True)
        clf = clf.set_score_request(sample_weight=False)
        search = GridSearchCV(clf, {"alpha": [1e-4, 1e-2]}, cv=3)
        search.fit(X, y, sample_weight=weights)
        unweighted = SGDLogitClassifier(random_state=0, alpha=search.best_params_["alpha"])
        unweighted.set_fit_request(sample_weight=False).fit(X, y)
    # the weighted model predicts the up-weighted class more often
    assert (search.predict(X) == 1).mean() > (unweighted.predict(X) == 1).mean()


@pytest.mark.parametrize(
    "y",
    [
        np.array([3, 7, 3, 3, 9, 7], dtype=np.int8),  # small-range integers: counted
        np.array([4, 2, 3, 3, 2], dtype=np.int16),  # filling their range: their own index
        np.array([1, 0, 0, 1, 1], dtype=np.uint8),  # two values in a row: one count
        np.array([-3, -2, -2, -2]),
        np.array([-(2**62), 5, 5, 2**62], dtype=np.int64),  # too wide a range: np.unique
        np.array(["b", "a", "c", "a", "a"]),
        np.array([0.5, -1.0, 0.5]),
    ],
)
def test_encode_labels_gives_classes_indices_and_counts(y):
    classes, y_index, counts = _classifier._encode_labels(y)
    expected_classes, expected_index, expected_counts = np.unique(
        y, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(classes, expected_classes)
    assert classes.dtype == y.dtype
    np.testing.assert_array_equal(y_index, expected_index)
    assert y_index.dtype == np.int32
    np.testing.assert_array_equal(counts, expected_counts)


def test_fit_keeps_the_class_counts_for_a_later_balanced_partial_fit():
    y = np.array([0, 2, 2, 5, 5, 5] * 20)
    X = np.random.default_rng(0).normal(size=(y.shape[0], 3))
    clf = SGDLogitClassifier(random_state=0, max_iter=2, tol=None).fit(X, y)
    np.testing.assert_array_equal(clf._class_counts, [20, 40, 60])


def test_class_weight_balanced_in_partial_fit_uses_running_frequencies():
    X, y = make_classification(n_samples=600, n_features=5, weights=[0.9], random_state=0)
    clf = SGDLogitClassifier(class_weight="balanced", random_state=0)
    for X_chunk, y_chunk in zip(np.array_split(X, 3), np.array_split(y, 3), strict=True):
        clf.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    assert np.array_equal(clf._class_counts, np.bincount(y))
    plain = SGDLogitClassifier(random_state=0)
    for X_chunk, y_chunk in zip(np.array_split(X, 3), np.array_split(y, 3), strict=True):
        plain.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    assert (clf.predict(X) == 1).mean() > (plain.predict(X) == 1).mean()


def test_a_smaller_last_batch_takes_a_proportional_step():
    # 1,025 rows in batches of 512: the last row alone took the step sized for 512 rows,
    # and the model ended at 0.66 accuracy (0.90 on the first 1,024 rows)
    rng = np.random.RandomState(0)
    X = rng.randn(1025, 100)
    y = (X[:, :5].sum(axis=1) + rng.randn(1025) > 0).astype(int)
    reference = LogisticRegression().fit(X, y).score(X, y)
    for seed in range(3):
        clf = SGDLogitClassifier(batch_size=512, random_state=seed).fit(X, y)
        assert clf.score(X, y) >= reference - 0.01


def test_a_partial_fit_chunk_smaller_than_a_batch_takes_a_proportional_step():
    # chunks of 512, 512 and 1 row with batch_size=512 (a chunked reader): the lone row
    # took the step sized for 512 rows at every pass (accuracy 0.60-0.85 over ten passes)
    rng = np.random.RandomState(0)
    X = rng.randn(1025, 100)
    y = (X[:, :5].sum(axis=1) + rng.randn(1025) > 0).astype(int)
    reference = LogisticRegression().fit(X, y).score(X, y)
    clf = SGDLogitClassifier(batch_size=512, random_state=0)
    for _ in range(3):
        for rows in (slice(0, 512), slice(512, 1024), slice(1024, 1025)):
            clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        assert clf.score(X, y) >= reference - 0.02


@pytest.mark.parametrize("first_rows", [10, 100])
def test_a_given_step_is_shared_by_the_rows_of_a_batch_whatever_the_first_data(first_rows):
    # r / B of a given eta0 for r rows: with fewer first rows than batch_size, every
    # smaller batch took the whole step (a fit on 20 rows in batches of 64: 3.2x the
    # documented move), as only a step estimated for that many rows should
    X, y = make_classification(200, 3, n_informative=2, n_redundant=0, random_state=0)
    params = dict(learning_rate="constant", eta0=0.5, batch_size=64, shuffle=False, alpha=0.0)
    clf = SGDLogitClassifier(average=False, **params)
    clf.partial_fit(X[:first_rows], y[:first_rows], classes=[0, 1])
    before = clf._state.W.copy()
    clf.partial_fit(X[150:151], y[150:151])
    p = expit(X[150] @ before[0, :-1] + before[0, -1])
    expected = before[0, :-1] - 0.5 / 64 * (p - y[150]) * X[150]
    np.testing.assert_allclose(clf._state.W[0, :-1], expected, rtol=1e-12)
    # the first call on 20 rows takes 20 / 64 of the step too
    small = SGDLogitClassifier(average=False, max_iter=1, tol=None, **params).fit(X[:20], y[:20])
    gradient = (0.5 - y[:20]) @ X[:20] / 20
    np.testing.assert_allclose(small.coef_[0], -0.5 * 20 / 64 * gradient, rtol=1e-12)


@pytest.mark.parametrize("batch_size", ["auto", 1])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_weights_of_a_rare_class_reach_the_optimum(batch_size, seed):
    # 20 positives in 20,000 rows weigh 500 times the mean with class_weight='balanced':
    # a step sized for the mean weight diverged (objective 3x the optimum's, rising); so
    # did one sized from a sample of rows without positives (1.4-2.4x with one-sample
    # steps), and one-sample steps sized for the mean curvature overshot (1.1-1.3x)
    X, y = make_classification(20_000, 10, weights=[0.999], flip_y=0.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    alpha = 1e-4
    weights = np.where(y == 1, 0.5 * y.size / y.sum(), 0.5 * y.size / (y.size - y.sum()))

    def objective(model):
        logits = X @ model.coef_.ravel() + model.intercept_
        loss = np.logaddexp(0, logits) - y * logits
        return np.average(loss, weights=weights) + alpha / 2 * np.sum(model.coef_**2)

    clf = SGDLogitClassifier(
        class_weight="balanced", alpha=alpha, batch_size=batch_size, random_state=seed
    ).fit(X, y)
    optimum = LogisticRegression(C=1 / (alpha * weights.sum()), class_weight="balanced", tol=1e-10)
    assert objective(clf) <= 1.1 * objective(optimum.fit(X, y))


def test_adam_moves_the_intercept_at_its_own_step_on_unscaled_data():
    # the intercept's preconditioner of plain SGD (the mean square of the features, 1e6
    # here) multiplied Adam's scale-free step: intercept 213 instead of about 1
    X, y = make_classification(2000, 5, random_state=0)
    scaled = SGDLogitClassifier(solver="adam", tol=None, max_iter=30, random_state=0)
    unscaled = clone(scaled).fit(X * 1000, y)
    assert unscaled._intercept_scale > 1e5
    assert abs(unscaled.intercept_[0]) < 2
    assert unscaled.loss_curve_[-1] < 2 * scaled.fit(X, y).loss_curve_[-1]


@pytest.mark.parametrize(
    "container, params",
    [
        (np.asarray, {}),
        (lambda X: np.asarray(X, dtype=np.float32), {}),
        (sp.csr_matrix, {}),
        (np.asarray, {"early_stopping": True}),
        (np.asarray, {"average": False, "batch_size": 7}),
    ],
    ids=["float64", "float32", "csr", "early_stopping", "no_average"],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_no_weights_train_as_equal_weights_to_the_bit(container, params, n_classes):
    # weights of one skip the scaling's arithmetic, which would have left them ones:
    # constant weights and equal class weights (scaled to ones) train exactly the same
    X, y = make_classification(600, 8, n_informative=4, n_classes=n_classes, random_state=0)
    X = container(StandardScaler().fit_transform(X))
    settings = dict(random_state=0, max_iter=6, tol=None, **params)
    plain = SGDLogitClassifier(**settings).fit(X, y)
    fits = [
        SGDLogitClassifier(**settings).fit(X, y, sample_weight=np.full(600, 2.5)),
        SGDLogitClassifier(**settings).fit(X, y, sample_weight=np.ones(600)),
        SGDLogitClassifier(class_weight=dict.fromkeys(range(n_classes), 4.0), **settings).fit(
            X, y
        ),
    ]
    for other in fits:
        np.testing.assert_array_equal(other.coef_, plain.coef_)
        np.testing.assert_array_equal(other.intercept_, plain.intercept_)
        assert other.loss_curve_ == plain.loss_curve_


def test_huge_weights_only_count_by_their_ratios():
    # products and sums of weights near the float64 maximum overflowed: a divergence
    # error, validation curves of 0 and NaN, early stopping that never stopped
    X, y = make_classification(1000, 5, random_state=0)
    X = StandardScaler().fit_transform(X)
    settings = dict(random_state=0, max_iter=5, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huge = SGDLogitClassifier(class_weight={0: 1e200, 1: 1.0}, **settings)
        huge.fit(X, y, sample_weight=np.full(1000, 1e200))
        balanced = SGDLogitClassifier(class_weight="balanced", **settings)
        balanced.fit(X, y, sample_weight=np.full(1000, 1e308))
        validated = SGDLogitClassifier(**settings).fit(
            X[:800], y[:800], X_val=X[800:], y_val=y[800:], sample_weight_val=np.full(200, 1e306)
        )
        stopped = SGDLogitClassifier(early_stopping=True, random_state=0)
        stopped.fit(X, y, sample_weight=np.full(1000, 1.7e308))
    ratios = SGDLogitClassifier(class_weight={0: 1.0, 1: 1e-200}, **settings).fit(X, y)
    np.testing.assert_allclose(huge.coef_, ratios.coef_, rtol=1e-12)
    unit = SGDLogitClassifier(class_weight="balanced", **settings).fit(X, y)
    np.testing.assert_allclose(balanced.coef_, unit.coef_, rtol=1e-12)
    plain = SGDLogitClassifier(**settings).fit(X[:800], y[:800], X_val=X[800:], y_val=y[800:])
    np.testing.assert_allclose(validated.validation_loss_curve_, plain.validation_loss_curve_)
    np.testing.assert_allclose(validated.validation_scores_, plain.validation_scores_)
    unit = SGDLogitClassifier(early_stopping=True, random_state=0).fit(X, y)
    assert stopped.n_iter_ == unit.n_iter_
    np.testing.assert_allclose(stopped.validation_loss_curve_, unit.validation_loss_curve_)


def test_adam_on_huge_float32_features():
    # Adam's second moment (a squared gradient) was kept in float32 and overflowed from
    # gradients of 2e19: a false "diverged" error; Adam's steps do not depend on the scale
    X, y = make_classification(500, 5, random_state=0)
    X = (StandardScaler().fit_transform(X) * 1e21).astype(np.float32)
    clf = SGDLogitClassifier(solver="adam", fit_intercept=False, random_state=0).fit(X, y)
    assert clf.coef_.dtype == np.float32
    assert clf.score(X, y) > 0.8


def test_partial_fit_after_fit_counts_the_classes_of_fit():
    # a refit on other classes left the class counts of earlier partial_fit calls
    # behind, and the next partial_fit failed to add its own (shapes (2,) and (3,))
    X, y = make_classification(n_samples=600, n_features=5, n_classes=3, n_informative=3)
    clf = SGDLogitClassifier(class_weight="balanced", random_state=0)
    clf.partial_fit(X, y % 2, classes=[0, 1])
    clf.fit(X, y)
    np.testing.assert_array_equal(clf._class_counts, np.bincount(y))
    clf.partial_fit(X[:100], y[:100])
    np.testing.assert_array_equal(clf._class_counts, np.bincount(y) + np.bincount(y[:100]))


def test_pickle_round_trip(split_data):
    X_train, X_test, y_train, _ = split_data
    clf = SGDLogitClassifier(random_state=0).fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))
    restored.partial_fit(X_train, y_train)  # the training state travels too


def test_n_jobs_threads_are_deterministic_and_match_one_thread():
    X, y = make_classification(n_samples=5000, n_features=40, random_state=0)
    params = dict(batch_size=1024, max_iter=5, tol=None, random_state=0)
    threaded = [SGDLogitClassifier(n_jobs=2, **params).fit(X, y).coef_ for _ in range(2)]
    single = SGDLogitClassifier(n_jobs=1, **params).fit(X, y).coef_
    assert np.array_equal(threaded[0], threaded[1])
    # two chunks round differently from one, and nothing else differs
    assert not np.array_equal(threaded[0], single)
    np.testing.assert_allclose(threaded[0], single, rtol=1e-9)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([-128, 127], dtype=np.int8),  # the offset must not overflow int8
        np.array([3, 10**12], dtype=np.int64),  # a range too wide to count
        np.array([2**63 + 1, 2**63 + 5], dtype=np.uint64),  # beyond intp
        np.array([7, 2, 5], dtype=np.uint16),
        np.array([-1.0, 2.0]),
    ],
    ids=["int8-extremes", "wide-int64", "huge-uint64", "uint16-3-classes", "float"],
)
def test_numeric_labels_of_any_dtype_and_range(labels):
    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=3, n_classes=labels.size, random_state=0
    )
    target = labels[y]
    clf = SGDLogitClassifier(random_state=0).fit(X, target)
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    assert clf.classes_.dtype == labels.dtype
    assert clf.score(X, target) > 0.6


@pytest.mark.parametrize("block", [1, 8, 16])
def test_epoch_order_is_a_permutation_of_shuffled_blocks(block):
    rng = np.random.default_rng(0)
    rows = np.arange(5, 5 + 1000 + block // 2)  # a partial block at the end
    order = _training.epoch_order(rows, rng, block)
    np.testing.assert_array_equal(np.sort(order), rows)
    n_full = rows.size // block * block
    starts = order[:n_full:block]
    for offset in range(1, block):  # every block is a run of consecutive rows
        np.testing.assert_array_equal(order[offset:n_full:block], starts + offset)
    assert not np.array_equal(order, rows)


def _blocks_in_runs(runs, run_blocks, n_streams, n_blocks):
    """The blocks that runs of ``run_blocks`` blocks visited ``n_streams`` at a time give."""
    blocks = []
    for group in range(0, len(runs), n_streams):
        for step in range(run_blocks):
            blocks += [r * run_blocks + step for r in runs[group : group + n_streams]]
    return [b for b in blocks if b < n_blocks]


@pytest.mark.parametrize(
    ("block", "run_blocks", "n_streams"), [(32, 4, 16), (8, 4, 16), (4, 3, 5)]
)
def test_epoch_order_in_runs_takes_a_block_of_each_run_in_turn(block, run_blocks, n_streams):
    rng = np.random.default_rng(0)
    rows = np.arange(7, 7 + 9000 + block // 2)  # a short last run and a partial block
    order = _training.epoch_order(rows, rng, block, run_blocks=run_blocks, n_streams=n_streams)
    np.testing.assert_array_equal(np.sort(order), rows)
    n_blocks = rows.size // block
    n_full = n_blocks * block
    starts = order[:n_full:block]
    for offset in range(1, block):  # every block is a run of consecutive rows
        np.testing.assert_array_equal(order[offset:n_full:block], starts + offset)
    np.testing.assert_array_equal(order[n_full:], rows[n_full:])
    blocks = (starts - rows[0]) // block
    runs = list(dict.fromkeys(blocks // run_blocks))  # in the order they are first visited
    assert sorted(runs) == list(range(-(-n_blocks // run_blocks)))
    assert runs != sorted(runs)
    assert blocks.tolist() == _blocks_in_runs(runs, run_blocks, n_streams, n_blocks)


def test_epoch_order_in_runs_of_one_block_is_the_block_shuffle():
    rows = np.arange(1000)
    plain = _training.epoch_order(rows, np.random.default_rng(3), 8)
    for n_streams in (1, 16):
        runs = _training.epoch_order(
            rows, np.random.default_rng(3), 8, run_blocks=1, n_streams=n_streams
        )
        np.testing.assert_array_equal(runs, plain)


@pytest.mark.parametrize(
    ("batch_size", "block"),
    [(1, 8), (127, 8), (128, 8), (256, 16), (300, 16), (511, 16), (512, 32), (10**12, 32)],
)
def test_shuffle_block_keeps_16_blocks_a_batch_within_8_to_32_rows(batch_size, block):
    assert _classifier._shuffle_block(batch_size) == block
    assert _classifier._shuffle_block(np.int64(batch_size)) == block  # numpy ints too


@pytest.mark.parametrize(
    ("sparse", "batch_size", "expected"),
    [
        (False, "auto", 16),  # 300 rows a batch
        (False, 64, 8),
        (False, 255, 8),
        (False, 256, 16),
        (False, 512, 32),
        (False, 4096, 32),
        (True, "auto", 8),
        (False, 1, 8),
    ],
)
def test_large_data_is_shuffled_in_blocks(monkeypatch, sparse, batch_size, expected):
    blocks = []

    def recording_order(rows, rng, block, out=None, **runs):
        blocks.append((block, runs.get("run_blocks", 1), runs.get("n_streams", 1)))
        return original(rows, rng, block, out, **runs)

    original = _training.epoch_order
    monkeypatch.setattr(_training, "epoch_order", recording_order)
    monkeypatch.setattr(_classifier, "BLOCK_SHUFFLE_BYTES", 1_000)  # "large" from 1 kB
    X, y = make_classification(n_samples=60_000, n_features=5, random_state=0)
    if sparse:  # text-like (0.5% nonzeros): one-sample updates
        X = sp.random(60_000, 400, density=0.005, format="csr", random_state=0)
    SGDLogitClassifier(batch_size=batch_size, max_iter=2, tol=None, random_state=0).fit(X, y)
    # dense rows go by runs of 4 blocks, 16 side by side; CSR rows by plain blocks
    runs = (1, 1) if sparse else (4, 16)
    assert blocks == [(expected, *runs)] * 2


@pytest.mark.parametrize(
    ("density", "batch_size", "averaged"), [(0.005, 1, False), (0.02, 30, True)]
)
def test_auto_settings_of_sparse_input_follow_its_density(density, batch_size, averaged):
    """Text-like CSR: one-sample updates, no averaging; denser CSR: trained as dense data."""
    X = sp.random(6_000, 300, density=density, format="csr", random_state=0)
    y = np.random.default_rng(0).integers(0, 2, 6_000)
    clf = SGDLogitClassifier(max_iter=1, tol=None, random_state=0).fit(X, y)
    assert clf._batch_size == batch_size
    assert bool(clf._average_from) is averaged


@pytest.mark.parametrize(("solver", "batch_size"), [("sgd", 512), ("adam", 256)])
def test_auto_batches_of_large_dense_data(solver, batch_size):
    # n // 200 up to 512 rows; Adam, whose step per update is fixed, keeps 256 (batches of
    # 512 needed 1.5x its epochs on 120,000 x 50 rows)
    X = np.random.default_rng(0).standard_normal((120_000, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = SGDLogitClassifier(solver=solver, max_iter=1, tol=None, random_state=0).fit(X, y)
    assert clf._batch_size == batch_size


@pytest.mark.parametrize("solver", [{"solver": "adam"}, {"momentum": 0.9}])
def test_auto_batches_of_text_like_input_are_dense_sized_for_momentum_and_adam(solver):
    # their updates move every coefficient: on 2,000 rows of 2^18 features one-sample
    # batches made an epoch take 0.55 s (momentum) and 0.78 s (Adam), batches of 10 rows
    # 58 and 81 ms
    X = sp.random(2_000, 2**16, density=5e-4, format="csr", random_state=0)
    y = np.random.default_rng(0).integers(0, 2, 2_000)
    clf = SGDLogitClassifier(max_iter=1, tol=None, random_state=0, **solver).fit(X, y)
    assert clf._batch_size == 10
    clf.set_params(batch_size=4).partial_fit(X, y)
    assert clf._batch_size == 4


@pytest.mark.parametrize(
    ("first", "then", "batch_size"),
    [({}, {"momentum": 0.9}, 10), ({"momentum": 0.9}, {"momentum": 0.0}, 1),
     ({}, {"solver": "adam"}, 10), ({"solver": "adam"}, {"solver": "sgd"}, 1)],
)  # fmt: skip
def test_auto_batches_follow_an_optimizer_set_between_partial_fit_calls(first, then, batch_size):
    # the batch of the first call stayed: one-row momentum updates on text-like rows
    X = sp.random(2_000, 2**12, density=5e-3, format="csr", random_state=0)
    y = np.random.default_rng(0).integers(0, 2, 2_000)
    clf = SGDLogitClassifier(random_state=0, **first).partial_fit(X, y, classes=[0, 1])
    clf.set_params(**then).partial_fit(X, y)
    assert clf._batch_size == batch_size
    fresh = SGDLogitClassifier(random_state=0, **{**first, **then}).partial_fit(X, y, [0, 1])
    assert fresh._batch_size == batch_size


@pytest.mark.parametrize("stored", ["nothing", "zeros"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_csr_input_without_features_fits_the_class_frequencies(stored, n_classes):
    # no nonzero: the model is its intercept. Trained as text (one-sample steps of about
    # 6, no average) it ended wherever its last step left it (p = 0.24-0.34 for 0.30);
    # LogisticRegression and dense zeros give the class frequencies
    y = np.random.default_rng(0).choice(
        n_classes, 6_000, p=np.r_[0.3, np.full(n_classes - 1, 0.7 / (n_classes - 1))]
    )
    X = sp.csr_matrix((6_000, 40))
    if stored == "zeros":
        X = sp.csr_matrix(
            (np.zeros(600), (np.arange(600), np.arange(600) % 40)), shape=(6_000, 40)
        )
    frequencies = np.bincount(y) / y.size
    for seed in range(3):
        clf = SGDLogitClassifier(random_state=seed).fit(X, y)
        assert clf._batch_size > 1 and clf._average_from
        np.testing.assert_allclose(clf.predict_proba(X[:1])[0], frequencies, atol=0.01)


def test_csr_columns_stored_twice_train_as_their_sum():
    # scipy reads the values of a column stored twice in a row as their sum; the step
    # estimate counted them as two features (an intercept step 0.33 away, coefficients
    # 0.13 after the default fit)
    X, y = make_classification(500, 20, random_state=0)
    X = sp.csr_matrix(np.where(np.abs(X) > 1.5, X, 0.0))
    indptr, indices, data = [0], [], []
    for row in range(X.shape[0]):  # each value as two parts, a quarter and the rest
        part = slice(X.indptr[row], X.indptr[row + 1])
        indices += [X.indices[part], X.indices[part]]
        data += [X.data[part] / 4, X.data[part] * 0.75]
        indptr.append(indptr[-1] + 2 * (part.stop - part.start))
    twice = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=X.shape)
    assert not twice.has_canonical_format and twice.nnz == 2 * X.nnz
    stored = twice.copy()
    once = SGDLogitClassifier(random_state=0).fit(X, y)
    double = SGDLogitClassifier(random_state=0).fit(twice, y)
    np.testing.assert_allclose(double.coef_, once.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(double.intercept_, once.intercept_, rtol=1e-10, atol=1e-12)
    # the input stays as it was given
    assert twice.nnz == stored.nnz and np.array_equal(twice.data, stored.data)


def test_epoch_order_draws_every_permutation_equally_often():
    # 4 rows: 24 orders, each expected 500 times in 12,000 draws (an off-by-one in the
    # Fisher-Yates shuffle would skip orders or favour some)
    rng = np.random.default_rng(0)
    rows = np.arange(4)
    counts = {}
    for _ in range(12_000):
        key = tuple(_training.epoch_order(rows, rng, 1))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 24
    assert 400 < min(counts.values()) and max(counts.values()) < 600


@pytest.mark.parametrize(
    ("n_jobs", "batch_size", "n_features", "n_outputs", "sparse", "expected"),
    [
        (2, 32, 100, 1, False, 2),  # 16 rows per thread: threads pay off
        (2, 16, 100, 1, False, 1),  # 8 rows per thread: they do not
        (4, 48, 100, 1, False, 3),  # no chunk below 16 rows
        (2, 32, 5, 1, False, 1),  # 160 multiply-adds: too little work
        (2, 32, 5, 2, False, 2),  # two outputs: enough
        (2, 256, 100, 1, True, 1),  # CSR batches always run on one thread
        (None, 256, 100, 1, False, 1),
    ],
)
def test_chunks_per_batch(n_jobs, batch_size, n_features, n_outputs, sparse, expected):
    assert _training.n_chunks_for(n_jobs, batch_size, n_features, n_outputs, sparse) == expected


# Behaviours pinned after a mutation audit: each test fails on a plausible one-line slip
# (named in its comment) that the rest of the suite let through.


def test_a_batch_larger_than_the_data_is_one_full_batch():
    # the last batch takes (rows / step_batch) of the step, step_batch being the rows the
    # step was sized for: dividing by batch_size instead would shrink it 5-fold here
    X, y = make_classification(100, 5, random_state=0)
    params = dict(max_iter=3, tol=None, average=False, shuffle=False, random_state=0)
    larger = SGDLogitClassifier(batch_size=512, **params).fit(X, y)
    exact = SGDLogitClassifier(batch_size=100, **params).fit(X, y)
    np.testing.assert_allclose(larger.coef_, exact.coef_, rtol=1e-12)
    np.testing.assert_allclose(larger.intercept_, exact.intercept_, rtol=1e-12)


def test_a_chunk_larger_than_the_first_takes_one_full_step():
    # the step share is capped at 1: a chunk of 512 rows after one of 100 is one gradient
    # step of eta0, not 5.12 of them
    X, y = make_classification(612, 5, random_state=0)
    eta0 = 0.1
    clf = SGDLogitClassifier(
        batch_size=512, learning_rate="constant", eta0=eta0, penalty=None,
        fit_intercept=False, shuffle=False, average=False,
    )  # fmt: skip
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    w = clf.coef_.ravel().copy()
    X2, y2 = X[100:], y[100:]
    clf.partial_fit(X2, y2)
    expected = w - eta0 * X2.T @ (expit(X2 @ w) - y2) / X2.shape[0]
    np.testing.assert_allclose(clf.coef_.ravel(), expected, rtol=1e-10)


def test_zero_weight_rows_change_neither_training_nor_validation():
    # early stopping holds out weighted rows: rows of weight 0 must not count in the
    # validation loss or score (they did if the held-out weights were replaced by ones)
    X, y = make_classification(1000, 5, random_state=0)
    w = np.ones(1000)
    w[::3] = 0.0
    X_moved = X.copy()
    X_moved[w == 0] *= -5.0
    params = dict(early_stopping=True, random_state=0, max_iter=10, tol=None)
    a = SGDLogitClassifier(**params).fit(X, y, sample_weight=w)
    b = SGDLogitClassifier(**params).fit(X_moved, y, sample_weight=w)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_allclose(a.validation_loss_curve_, b.validation_loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=1e-12)


def test_weighted_validation_curves_are_those_of_the_returned_model():
    X, y = make_classification(1000, 5, flip_y=0.2, random_state=0)
    w_val = np.random.default_rng(0).uniform(0.1, 5.0, 200)
    clf = SGDLogitClassifier(random_state=0, max_iter=5, tol=None).fit(
        X[:800], y[:800], X_val=X[800:], y_val=y[800:], sample_weight_val=w_val
    )
    expected = mean_log_loss(clf.decision_function(X[800:]), y[800:], w_val)
    assert clf.validation_loss_curve_[-1] == pytest.approx(expected, rel=1e-10)
    weighted_accuracy = clf.score(X[800:], y[800:], sample_weight=w_val)
    assert clf.validation_scores_[-1] == pytest.approx(weighted_accuracy, rel=1e-12)


def test_early_stopping_holds_out_a_stratified_split():
    # features of zeros: every model predicts the majority class, so the validation score
    # is the share of class 0 among the held-out rows, 90 of 100 when stratified
    X = np.zeros((1000, 3))
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    for seed in range(5):
        clf = SGDLogitClassifier(early_stopping=True, random_state=seed, max_iter=3, tol=None)
        assert clf.fit(X, y).validation_scores_[-1] == pytest.approx(0.9, abs=1e-12)


def test_an_infinite_validation_loss_counts_as_no_improvement():
    # a validation row of 1e308 is scored certain and wrong: the loss is inf every epoch,
    # which never counted as "no improvement" on a best of inf, and training ran all
    # max_iter epochs
    X, y = make_classification(1000, 5, random_state=0)
    X_val, y_val = X[:100].copy(), y[:100]
    X_val[0] = 1e308
    clf = SGDLogitClassifier(early_stopping=True, max_iter=200, random_state=0)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    assert np.isinf(clf.validation_loss_curve_).all()
    assert clf.n_iter_ == clf.n_iter_no_change


def test_early_stopping_trains_every_class():
    # a class of one row held out (the whole split then fell back to a random one), or both
    # rows of a class held out by a random split of tiny data, left that class untrained
    y = np.r_[np.zeros(700, int), np.ones(299, int), 2]
    clf = SGDLogitClassifier(early_stopping=True, validation_fraction=0.5)
    for seed in range(10):
        train, val = clf._validation_split(y, np.ones(1000), np.random.RandomState(seed))
        assert 999 in train and np.bincount(y[val]).tolist() == [350, 150]
    tiny = np.repeat(np.arange(4), 2)  # 4 classes of 2 rows, 2 rows held out: no strata
    for seed in range(50):
        train, val = clf.set_params(validation_fraction=0.25)._validation_split(
            tiny, np.ones(8), np.random.RandomState(seed)
        )
        assert set(tiny[train]) == {0, 1, 2, 3} and val.shape[0] >= 1
        assert np.array_equal(np.sort(np.r_[train, val]), np.arange(8))


def test_balanced_partial_fit_weights_by_the_running_class_counts():
    # 'balanced' in partial_fit weights each chunk by the counts seen so far, on the scale
    # of n / (K n_k): the same as passing those weights by hand
    X, y = make_classification(800, 5, weights=[0.7], random_state=0)
    zeros, ones = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    chunks = [
        np.r_[zeros[:90], ones[:10]],
        np.r_[zeros[90:240], ones[10:160]],
        np.r_[zeros[240:300], ones[160:]],
    ]
    balanced = SGDLogitClassifier(class_weight="balanced", random_state=0, batch_size=16)
    by_hand = SGDLogitClassifier(random_state=0, batch_size=16)
    counts = np.zeros(2)
    for rows in chunks:
        counts += np.bincount(y[rows], minlength=2)
        weights = (counts.sum() / (2 * counts))[y[rows]]
        balanced.partial_fit(X[rows], y[rows], classes=[0, 1])
        by_hand.partial_fit(X[rows], y[rows], classes=[0, 1], sample_weight=weights)
    np.testing.assert_allclose(balanced.coef_, by_hand.coef_, rtol=1e-10)


def test_loss_curve_adds_the_penalty_of_the_returned_model():
    # the same iterates with and without averaging: their data terms agree once each
    # curve's penalty is taken off at the coefficients it returns
    X, y = make_classification(500, 5, random_state=0)
    params = dict(alpha=0.05, max_iter=4, tol=None, random_state=0)
    last = SGDLogitClassifier(average=False, **params).fit(X, y)
    averaged = SGDLogitClassifier(average=True, **params).fit(X, y)
    data_last = last.loss_curve_[-1] - penalty_value(last.coef_, "l2", 0.05, 0.15)
    data_averaged = averaged.loss_curve_[-1] - penalty_value(averaged.coef_, "l2", 0.05, 0.15)
    assert data_averaged == pytest.approx(data_last, rel=1e-12)
    assert not np.allclose(last.coef_, averaged.coef_)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("n_iter_no_change", [1, 2, 5])
def test_training_stops_after_n_iter_no_change_epochs_without_improvement(
    early_stopping, n_iter_no_change
):
    # tol=1e9: no epoch after the first improves enough, on the training objective or on
    # the validation loss; training stops as soon as n_iter_no_change of them have passed
    X, y = make_classification(500, 5, random_state=0)
    clf = SGDLogitClassifier(
        tol=1e9, n_iter_no_change=n_iter_no_change, early_stopping=early_stopping, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ == 1 + n_iter_no_change
    assert len(clf.loss_curve_) == clf.n_iter_


@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("in_place", [False, True])
def test_partial_fit_continues_from_a_changed_model(average, in_place):
    # as SGDClassifier: the next partial_fit starts from the coef_ and intercept_ shown
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    clf = SGDLogitClassifier(
        batch_size=300, learning_rate="constant", eta0=0.05, alpha=1e-3, average=average
    ).partial_fit(X, y, classes=[0, 1])
    coef = np.linspace(-1.0, 1.0, 6)[None, :]
    intercept = np.array([0.3])
    if in_place:
        clf.coef_[...] = coef
        clf.intercept_[...] = intercept
    else:
        clf.coef_, clf.intercept_ = coef.copy(), intercept.copy()
    clf.partial_fit(X, y)
    # one full-batch step from the changed model (an average restarts there: its mean
    # over this one update is the update)
    residual = expit(X @ coef[0] + intercept[0]) - y
    step = 0.05
    expected_coef = coef[0] - step * (X.T @ residual / 300 + 1e-3 * coef[0])
    expected_intercept = intercept[0] - step * clf._intercept_scale * residual.mean()
    np.testing.assert_allclose(clf.coef_[0], expected_coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_[0], expected_intercept, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("average", [False, True, "auto"])
def test_an_unchanged_model_continues_from_the_training_state(split_data, average):
    # coef_ shows the average, the state keeps the last iterate: an equal copy of coef_
    # is no change, and training goes on from the state as if nothing happened
    X_train, _, y_train, _ = split_data
    runs = []
    for touch in (False, True):
        clf = SGDLogitClassifier(random_state=0, batch_size=64, average=average)
        clf.partial_fit(X_train, y_train, classes=np.unique(y_train))
        if touch:
            clf.coef_, clf.intercept_ = clf.coef_.copy(), clf.intercept_.copy()
            clf.sparsify()
        clf.partial_fit(X_train, y_train)
        runs.append((clf.coef_, clf.intercept_))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert np.array_equal(runs[0][1], runs[1][1])


def test_a_changed_model_of_the_wrong_shape_is_refused(split_data):
    X_train, _, y_train, _ = split_data
    clf = SGDLogitClassifier(random_state=0).partial_fit(
        X_train, y_train, classes=np.unique(y_train)
    )
    clf.coef_ = clf.coef_.T
    with pytest.raises(ValueError, match=r"coef_ or intercept_ changed .* has shape"):
        clf.partial_fit(X_train, y_train)
    clf.coef_ = np.full((3, 20), np.nan)
    with pytest.raises(ValueError, match=r"changed .* must be finite"):
        clf.partial_fit(X_train, y_train)


@pytest.mark.parametrize("batch_size", ["auto", 1])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_an_offset_of_the_features_moves_only_the_intercept(n_classes, batch_size):
    # rows with offsets took steps sized for their mean row, which trained the other
    # directions 1/1000 as fast: offsets of 1e4 gave constant predictions (accuracy 0.50
    # against LogisticRegression's 0.86). Centered updates train the same model
    X, y = make_classification(
        1500, 8, n_informative=5, n_classes=n_classes, random_state=0
    )  # fmt: skip
    X -= X.mean(axis=0)
    offset = np.linspace(-1e4, 3e3, 8)
    # the same steps: the same iterates, to rounding
    params = dict(batch_size=batch_size, learning_rate="constant", eta0=0.02, random_state=0)
    plain = SGDLogitClassifier(**params).fit(X, y)
    moved = SGDLogitClassifier(**params).fit(X + offset, y)
    assert moved.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(moved.coef_, plain.coef_, rtol=1e-6, atol=1e-9)
    shifted = plain.intercept_ - plain.coef_ @ offset
    np.testing.assert_allclose(moved.intercept_, shifted, rtol=1e-6, atol=1e-6)
    # eta0='auto': the centered step allows for the sample's mean missing the data's, a
    # step 0.1% shorter here
    params = dict(batch_size=batch_size, tol=None, max_iter=20, random_state=0)
    plain = SGDLogitClassifier(**params).fit(X, y)
    moved = SGDLogitClassifier(**params).fit(X + offset, y)
    assert moved._eta_estimate == pytest.approx(plain._eta_estimate, rel=2e-3)
    np.testing.assert_allclose(moved.coef_, plain.coef_, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("load", [load_breast_cancer, load_wine, load_iris])
def test_uncentered_scaling_matches_logistic_regression(load):
    # StandardScaler(with_mean=False) on dense rows: 2-6 points of accuracy below
    # LogisticRegression() before the updates were centered
    X, y = load(return_X_y=True)
    gaps = []
    for seed in range(5):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, stratify=y, random_state=seed
        )  # fmt: skip
        scaler = StandardScaler(with_mean=False).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        ours = SGDLogitClassifier(random_state=seed).fit(X_train, y_train)
        with warnings.catch_warnings():  # lbfgs needs more than 100 iterations here
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs = LogisticRegression().fit(X_train, y_train)
        gaps.append(theirs.score(X_test, y_test) - ours.score(X_test, y_test))
    assert np.median(gaps) <= 0.01


def test_csr_chunks_after_centered_dense_ones_take_their_own_step():
    # CSR rows are not centered: they took the step sized for the centered updates of
    # the dense first chunk, and the loss jumped from 0.14 to 3.2
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler(with_mean=False).fit_transform(X)
    clf = SGDLogitClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    assert clf._state.center.size  # the dense chunk's updates were centered
    for _ in range(3):
        clf.partial_fit(sp.csr_matrix(X), y)
    assert clf._state.center.size == 0
    assert np.all(np.diff(clf.loss_curve_) < 0)


@pytest.mark.parametrize("start", ["csr", "dense"])
def test_a_batch_size_set_between_calls_reestimates_the_centering_and_its_scale(start):
    # the resize replaced the step and the centering but kept the intercept's scale of
    # the first chunk: a CSR first chunk's (plain updates, 2.5e3) with a centered step
    # made the loss of dense rows with offsets climb to 14
    X, y = make_classification(2000, 10, random_state=0)
    X = X + 50.0
    first = sp.csr_matrix(X) if start == "csr" else X
    clf = SGDLogitClassifier(random_state=0).partial_fit(first, y, classes=[0, 1])
    clf.set_params(batch_size=64).partial_fit(X, y)
    fresh = SGDLogitClassifier(batch_size=64, random_state=0).partial_fit(X, y, classes=[0, 1])
    assert clf._intercept_scale == fresh._intercept_scale
    np.testing.assert_array_equal(clf._state.center, fresh._state.center)
    for _ in range(3):
        clf.partial_fit(X, y)
    assert clf.loss_curve_[-1] < 0.5 and np.all(np.diff(clf.loss_curve_[1:]) < 0.01)


def test_fit_intercept_turned_off_between_calls_stops_the_centering():
    # the centered updates went on moving the intercept (-673.6 to -806.0)
    X, y = make_classification(1000, 5, random_state=0)
    X = X + 100.0
    clf = SGDLogitClassifier(average=False, random_state=0).partial_fit(X, y, classes=[0, 1])
    assert clf._state.center.size
    intercept = clf.intercept_.copy()
    clf.set_params(fit_intercept=False).partial_fit(X, y)
    np.testing.assert_array_equal(clf.intercept_, intercept)
    assert clf._state.center.size == 0
    clf.set_params(fit_intercept=True).partial_fit(X, y)  # the intercept learns again
    assert clf._intercept_scale > 0 and not np.array_equal(clf.intercept_, intercept)


def test_a_training_state_pickled_before_centering_continues():
    X, y = make_classification(400, 5, random_state=0)
    clf = SGDLogitClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    del clf._state.__dict__["center"]  # as pickled by the development version before it
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded._state.center.size == 0
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == 2


def test_other_dense_layouts_are_scored_by_the_compiled_kernel(monkeypatch):
    # Fortran-ordered, integer and DataFrame rows went through numpy's einsum, 3-5x as
    # slow as the kernel for 100 classes; they are copied once into its layout
    from sgdlogit import _prediction

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    clf = SGDLogitClassifier(random_state=0).fit(X, np.arange(300) % 4)
    calls = []
    dense_scores = _prediction.dense_scores

    def recording(X, *args, **kwargs):
        calls.append(X.flags.c_contiguous)
        return dense_scores(X, *args, **kwargs)

    monkeypatch.setattr(_prediction, "dense_scores", recording)
    rows = (X * 10).round()
    expected = clf.predict_proba(rows)
    for layout in (np.asfortranarray(rows), rows.astype(np.int64), rows[:, ::1].T.copy().T):
        np.testing.assert_allclose(clf.predict_proba(layout), expected, rtol=1e-12)
    assert calls == [True] * 4


def test_standardized_rows_run_one_power_iteration(monkeypatch):
    # the centered candidate doubled the step estimate's time (wide data: half of a fit)
    # where the mean row is too small for centering to halve the curvature
    from sgdlogit import _schedules

    calls = []
    top = _schedules._top_eigenvalue

    def counting(*args):
        calls.append(1)
        return top(*args)

    monkeypatch.setattr(_schedules, "_top_eigenvalue", counting)
    X, y = make_classification(3000, 20, random_state=0)
    X = StandardScaler().fit_transform(X)
    SGDLogitClassifier(random_state=0, max_iter=1, tol=None).fit(X, y)
    assert len(calls) == 1
    SGDLogitClassifier(random_state=0, max_iter=1, tol=None).fit(X + 10.0, y)
    assert len(calls) == 3
