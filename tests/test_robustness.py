"""Robustness of SGDLogitClassifier: hostile inputs, divergence, determinism, untouched inputs.

Four groups of tests:

- **Property-based fits** (hypothesis): shapes n 1-500, d 1-60; float32/float64/int/uint/bool
  features, dense (C, Fortran, strided and negative-stride views, read-only, memory-mapped,
  lists, pandas frames with odd column dtypes) or sparse (CSR, CSC, COO, ``csr_array``,
  non-canonical CSR) at density 0-1; any batch size; weights with zeros; int / string / bool /
  float / categorical labels with 2-12 classes and extreme imbalance; every penalty, solver,
  schedule and option. A fit either succeeds with finite outputs that satisfy the
  probability invariants, or raises a clean ``ValueError``/``TypeError`` from validation
  before any kernel ran (or the divergence error after), never an error from numba. The
  inputs (X, y, sample_weight, class_weight) are never modified.
- **Hostile values**: features at 1e+-300, float limits, subnormals, constant and duplicate
  columns, duplicate and conflicting rows, d = 100,000 with n = 50: a finite model or a clear
  error, never NaN. The divergence guard under huge step sizes.
- **Determinism**: same seed gives bit-identical models across runs, processes and 8
  concurrent threads; a fixed ``n_jobs`` is deterministic.

Example counts per property test: ``pytest tests/test_robustness.py
--hypothesis-show-statistics`` (the events list the outcomes and input kinds tried). The
``SGDLOGIT_HYPOTHESIS_PROFILE`` environment variable picks ``ci`` (default, derandomized),
``dev`` (fewer examples) or ``thorough`` (10x the examples, random seeds).
"""

import contextlib
import copy
import itertools
import os
import pickle
import re
import subprocess
import sys
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import hypothesis_settings as property_settings
from hypothesis import event, given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_array

from sgdlogit import SGDLogitClassifier
from sgdlogit import _kernels as kernels

# ----------------------------------------------------------------------------- outcomes

KERNEL_NAMES = ("dense_epoch", "dense_epoch_parallel", "csr_epoch")
DIVERGED = re.compile(r"diverged at epoch (\d+)\b.*[Ss]cal.*smaller eta0", re.S)
# What a validation error may be about, for the inputs drawn here (anything else fails the
# test, so a valid input wrongly rejected is caught too).
VALIDATION_ERRORS = re.compile(
    r"number of classes has to be greater than one"
    r"|sum to zero|zero weight|at least one non-zero"
    r"|early_stopping needs at least 2 samples"
    r"|every class has a single sample"
    r"|alpha must be > 0 since learning_rate is 'optimal'"
    r"|requires alpha > 0"
    r"|too large relative to those of the first partial_fit call"
    r"|too large or too small"  # only accepted for extreme feature scales, see below
)


@contextlib.contextmanager
def kernel_calls():
    """Record the names of the compiled kernels called inside the block."""
    calls = []
    originals = {name: getattr(kernels, name) for name in KERNEL_NAMES}

    def spy(name, kernel):
        def call(*args):
            calls.append(name)
            return kernel(*args)

        return call

    try:
        for name, kernel in originals.items():
            setattr(kernels, name, spy(name, kernel))
        yield calls
    finally:
        for name, kernel in originals.items():
            setattr(kernels, name, kernel)


def assert_clean_error(exc, calls):
    """``exc`` is what a scikit-learn estimator would raise: a ValueError or TypeError from
    validation (before any kernel ran) or the divergence error; nothing from numba."""
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    assert not type(exc).__module__.startswith("numba"), repr(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    assert not any(f"{os.sep}numba{os.sep}" in frame.filename for frame in frames), repr(exc)
    message = str(exc)
    if DIVERGED.search(message):
        return "diverged"
    assert not calls, f"error raised after the kernels ran: {exc!r}"
    assert VALIDATION_ERRORS.search(message), f"unexpected validation error: {exc!r}"
    return VALIDATION_ERRORS.search(message).group(0)


def attempt(call, runtime_warnings=None):
    """Run ``call()``; return ``(result, error label)`` after checking a failure is clean.

    RuntimeWarnings (overflow, invalid value, ...) are collected into ``runtime_warnings``.
    """
    with kernel_calls() as calls, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            result = call()
        except Exception as exc:  # every exception is checked just below
            label = assert_clean_error(exc, calls)
            event(f"outcome: error: {label}")
            result = None
        else:
            label = None
            assert calls, "the fit ran no kernel: has the dispatch moved? (update kernel_calls)"
            event("outcome: fitted")
    if runtime_warnings is not None:
        runtime_warnings |= _runtime_warnings(caught)
    return result, label


def check_fitted_model(clf, X, y_values, dtype):
    """Finite model and the probability invariants on ``X``."""
    classes = np.unique(np.asarray(y_values))
    np.testing.assert_array_equal(clf.classes_, classes)
    n_outputs = 1 if classes.shape[0] == 2 else classes.shape[0]
    assert clf.coef_.shape == (n_outputs, clf.n_features_in_)
    assert clf.intercept_.shape == (n_outputs,)
    assert clf.coef_.dtype == dtype, (clf.coef_.dtype, dtype)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
    assert np.all(np.isfinite(clf.loss_curve_))
    check_predictions(clf, X)


def check_predictions(clf, X):
    decision = clf.decision_function(X)
    proba = clf.predict_proba(X)
    log_proba = clf.predict_log_proba(X)
    predicted = clf.predict(X)
    single = proba.dtype == np.float32
    n_classes = clf.classes_.shape[0]
    assert proba.shape == (n_rows(X), n_classes)
    assert np.all(np.isfinite(decision)) and np.all(np.isfinite(proba))
    assert np.all(np.isfinite(log_proba))
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-5 if single else 1e-12)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=0, atol=1e-5 if single else 1e-12)
    # predict is the argmax of predict_proba (a rounded tie may go either way)
    top = proba.max(axis=1)
    tied = (proba == top[:, None]).sum(axis=1) > 1
    index = np.searchsorted(clf.classes_, predicted)
    np.testing.assert_array_equal(predicted[~tied], clf.classes_[proba[~tied].argmax(axis=1)])
    assert np.all(proba[np.arange(index.shape[0]), index] == top)

    # the decision function orders the classes as the probabilities do, up to the kernel
    # exp's rounding (within an ulp, not monotone to the last bit): logits 1 ulp apart,
    # equal sums of coefficients added in two orders, gave probabilities 1 ulp the other way
    def assert_increasing(values, axis=-1):
        step = np.diff(values, axis=axis)
        slack = 4 * np.spacing(np.take(values, range(1, values.shape[axis]), axis=axis))
        assert np.all(step >= -slack)

    if decision.ndim == 1:
        np.testing.assert_array_equal(predicted, clf.classes_[(decision > 0).astype(int)])
        order = np.argsort(decision, kind="stable")
        assert_increasing(proba[order, 1])
    else:
        np.testing.assert_array_equal(predicted, clf.classes_[decision.argmax(axis=1)])
        assert_increasing(np.take_along_axis(proba, np.argsort(decision, axis=1), axis=1))
    assert clf.score(X, predicted) == 1.0


# ----------------------------------------------------------------------------- inputs

FEATURE_DTYPES = ["float64", "float32", "int64", "int32", "int8", "uint8", "bool"]
CONTAINERS = [
    "C", "F", "strided-rows", "strided-cols", "negative-stride", "readonly", "memmap-r",
    "memmap-c", "list", "dataframe", "csr", "csr-noncanonical", "csr-readonly",
    "csr-int64-indices", "csr_array", "csc", "coo",
]  # fmt: skip
PANDAS_DTYPES = ["float32", "float64", "int8", "uint16", "bool", "Int64", "Float64", "boolean"]
_memmap_names = itertools.count()


def feature_matrix(rng, n, d, dtype, density, scale):
    if dtype == "bool":
        X = rng.random((n, d)) < 0.5
    elif dtype.startswith(("int", "uint")):
        low = 0 if dtype.startswith("uint") else -5
        X = rng.integers(low, 6, (n, d)).astype(dtype)
    else:
        X = (rng.normal(size=(n, d)) * scale).astype(dtype)
    X = X * (rng.random((n, d)) < density).astype(X.dtype)
    if d > 2 and rng.random() < 0.2:
        X[:, 0] = X[0, 0]  # a constant column
        X[:, 1] = X[:, 2]  # and a duplicate one
    return X


def as_container(X, container, rng, memmap_dir):
    """``X`` in the given container; returns ``(container, dtype of the fitted model)``."""
    model_dtype = np.float32 if X.dtype == np.float32 else np.float64
    if container == "C":
        return np.ascontiguousarray(X), model_dtype
    if container == "F":
        return np.asfortranarray(X), model_dtype
    if container == "strided-rows":
        big = np.zeros((2 * X.shape[0], X.shape[1]), dtype=X.dtype)
        big[::2] = X
        return big[::2], model_dtype
    if container == "strided-cols":
        big = np.zeros((X.shape[0], 3 * X.shape[1]), dtype=X.dtype)
        big[:, ::3] = X
        return big[:, ::3], model_dtype
    if container == "negative-stride":
        return np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1], model_dtype
    if container == "readonly":
        X = X.copy()
        X.flags.writeable = False
        return X, model_dtype
    if container.startswith("memmap"):
        path = memmap_dir / f"X{next(_memmap_names)}.npy"
        np.save(path, X)
        return np.load(path, mmap_mode=container[-1]), model_dtype
    if container == "list":
        return X.tolist(), np.float64
    if container == "dataframe":
        dtypes = [PANDAS_DTYPES[i] for i in rng.integers(0, len(PANDAS_DTYPES), X.shape[1])]
        if rng.random() < 0.3:
            dtypes = ["float32"] * X.shape[1]
        columns = {f"x{j}": _column(X[:, j], t) for j, t in enumerate(dtypes)}
        # scikit-learn converts a frame of numpy dtypes by numpy's promotion, which keeps
        # float32 beside small-integer and bool columns; a nullable column gives float64
        numpy_only = all(t in ("float32", "float64", "int8", "uint16", "bool") for t in dtypes)
        promoted = np.result_type(*dtypes) if numpy_only else np.float64
        return pd.DataFrame(columns), np.float32 if promoted == np.float32 else np.float64
    if container == "csr-noncanonical":
        A = sp.coo_matrix(X)
        keys = rng.permutation(A.nnz)
        # unsorted entries and each value split into two duplicates
        rows = np.concatenate([A.row[keys], A.row[keys]])
        cols = np.concatenate([A.col[keys], A.col[keys]])
        values = np.concatenate([A.data[keys] / 2, A.data[keys] / 2]).astype(model_dtype)
        order = np.argsort(rows, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))])
        csr = sp.csr_matrix(
            (values[order], cols[order].astype(np.int32), indptr.astype(np.int32)),
            shape=X.shape,
        )
        return csr, model_dtype
    sparse = {
        "csr": sp.csr_matrix,
        "csr-readonly": sp.csr_matrix,
        "csr-int64-indices": sp.csr_matrix,
        "csr_array": sp.csr_array,
        "csc": sp.csc_matrix,
        "coo": sp.coo_matrix,
    }[container](X)
    if container == "csr-readonly":
        for array in (sparse.data, sparse.indices, sparse.indptr):
            array.flags.writeable = False
    if container == "csr-int64-indices":
        sparse.indices = sparse.indices.astype(np.int64)
        sparse.indptr = sparse.indptr.astype(np.int64)
    return sparse, model_dtype


def _column(values, pandas_dtype):
    """``values`` as a pandas column of the given (numpy or nullable) dtype."""
    values = np.asarray(values, dtype=np.float64)
    if pandas_dtype in ("bool", "boolean"):
        values = values != 0
    elif pandas_dtype in ("int8", "Int64"):
        values = np.clip(np.rint(values), -128, 127).astype(np.int64)
    elif pandas_dtype == "uint16":
        values = np.clip(np.rint(np.abs(values)), 0, 65535).astype(np.int64)
    return pd.array(values, dtype=pandas_dtype)


LABEL_KINDS = ["int", "negative-int", "uint8", "str", "object-str", "float", "bool", "category"]


def labels(rng, n, n_classes, imbalance, kind):
    """Labels of ``n`` samples (numpy array, list or pandas Series) and their values."""
    if imbalance == "uniform":
        index = rng.integers(0, n_classes, n)
    elif imbalance == "extreme":
        # 97% of one class, a few samples (at least one if n allows) of the others
        index = np.where(rng.random(n) < 0.97, 0, rng.integers(0, n_classes, n))
        spots = rng.permutation(n)[: n_classes - 1]
        index[spots] = np.arange(1, spots.shape[0] + 1)
    else:  # one sample of the last class
        index = rng.integers(0, max(1, n_classes - 1), n)
        index[rng.integers(n)] = n_classes - 1
    if kind == "bool" and n_classes != 2:
        kind = "int"
    event(f"labels: {kind}")
    values = {
        "int": np.arange(n_classes) * 3 + 1,
        "negative-int": np.arange(n_classes) - 100,
        "uint8": np.arange(n_classes, dtype=np.uint8) * 20,
        "str": np.array([f"class {k}" for k in range(n_classes)]),
        "object-str": np.array([f"c{k}" for k in range(n_classes)], dtype=object),
        "float": np.arange(n_classes, dtype=float) * 2.0,
        "bool": np.array([False, True]),
        "category": np.array([f"k{k}" for k in range(n_classes)], dtype=object),
    }[kind]
    y = values[index]
    if kind == "category":
        return pd.Series(pd.Categorical(y)), y
    if kind == "object-str":
        return list(y), y
    return y, y


def sample_weights(rng, n, kind):
    if kind == "none":
        return None
    w = rng.uniform(0.1, 5.0, n)
    if kind == "with-zeros":
        w *= rng.random(n) < 0.7
    if kind == "integer":
        return rng.integers(0, 4, n)
    if kind == "readonly":
        w.flags.writeable = False
    if kind == "extreme-ratio":
        w = np.where(rng.random(n) < 0.5, 1e-30, 1e30)  # within float32 range
    return w


def class_weights(rng, kind, y_values):
    if kind in (None, "balanced"):
        return kind
    classes = np.unique(y_values)
    chosen = classes[rng.random(classes.shape[0]) < 0.7]
    return {c.item() if hasattr(c, "item") else c: float(rng.uniform(0, 4)) for c in chosen}


@st.composite
def estimator_params(draw, n):
    learning_rate = draw(
        st.sampled_from(["auto", "constant", "optimal", "invscaling", "adaptive"])
    )
    solver = draw(st.sampled_from(["sgd", "sgd", "adam"]))
    params = dict(
        penalty=draw(st.sampled_from(["l2", "l1", "elasticnet", None])),
        alpha=draw(st.sampled_from([0.0, 1e-6, 1e-4, 1e-2, 1.0])),
        l1_ratio=draw(st.floats(0, 1)),
        fit_intercept=draw(st.booleans()),
        batch_size=draw(st.one_of(st.just("auto"), st.integers(1, n + 10))),
        learning_rate=learning_rate,
        eta0=draw(st.sampled_from(["auto", 1e-3, 0.1, 1.0])),
        power_t=draw(st.sampled_from([0.25, 0.5, 1.0])),
        solver=solver,
        momentum=draw(st.sampled_from([0.0, 0.0, 0.5, 0.9])),
        average=draw(st.one_of(st.booleans(), st.just("auto"), st.integers(1, 2 * n))),
        max_iter=draw(st.integers(1, 5)),
        tol=draw(st.sampled_from([None, 1e-3])),
        n_iter_no_change=draw(st.integers(1, 3)),
        early_stopping=draw(st.booleans()),
        validation_fraction=draw(st.sampled_from([0.1, 0.3, 0.5])),
        shuffle=draw(st.booleans()),
        n_jobs=draw(st.sampled_from([None, 1, 2, -1])),
        random_state=draw(st.integers(0, 2**31 - 1)),
    )
    event(f"solver: {solver}, learning_rate: {learning_rate}")
    return params


@st.composite
def problems(draw, max_samples=500, max_features=60):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.one_of(st.integers(1, 40), st.integers(41, max_samples)))
    d = draw(st.integers(1, max_features))
    n_classes = draw(st.sampled_from([2, 2, 2, 3, 4, 7, 12]))
    imbalance = draw(st.sampled_from(["uniform", "extreme", "singleton"]))
    label_kind = draw(st.sampled_from(LABEL_KINDS))
    y, y_values = labels(rng, n, n_classes, imbalance, label_kind)
    dtype = draw(st.sampled_from(FEATURE_DTYPES))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.7, 0.9, 1.0, 1.0]))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-3, 1e3]))
    X = feature_matrix(rng, n, d, dtype, density, scale)
    container = draw(st.sampled_from(CONTAINERS))
    weight_kind = draw(
        st.sampled_from(["none", "none", "uniform", "with-zeros", "integer", "readonly",
                         "extreme-ratio"])
    )  # fmt: skip
    class_weight = class_weights(
        rng, draw(st.sampled_from([None, None, "balanced", "dict"])), y_values
    )
    event(f"container: {container}")
    event(f"features: {dtype}")
    event(f"imbalance: {imbalance}")
    return dict(
        rng=rng,
        X=X,
        y=y,
        y_values=y_values,
        container=container,
        sample_weight=sample_weights(rng, n, weight_kind),
        class_weight=class_weight,
        n_classes_present=np.unique(y_values).shape[0],
    )


def snapshot(obj):
    """A deep copy of an input, to check it was not modified."""
    if sp.issparse(obj):
        return (obj.format, obj.shape, _sparse_arrays(obj))
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return obj.copy(deep=True)
    if isinstance(obj, np.ndarray):
        return (np.array(obj, copy=True), obj.flags.writeable)
    return copy.deepcopy(obj)


def _sparse_arrays(obj):
    names = ("data", "indices", "indptr", "row", "col")
    return {name: getattr(obj, name).copy() for name in names if hasattr(obj, name)}


def assert_unchanged(obj, before):
    if sp.issparse(obj):
        fmt, shape, arrays = before
        assert (obj.format, obj.shape) == (fmt, shape)
        for name, got in _sparse_arrays(obj).items():
            assert got.dtype == arrays[name].dtype, name
            np.testing.assert_array_equal(got, arrays[name], err_msg=name)
    elif isinstance(obj, (pd.DataFrame, pd.Series)):
        pd.testing.assert_frame_equal(pd.DataFrame(obj), pd.DataFrame(before), check_exact=True)
    elif isinstance(obj, np.ndarray):
        array, writeable = before
        assert obj.dtype == array.dtype and obj.flags.writeable == writeable
        np.testing.assert_array_equal(obj, array)
    else:
        assert type(obj) is type(before)
        if isinstance(obj, dict):
            assert list(obj.items()) == list(before.items())
            assert [type(k) for k in obj] == [type(k) for k in before]
        else:
            assert obj == before


def n_rows(X):
    return len(X) if isinstance(X, list) else X.shape[0]


# ----------------------------------------------------------------------------- property tests


@pytest.fixture(scope="module")
def memmap_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("memmaps")


@property_settings(max_examples=1000)
@given(data=st.data())
def test_fit_never_crashes_and_gives_consistent_probabilities(data, memmap_dir):
    problem = data.draw(problems())
    n = problem["X"].shape[0]
    params = data.draw(estimator_params(n))
    X, dtype = as_container(problem["X"], problem["container"], problem["rng"], memmap_dir)
    y, sample_weight = problem["y"], problem["sample_weight"]
    class_weight = problem["class_weight"]
    inputs = (X, y, sample_weight, class_weight)
    before = [snapshot(obj) for obj in inputs]
    clf = SGDLogitClassifier(class_weight=class_weight, **params)
    leaked = set()

    fitted, error = attempt(lambda: clf.fit(X, y, sample_weight=sample_weight), leaked)

    for obj, snap in zip(inputs, before, strict=True):
        assert_unchanged(obj, snap)
    # features of scale 1e-3 to 1e3 are trainable (the error is for extreme scales)
    assert error != "too large or too small"
    # SPEC: no overflow (or other numerical) warnings on ordinary data
    assert not leaked, sorted(leaked)
    # errors that must happen (the first one validation meets: the parameters are checked
    # before the data, as SGDClassifier checks them)
    if params["learning_rate"] == "optimal" and params["alpha"] == 0:
        assert error == "alpha must be > 0 since learning_rate is 'optimal'"
    elif problem["n_classes_present"] < 2:
        assert error == "number of classes has to be greater than one"
    if error is None:
        check_fitted_model(fitted, X, problem["y_values"], dtype)
        assert 1 <= fitted.n_iter_ <= params["max_iter"]
    elif error != "diverged":
        with pytest.raises(NotFittedError):
            clf.predict(X)


@property_settings(max_examples=200)
@given(data=st.data())
def test_partial_fit_stream_never_crashes(data, memmap_dir):
    problem = data.draw(problems(max_samples=300, max_features=20))
    n = problem["X"].shape[0]
    params = data.draw(estimator_params(n))
    params.update(early_stopping=False)
    n_chunks = data.draw(st.integers(1, 4))
    X, dtype = as_container(problem["X"], problem["container"], problem["rng"], memmap_dir)
    y_values = problem["y_values"]
    classes = np.unique(y_values)
    classes_before = classes.copy()
    X_all = np.asarray(X) if isinstance(X, list) else X
    if sp.issparse(X_all) and X_all.format == "coo":
        X_all = X_all.tocsr()  # COO cannot be sliced into chunks
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    clf = SGDLogitClassifier(class_weight=problem["class_weight"], **params)
    weights = problem["sample_weight"]
    fitted_chunks = 0
    leaked = set()
    for start, stop in itertools.pairwise(bounds):
        if stop == start:
            continue
        rows = np.arange(start, stop)
        X_chunk = X_all.iloc[rows] if isinstance(X_all, pd.DataFrame) else X_all[rows]
        w_chunk = None if weights is None else np.asarray(weights)[rows]
        _, error = attempt(
            lambda X_chunk=X_chunk, rows=rows, w_chunk=w_chunk: clf.partial_fit(
                X_chunk, y_values[rows], classes=classes, sample_weight=w_chunk
            ),
            leaked,
        )
        assert error != "too large or too small"  # features of scale 1e-3 to 1e3
        assert not leaked, sorted(leaked)
        if error is not None:
            break
        fitted_chunks += 1
    np.testing.assert_array_equal(classes, classes_before)
    event(f"partial_fit chunks fitted: {fitted_chunks}")
    if hasattr(clf, "coef_"):
        assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
        assert clf.coef_.dtype == dtype
        if len(classes) >= 2:
            check_predictions(clf, X_all)


@property_settings(max_examples=150)
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1.0, 1e10, 1e60, 1e150]),
    eta0=st.sampled_from([1e10, 1e100, 1e250, 1e300]),
    n_classes=st.sampled_from([2, 3]),
    sparse=st.booleans(),
    solver=st.sampled_from(["sgd", "momentum", "adam", "average", "l1"]),
    method=st.sampled_from(["fit", "partial_fit"]),
)
def test_divergence_guard_under_huge_steps(seed, scale, eta0, n_classes, sparse, solver, method):
    """A huge constant step either stays finite or raises the divergence error naming the
    epoch; the estimator never holds NaN coefficients afterwards."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 4)) * scale
    y = rng.integers(0, n_classes, 60)
    y[:n_classes] = np.arange(n_classes)
    params = dict(learning_rate="constant", eta0=eta0, penalty=None, max_iter=3, tol=None)
    params.update(
        {
            "sgd": {},
            "momentum": {"momentum": 0.9},
            "adam": {"solver": "adam"},
            "average": {"average": True},
            "l1": {"penalty": "l1"},
        }[solver]
    )
    clf = SGDLogitClassifier(random_state=0, **params)
    X = sp.csr_matrix(X) if sparse else X
    if method == "fit":
        _, error = attempt(lambda: clf.fit(X, y))
    else:
        _, error = attempt(lambda: clf.partial_fit(X, y, classes=np.arange(n_classes)))
    assert error in (None, "diverged", "too large or too small"), error
    if hasattr(clf, "coef_"):
        assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
        check_predictions(clf, X)


def test_divergence_error_names_the_epoch_and_the_remedy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)) * 1e60
    y = (X[:, 0] > 0).astype(int)
    clf = SGDLogitClassifier(learning_rate="constant", eta0=1e250, penalty=None, random_state=0)
    with pytest.raises(ValueError, match=DIVERGED) as info:
        clf.fit(X, y)
    assert DIVERGED.search(str(info.value)).group(1) == "1"
    assert "StandardScaler" in str(info.value)
    assert not hasattr(clf, "coef_") or np.all(np.isfinite(clf.coef_))


# ----------------------------------------------------------------------------- hostile values

HOSTILE_N, HOSTILE_D = 60, 5


def _base(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(HOSTILE_N, HOSTILE_D))
    informative = X[:, 0] + 0.5 * rng.normal(size=HOSTILE_N)
    return X, informative


def _hostile(name):
    """``(X, y_score)`` for a hostile case; labels are cut from ``y_score``."""
    X, score = _base()
    big = np.finfo(np.float64).max
    cases = {
        "1e300": lambda: (X * 1e300, score),
        "1e-300": lambda: (X * 1e-300, score),
        "1e150": lambda: (X * 1e150, score),
        "1e-150": lambda: (X * 1e-150, score),
        "mixed-1e300-1e-300": lambda: (X * np.array([1e300, 1e-300, 1.0, 1e150, 1e-150]), score),
        "float64-max": lambda: (np.sign(X) * big, score),
        "subnormal": lambda: (np.sign(X) * 5e-324, score),
        "one-outlier-1e300": lambda: (
            np.where(np.arange(X.size).reshape(X.shape) == 7, 1e300, X),
            score,
        ),
        "float32-1e37": lambda: ((X * 1e37).astype(np.float32), score),
        "float32-subnormal": lambda: ((X * 1e-44).astype(np.float32), score),
        "constant-columns": lambda: (
            np.column_stack(
                [X, np.full(HOSTILE_N, 7.0), np.zeros(HOSTILE_N), np.full(HOSTILE_N, 1e10)]
            ),
            score,
        ),
        "duplicate-columns": lambda: (np.column_stack([X, X, X[:, :1] * 1.0]), score),
        "duplicate-rows": lambda: (np.vstack([X] * 4), np.tile(score, 4)),
        "conflicting-rows": lambda: (np.vstack([X, X]), np.concatenate([score, -score])),
        "separable": lambda: (X, X[:, 0]),
        "all-zero": lambda: (np.zeros_like(X), score),
        "binary-ints": lambda: ((X > 0).astype(np.int64), score),
        "one-sample-per-class": lambda: (X[:5], np.arange(5.0)),
    }
    return cases[name]()


HOSTILE_CASES = [
    "1e300", "1e-300", "1e150", "1e-150", "mixed-1e300-1e-300", "float64-max", "subnormal",
    "one-outlier-1e300", "float32-1e37", "float32-subnormal", "constant-columns",
    "duplicate-columns", "duplicate-rows", "conflicting-rows", "separable", "all-zero",
    "binary-ints", "one-sample-per-class",
]  # fmt: skip
# Cases a fit must train on: nothing extreme about their scale.
BENIGN = {
    "constant-columns", "duplicate-columns", "duplicate-rows", "conflicting-rows", "separable",
    "all-zero", "binary-ints", "one-sample-per-class",
}  # fmt: skip
HOSTILE_PARAMS = [
    {},
    {"solver": "adam"},
    {"penalty": "l1", "average": True},
    {"momentum": 0.9, "learning_rate": "invscaling"},
    {"learning_rate": "optimal", "batch_size": 1},
]


def _labels_from(score, n_classes):
    if n_classes == 2:
        return (score > np.median(score)).astype(int)
    return np.searchsorted(np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]), score)


def fit_hostile(name, sparse, n_classes, params):
    X, score = _hostile(name)
    y = _labels_from(score, n_classes) if name != "one-sample-per-class" else np.arange(5)
    if name == "one-sample-per-class" and n_classes == 2:
        y = np.arange(5) % 2
    X = sp.csr_matrix(X) if sparse else X
    before = snapshot(X)
    clf = SGDLogitClassifier(random_state=0, max_iter=200, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            clf.fit(X, y)
            error = None
        except ValueError as exc:
            error = exc
    assert_unchanged(X, before)
    return clf, X, error, _runtime_warnings(caught) - _validation_warnings(X)


def _runtime_warnings(caught):
    return {str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)}


def _validation_warnings(X):
    """RuntimeWarnings scikit-learn's own input validation emits on ``X`` (not ours)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
    return _runtime_warnings(caught)


@pytest.mark.parametrize(
    "name, sparse",
    [
        pytest.param(name, sparse, id=f"{name}-{'csr' if sparse else 'dense'}")
        for name in HOSTILE_CASES
        for sparse in (False, True)
    ],
)  # fmt: skip
def test_hostile_values_give_a_finite_model_or_a_clear_error(name, sparse):
    for n_classes, params in itertools.product([2, 5], HOSTILE_PARAMS):
        clf, X, error, _ = fit_hostile(name, sparse, n_classes, params)
        context = f"{name} {n_classes} classes {params}: {error!r}"
        if error is None:
            assert np.all(np.isfinite(clf.coef_)), context
            assert np.all(np.isfinite(clf.intercept_)), context
            check_predictions(clf, X)
            continue
        assert name not in BENIGN, context
        message = str(error)
        assert DIVERGED.search(message) or "too large or too small" in message, context
        assert not hasattr(clf, "coef_") or np.all(np.isfinite(clf.coef_)), context


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "name",
    [name for name in HOSTILE_CASES],
)
def test_hostile_values_emit_no_runtime_warnings(name, sparse):
    """SPEC: numerically stable for any finite input, no overflow warnings."""
    leaked = set()
    for n_classes, params in itertools.product([2, 5], HOSTILE_PARAMS[:2]):
        *_, runtime_warnings = fit_hostile(name, sparse, n_classes, params)
        leaked |= runtime_warnings
    assert not leaked, sorted(leaked)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_hundred_thousand_features_fifty_samples(sparse, n_classes):
    rng = np.random.default_rng(0)
    n, d = 50, 100_000
    if sparse:
        X = sp.random(n, d, density=0.01, format="csr", random_state=0, dtype=np.float64)
    else:
        X = rng.normal(size=(n, d))
    y = np.arange(n) % n_classes
    for params in ({}, {"penalty": "l1"}, {"solver": "adam", "average": True}):
        clf = SGDLogitClassifier(random_state=0, max_iter=30, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        assert clf.coef_.shape == (1 if n_classes == 2 else n_classes, d)
        assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
        check_predictions(clf, X)
        # with d >> n the training data is separable: it must be fitted
        assert clf.score(X, y) > 0.9


DEGENERATE = {
    # no feature and no intercept: zero curvature
    "all-zero-no-intercept": (np.zeros((20, 3)), {"fit_intercept": False}),
    # every row orthogonal to the power iteration's start vector (ones)
    "negative-constant-feature": (np.full((20, 1), -3.0), {}),
    # a first partial_fit chunk of one row, [-0.5] (scaled to [-1] and the intercept 1)
    "single-training-row": (np.array([[-0.5]]), {}),
}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_step_estimate_handles_degenerate_data(case, sparse):
    X, params = DEGENERATE[case]
    y = np.arange(X.shape[0]) % 2
    X = sp.csr_matrix(X) if sparse else X
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf = SGDLogitClassifier(random_state=0, max_iter=5, tol=None, **params)
        if X.shape[0] == 1:
            clf.partial_fit(X, y, classes=[0, 1])
        else:
            clf.fit(X, y)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
    check_predictions(clf, X)


@pytest.mark.parametrize(
    "scale, alpha, params, tolerance",
    [
        pytest.param(1.0, 1.0, {}, 0.5, id="alpha=1"),
        pytest.param(
            1e-6, 1e-4, {"momentum": 0.9}, 0.5,
            id="features-1e-6-momentum",
        ),
        pytest.param(1.0, 1000.0, {}, 0.5, id="alpha=1000"),
        # a constant step keeps the noise of the last batch: averaging removes it
        pytest.param(
            1.0, 1000.0, {"learning_rate": "constant", "average": True}, 1.0,
            id="alpha=1000-constant-averaged",
        ),
        pytest.param(
            1.0, 1000.0, {"learning_rate": "constant", "momentum": 0.9}, 1.0,
            id="alpha=1000-constant-momentum",
        ),
        pytest.param(1e-3, 1e-4, {}, 0.5, id="features-1e-3"),
        pytest.param(1e-6, 1e-4, {}, 0.5, id="features-1e-6"),
    ],
)  # fmt: skip
def test_automatic_step_reaches_the_regularized_optimum(scale, alpha, params, tolerance):
    """Unscaled features or a strong penalty: the automatic step still converges to the
    optimum of the objective (that of LogisticRegression with C = 1 / (alpha n))."""
    rng = np.random.default_rng(0)
    n = 500
    X = rng.normal(size=(n, 5))
    y = (X @ rng.normal(size=5) + rng.normal(size=n) > 0).astype(int)
    X = X * scale
    reference = LogisticRegression(C=1 / (alpha * n), tol=1e-12, max_iter=100_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        clf = SGDLogitClassifier(alpha=alpha, random_state=0, **params).fit(X, y)
    error = np.linalg.norm(clf.coef_ - reference.coef_) / np.linalg.norm(reference.coef_)
    assert error < tolerance


@pytest.mark.parametrize(
    "average",
    [
        pytest.param(True, id="average"),
        pytest.param(False, id="last-iterate"),
    ],
)
def test_overflow_inside_an_epoch_is_detected(average):
    """float32 features of ~1e-44 get a step of ~1e88: the float32 coefficients overflow
    within the epoch. The fit must raise (divergence, or features too small), not return a
    model whose training state holds NaN."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] > 0).astype(int)
    X = sp.csr_matrix((X * 1e-44).astype(np.float32))
    clf = SGDLogitClassifier(
        penalty="l1", average=average, batch_size=8, max_iter=5, tol=None, random_state=0
    )
    try:
        clf.fit(X, y)
    except ValueError as exc:
        assert DIVERGED.search(str(exc)) or "too large or too small" in str(exc)
        return
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.loss_curve_))
    for name in ("W", "q", "opt", "avg"):  # what partial_fit would continue from
        assert np.all(np.isfinite(getattr(clf._state, name))), name


def test_extreme_sample_weight_ratios_stay_finite():
    """Weights of 1e-300 and 1e300 side by side (normalized to mean one without overflow);
    the per-sample derivative clipping itself is checked in test_fuzz_kernels.py."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    weights = np.where(rng.random(80) < 0.5, 1e-300, 1e300)
    for params in ({}, {"solver": "adam"}, {"learning_rate": "constant", "eta0": 1e6}):
        clf = SGDLogitClassifier(random_state=0, max_iter=20, tol=None, **params)
        clf.fit(X, y, sample_weight=weights)
        assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
        check_predictions(clf, X)


# ----------------------------------------------------------------------------- untouched inputs


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("label_kind", ["int", "str", "bool"])
def test_inputs_are_never_modified(method, label_kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    X[:, 3] *= 1e3  # unscaled column
    y = {
        "int": rng.integers(0, 2, 50) * 5,
        "str": np.array(["no", "yes"])[rng.integers(0, 2, 50)],
        "bool": rng.random(50) < 0.5,
    }[label_kind]
    classes = np.unique(y)
    class_weight = {classes[0].item(): 2.0, classes[1].item(): 0.5}
    sample_weight = rng.uniform(0, 3, 50)
    coef_init, intercept_init = rng.normal(size=(1, 4)), np.array([0.3])
    inputs = [X, y, sample_weight, class_weight, classes, coef_init, intercept_init]
    for container in (np.asarray, sp.csr_matrix, pd.DataFrame):
        X_in = container(X)
        before = [snapshot(obj) for obj in [X_in, *inputs]]
        clf = SGDLogitClassifier(
            class_weight=class_weight, random_state=0, max_iter=3, tol=None, average=True
        )
        if method == "fit":
            clf.fit(X_in, y, sample_weight, coef_init=coef_init, intercept_init=intercept_init)
            clf.set_params(warm_start=True).fit(X_in, y, sample_weight)
        else:
            clf.partial_fit(X_in, y, classes=classes, sample_weight=sample_weight)
            clf.partial_fit(X_in, y, sample_weight=sample_weight)
        clf.predict_proba(X_in)
        for obj, snap in zip([X_in, *inputs], before, strict=True):
            assert_unchanged(obj, snap)
        # the fitted model does not share memory with the caller's arrays
        assert not np.shares_memory(clf.coef_, coef_init)


# ----------------------------------------------------------------------------- determinism

DETERMINISM_CONFIGS = {
    "default": {},
    "l1-average": {"penalty": "l1", "average": 5},
    "elasticnet-momentum": {"penalty": "elasticnet", "momentum": 0.9, "batch_size": 7},
    "adam-multiclass": {"solver": "adam", "batch_size": 16},
    "invscaling-no-shuffle": {"learning_rate": "invscaling", "eta0": 0.1, "shuffle": False},
    "optimal-bs1": {"learning_rate": "optimal", "batch_size": 1},
    "early-stopping": {
        "early_stopping": True,
        "tol": 1e-2,
        "n_iter_no_change": 2,
        "max_iter": 300,
    },
    "adaptive-balanced": {"learning_rate": "adaptive", "class_weight": "balanced"},
}


def determinism_data(sparse, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 12))
    X[rng.random(X.shape) < 0.5] = 0.0
    score = X @ rng.normal(size=12)
    y = np.searchsorted(np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]), score)
    return (sp.csr_matrix(X) if sparse else X), y


def fit_result(config, sparse, n_classes):
    """Fitted arrays of one configuration, as plain numpy arrays (comparable with ==)."""
    X, y = determinism_data(sparse, n_classes)
    params = {"random_state": 42, "max_iter": 15, "tol": None, **DETERMINISM_CONFIGS[config]}
    # no warnings.catch_warnings here: it is not thread-safe, and no configuration warns
    clf = SGDLogitClassifier(**params).fit(X, y)
    return (clf.coef_, clf.intercept_, np.asarray(clf.loss_curve_), clf.predict_proba(X))


def assert_bit_identical(first, second):
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
        assert a.tobytes() == b.tobytes()  # bit-identical, signed zeros included


DETERMINISM_CASES = [
    (config, sparse, n_classes)
    for config in DETERMINISM_CONFIGS
    for sparse in (False, True)
    for n_classes in (2, 4)
]


@property_settings(max_examples=60)
@given(
    case=st.sampled_from(DETERMINISM_CASES),
    method=st.sampled_from(["fit", "partial_fit", "warm_start"]),
)
def test_same_seed_is_bit_identical_across_runs(case, method):
    config, sparse, n_classes = case
    event(f"method: {method}")
    if method == "fit":
        assert_bit_identical(fit_result(*case), fit_result(*case))
        return
    X, y = determinism_data(sparse, n_classes)
    params = {"random_state": 3, "max_iter": 4, "tol": None, **DETERMINISM_CONFIGS[config]}
    params.pop("early_stopping", None)

    def run():
        clf = SGDLogitClassifier(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if method == "partial_fit":
                for chunk in np.array_split(np.arange(300), 3):
                    clf.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
            else:
                clf.fit(X, y).set_params(warm_start=True).fit(X, y)
        return clf.coef_, clf.intercept_

    assert_bit_identical(run(), run())


PROCESS_SCRIPT = """
import pickle, sys
sys.path.insert(0, {tests_dir!r})
from test_robustness import DETERMINISM_CASES, fit_result
sys.stdout.buffer.write(pickle.dumps([fit_result(*case) for case in DETERMINISM_CASES]))
"""


def test_same_seed_is_bit_identical_across_processes():
    script = PROCESS_SCRIPT.format(tests_dir=os.path.dirname(os.path.abspath(__file__)))
    outputs = [
        pickle.loads(
            subprocess.run(
                [sys.executable, "-c", script], capture_output=True, check=True, timeout=300
            ).stdout
        )
        for _ in range(2)
    ]
    in_process = [fit_result(*case) for case in DETERMINISM_CASES]
    for first, second, here in zip(*outputs, in_process, strict=True):
        assert_bit_identical(first, second)
        assert_bit_identical(first, here)


def test_eight_concurrent_threads_match_sequential_fits():
    cases = DETERMINISM_CASES[::2]
    sequential = [fit_result(*case) for case in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda case: fit_result(*case), cases * 2))
    for expected, got in zip(sequential * 2, threaded, strict=True):
        assert_bit_identical(expected, got)


def test_fixed_n_jobs_is_deterministic_in_threads_and_runs():
    """Batches large enough to be split over threads (n_jobs=2); concurrent fits contend for
    the parallel section and fall back to one thread: results stay bit-identical."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 40))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    params = dict(batch_size=1024, max_iter=4, tol=None, random_state=0)

    def fit(n_jobs):
        clf = SGDLogitClassifier(n_jobs=n_jobs, **params).fit(X, y)
        return clf.coef_, clf.intercept_

    for n_jobs in (1, 2, -1):
        reference = fit(n_jobs)
        assert_bit_identical(reference, fit(n_jobs))
        with ThreadPoolExecutor(max_workers=8) as pool:
            for result in pool.map(lambda _, n_jobs=n_jobs: fit(n_jobs), range(8)):
                assert_bit_identical(reference, result)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread")
def test_n_jobs_splits_large_dense_batches_over_threads():
    """Guards the determinism tests above: with n_jobs=2 the parallel kernel really runs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 40))
    y = rng.integers(0, 3, 3000)
    clf = SGDLogitClassifier(n_jobs=2, batch_size=1024, max_iter=2, tol=None, random_state=0)
    with kernel_calls() as calls:
        clf.fit(X, y)
    assert "dense_epoch_parallel" in calls


def test_clone_and_refit_is_bit_identical_to_a_fresh_fit():
    X, y = determinism_data(False, 3)
    clf = SGDLogitClassifier(random_state=5, max_iter=5, tol=None).fit(X, y)
    first = (clf.coef_.copy(), clf.intercept_.copy())
    clf.fit(X, y)  # refit on the same estimator: state is reset, not continued
    assert_bit_identical(first, (clf.coef_, clf.intercept_))
    cloned = clone(clf).fit(X, y)
    assert_bit_identical(first, (cloned.coef_, cloned.intercept_))
